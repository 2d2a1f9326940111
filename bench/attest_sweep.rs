//! DSSE → Rekor batch-size sweep runner (bench, not a test).
//!
//! For each batch size, signs K fresh synthetic in-toto Statements into DSSE envelopes (ECDSA P-256,
//! `stella_attest::sign`), submits them with
//! `stella_attest::transparency::sweep::run_sweep` for each batch size and
//! writes the CSV. Without `--rekor-url` it starts the in-process RFC 6962
//! test log of stella-testkit (not Rekor), optionally with a sequencing
//! delay and a concurrency cap, and verifies every returned entry offline.
//!
//! ```text
//! cargo run --release -p stella-attest --example attest_sweep -- \
//!   --k 100 --batch-sizes 1,5,10,25,50 --out results.csv \
//!   [--max-retries 3] [--timeout-ms 10000] [--delay-ms 0] [--max-in-flight N] \
//!   [--findings 40] [--rekor-url URL] [--acceptable-latency-ms 2000]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use stella_attest::keys::SigningKey;
use stella_attest::sign::sign_statement;
use stella_attest::statement::{Statement, PREDICATE_VERDICT};
use stella_attest::transparency::sweep::{
    recommend, run_sweep_with, write_csv, EnvelopeKind, SweepConfig,
};
use stella_attest::transparency::{LogKey, TrustedLog};
use stella_testkit::rfc6962_log::{TestLog, TestLogOptions, CHECKPOINT_NAME};

struct Args {
    k: usize,
    sizes: Vec<usize>,
    out: PathBuf,
    max_retries: u32,
    timeout_ms: u64,
    delay_ms: u64,
    max_in_flight: Option<usize>,
    findings: usize,
    rekor_url: Option<String>,
    acceptable_latency_ms: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        k: 100,
        sizes: vec![1, 5, 10, 25, 50],
        out: PathBuf::from("results.csv"),
        max_retries: 3,
        timeout_ms: 10_000,
        delay_ms: 0,
        max_in_flight: None,
        findings: 40,
        rekor_url: None,
        acceptable_latency_ms: 2000.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err("see the doc comment of bench/attest_sweep.rs".into());
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--k" => a.k = num(&v)? as usize,
            "--batch-sizes" => {
                a.sizes = v
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse()
                            .map_err(|_| format!("bad batch size {s:?}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--out" => a.out = PathBuf::from(v),
            "--max-retries" => a.max_retries = num(&v)? as u32,
            "--timeout-ms" => a.timeout_ms = num(&v)?,
            "--delay-ms" => a.delay_ms = num(&v)?,
            "--max-in-flight" => a.max_in_flight = Some(num(&v)? as usize),
            "--findings" => a.findings = num(&v)? as usize,
            "--rekor-url" => a.rekor_url = Some(v),
            "--acceptable-latency-ms" => a.acceptable_latency_ms = num(&v)? as f64,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// K signed envelopes over verdict-like Statements of `findings` entries,
/// signed by stella-attest with a fixed P-256 key.
fn envelopes(k: usize, findings: usize, round: usize) -> (Vec<Vec<u8>>, String) {
    let key =
        SigningKey::P256(p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).expect("fixed key"));
    let pem = key.verifying_key().to_pem();
    let envs = (0..k)
        .map(|i| {
            let finding_list: Vec<_> = (0..findings)
                .map(|f| serde_json::json!({"id": format!("CVE-2024-{:05}", i * 1000 + f), "severity": "high", "package": format!("pkg:deb/debian/lib{f}@1.{i}")}))
                .collect();
            let statement = Statement::new(
                format!("registry.local/app{i}-round{round}"),
                format!("{i:064x}"),
                PREDICATE_VERDICT,
                serde_json::json!({"verdict": "fail", "findings": finding_list}),
            );
            sign_statement(&statement, &key).expect("sign").to_json()
        })
        .collect();
    (envs, pem)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("attest_sweep: {e}");
            std::process::exit(2);
        }
    };
    let (_, pem) = envelopes(0, 0, 0);
    let (log, url) = match &args.rekor_url {
        Some(u) => (None, u.clone()),
        None => {
            let log = TestLog::start(TestLogOptions {
                sequencing_delay: Duration::from_millis(args.delay_ms),
                max_in_flight: args.max_in_flight,
                ..Default::default()
            })
            .expect("start the RFC 6962 test log");
            let url = log.url();
            (Some(log), url)
        }
    };
    let verify_with = log.as_ref().map(|l| {
        TrustedLog::new(
            LogKey::from_spki_pem(&l.public_key_pem()).expect("test log key"),
            CHECKPOINT_NAME,
        )
    });
    let cfg = SweepConfig {
        rekor_url: url,
        batch_sizes: args.sizes.clone(),
        max_retries: args.max_retries,
        timeout_ms: args.timeout_ms,
        verifier_public_key_pem: pem,
        kind: EnvelopeKind::Dsse,
        verify_with,
    };
    // Fresh statements per batch size (the subject names the size), so
    // every size measures new log entries rather than 409 duplicates.
    let rows = match run_sweep_with(&cfg, &mut |size| envelopes(args.k, args.findings, size).0) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("attest_sweep: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = write_csv(&rows, &args.out) {
        eprintln!("attest_sweep: {e}");
        std::process::exit(1);
    }
    for r in &rows {
        println!("{}", r.csv_line());
        if let Some(e) = &r.first_error {
            println!("  first error at batch size {}: {e}", r.batch_size);
        }
    }
    let rec = recommend(&rows, args.acceptable_latency_ms);
    println!(
        "default batch size: {:?}, hard max: {:?} (acceptable latency {} ms)",
        rec.default_batch_size, rec.hard_max, args.acceptable_latency_ms
    );
}
