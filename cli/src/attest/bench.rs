//! `stella attest bench`: the DSSE → transparency-log batch-size sweep.
//! Signs each report of a directory into a DSSE envelope, submits them to a
//! Rekor v1 log in batches of each size, writes the CSV the sizing decision
//! is made from (docs/attestation/dsse-rekor-batch-sizing.md) and prints
//! the recommendation.
//!
//! clap cannot have `stella attest IMAGE` and `stella attest bench` side by
//! side (IMAGE would swallow `bench`), so `main` turns `attest bench` into
//! the hidden command `attest-bench` before parsing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use stella_attest::sign::sign_statement;
use stella_attest::statement::{predicate_type_for, Statement};
use stella_attest::transparency::sweep::{
    recommend, run_sweep_with, write_csv, EnvelopeKind, SweepConfig,
};
use stella_attest::transparency::{LogKey, TrustedLog};
use stella_model::Digest;

/// The most reports a sweep reads (each is held in memory, signed once per
/// batch size).
const MAX_REPORTS: usize = 10_000;

#[derive(Args)]
pub struct BenchArgs {
    /// Directory of JSON reports (SBOMs, verdicts…): each `*.json` file is
    /// one statement's predicate.
    #[arg(long = "reports-dir", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// The transparency log (Rekor v1 API), e.g. https://rekor.sigstore.dev.
    #[arg(long = "rekor-url", value_name = "URL")]
    pub rekor_url: String,
    /// Signing key: PKCS#8 or SEC1 PEM, or a cosign.key (COSIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Batch sizes to try, in order.
    #[arg(
        long = "batch-sizes",
        value_delimiter = ',',
        default_value = "1,5,10,25,50"
    )]
    pub batch_sizes: Vec<usize>,
    /// The CSV to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Retries per submission (429, 5xx, transport errors).
    #[arg(long = "max-retries", default_value_t = 3)]
    pub max_retries: u32,
    /// Timeout per request.
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Predicate type of the statements (short name or URI).
    #[arg(long = "type", default_value = "verdict")]
    pub predicate_type: String,
    /// Entry kind to submit.
    #[arg(long, value_enum, default_value_t = Kind::Dsse)]
    pub kind: Kind,
    /// The log's public key (PEM): every returned entry is then verified
    /// offline (inclusion proof, checkpoint, SET); a failure counts as a
    /// failed submission.
    #[arg(long = "log-key", value_name = "FILE", requires = "log_origin")]
    pub log_key: Option<PathBuf>,
    /// The name the log signs its checkpoints with (e.g. rekor.sigstore.dev).
    #[arg(long = "log-origin", value_name = "NAME")]
    pub log_origin: Option<String>,
    /// The latency a batch may take and still be the default size.
    #[arg(long = "acceptable-latency-ms", default_value_t = 2000.0)]
    pub acceptable_latency_ms: f64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Dsse,
    Intoto,
}

pub fn run(args: BenchArgs) -> anyhow::Result<u8> {
    let reports = read_reports(&args.reports_dir)?;
    let key = super::load_signing_key(&args.key)?;
    let predicate_type = predicate_type_for(&args.predicate_type)
        .with_context(|| format!("--type {}", args.predicate_type))?
        .to_string();
    let verify_with = match (&args.log_key, &args.log_origin) {
        (Some(path), Some(origin)) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading --log-key {}", path.display()))?;
            let log_key = LogKey::from_spki_pem(&pem)
                .with_context(|| format!("--log-key {}", path.display()))?;
            Some(TrustedLog::new(log_key, origin))
        }
        _ => None,
    };
    let config = SweepConfig {
        rekor_url: args.rekor_url.clone(),
        batch_sizes: args.batch_sizes.clone(),
        max_retries: args.max_retries,
        timeout_ms: args.timeout_ms,
        verifier_public_key_pem: key.verifying_key().to_pem(),
        kind: match args.kind {
            Kind::Dsse => EnvelopeKind::Dsse,
            Kind::Intoto => EnvelopeKind::Intoto,
        },
        verify_with,
    };
    // Fresh statements per batch size: a log answers an entry it already
    // holds with 409, so reusing envelopes would measure lookups, not
    // submissions. The size is written into each subject's name.
    let mut failure = None;
    let rows = run_sweep_with(&config, &mut |size| {
        let mut envelopes = Vec::with_capacity(reports.len());
        for (name, bytes, predicate) in &reports {
            let digest = Digest::sha256_of(bytes).hex().to_string();
            let statement = Statement::new(
                format!("{name}#batch-size-{size}"),
                digest,
                predicate_type.clone(),
                predicate.clone(),
            );
            match sign_statement(&statement, &key) {
                Ok(envelope) => envelopes.push(envelope.to_json()),
                Err(e) => {
                    failure.get_or_insert_with(|| format!("signing {name}: {e}"));
                }
            }
        }
        envelopes
    })
    .context("running the sweep")?;
    if let Some(why) = failure {
        bail!("{why}");
    }
    write_csv(&rows, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let advice = recommend(&rows, args.acceptable_latency_ms);
    let size = |s: Option<usize>| s.map_or_else(|| "none".to_string(), |n| n.to_string());
    println!(
        "{} reports, {} batch sizes -> {}; default batch size {}, hard max {}",
        reports.len(),
        rows.len(),
        args.out.display(),
        size(advice.default_batch_size),
        size(advice.hard_max)
    );
    Ok(0)
}

/// The `*.json` files of `dir`, sorted by name, each parsed.
fn read_reports(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>, serde_json::Value)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading --reports-dir {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("--reports-dir {}: no *.json reports", dir.display());
    }
    if paths.len() > MAX_REPORTS {
        bail!(
            "--reports-dir {}: {} reports, over the limit of {MAX_REPORTS}",
            dir.display(),
            paths.len()
        );
    }
    paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let predicate = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not JSON", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, bytes, predicate))
        })
        .collect()
}
