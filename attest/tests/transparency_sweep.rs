//! The batch sweep against the in-process RFC 6962 test log (not Rekor):
//! the CSV has exactly the columns, one row per batch size, and
//! the decision rule finds the first failing size of a log that refuses
//! more than 5 concurrent submissions.

use std::time::Duration;

use base64::Engine as _;
use stella_attest::transparency::sweep::{
    recommend, run_sweep, to_csv, write_csv, EnvelopeKind, SweepConfig, CSV_HEADER,
};
use stella_attest::transparency::{LogKey, TrustedLog};
use stella_testkit::rfc6962_log::{TestLog, TestLogOptions, CHECKPOINT_NAME};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr\nkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n-----END PUBLIC KEY-----\n";

fn envelopes(k: usize) -> Vec<Vec<u8>> {
    (0..k)
        .map(|i| {
            serde_json::to_vec(&serde_json::json!({
                "payloadType": "application/vnd.in-toto+json",
                "payload": B64.encode(format!("{{\"report\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 10))),
                "signatures": [{"keyid": "", "sig": B64.encode([i as u8; 70])}]
            }))
            .unwrap()
        })
        .collect()
}

fn config(log: &TestLog, sizes: &[usize], max_retries: u32) -> SweepConfig {
    SweepConfig {
        rekor_url: log.url(),
        batch_sizes: sizes.to_vec(),
        max_retries,
        timeout_ms: 5000,
        verifier_public_key_pem: PEM.to_string(),
        kind: EnvelopeKind::Dsse,
        verify_with: Some(TrustedLog::new(
            LogKey::from_spki_pem(&log.public_key_pem()).unwrap(),
            CHECKPOINT_NAME,
        )),
    }
}

// One test: SOURCE_DATE_EPOCH is process-wide.
#[test]
fn sweep_writes_the_csv_and_finds_the_hard_max() {
    // SAFETY: the only test in this binary; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("SOURCE_DATE_EPOCH", "1700000000") };
    let envs = envelopes(12);
    let total: usize = envs.iter().map(Vec::len).sum();

    let log = TestLog::start(TestLogOptions::default()).unwrap();
    let rows = run_sweep(&config(&log, &[1, 5, 10], 3), &envs).unwrap();
    assert_eq!(
        log.size(),
        12,
        "each envelope is logged once; repeats answer 409"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.csv");
    write_csv(&rows, &out).unwrap();
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv, to_csv(&rows));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp_utc,batch_size,envelopes_count,total_bytes,avg_bytes,latency_ms,successes,failures,retries"
    );
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len(), 4);
    for (line, size) in lines[1..].iter().zip([1, 5, 10]) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 9, "{line}");
        // `date -u -d @1700000000`
        assert_eq!(f[0], "2023-11-14T22:13:20Z");
        assert_eq!(f[1], size.to_string());
        assert_eq!(f[2], "12");
        assert_eq!(f[3], total.to_string());
        assert_eq!(f[4], (total / 12).to_string());
        assert!(f[5].parse::<f64>().unwrap() > 0.0, "{line}");
        assert_eq!(&f[6..], ["12", "0", "0"], "{line}");
    }

    // A log that answers 503 above 5 concurrent submissions, no retries:
    // size 10 fails, so 10 is the hard maximum and 5 the default.
    let log = TestLog::start(TestLogOptions {
        max_in_flight: Some(5),
        sequencing_delay: Duration::from_millis(400),
        ..Default::default()
    })
    .unwrap();
    let rows = run_sweep(&config(&log, &[1, 5, 10], 0), &envelopes(10)).unwrap();
    assert_eq!(rows[0].failures + rows[1].failures, 0, "{rows:?}");
    assert!(rows[2].failures > 0, "{rows:?}");
    assert!(
        rows[2].first_error.as_deref().unwrap_or("").contains("503"),
        "{rows:?}"
    );
    let r = recommend(&rows, 10_000.0);
    assert_eq!((r.default_batch_size, r.hard_max), (Some(5), Some(10)));

    assert!(run_sweep(&config(&log, &[0], 0), &envelopes(1)).is_err());
    assert!(run_sweep(&config(&log, &[1], 0), &[]).is_err());
}
