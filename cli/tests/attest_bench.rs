//! `stella attest bench` against the RFC 6962 test log of stella-testkit
//! (a test log, not Rekor: none is reachable here): every report signed
//! and submitted once per batch size, every entry verified offline with the
//! log's key, the CSV in the issue's columns, the recommendation printed.

use std::path::Path;
use std::process::Command;

use stella_testkit::rfc6962_log::{TestLog, TestLogOptions, CHECKPOINT_NAME};

const HEADER: &str =
    "timestamp_utc,batch_size,envelopes_count,total_bytes,avg_bytes,latency_ms,successes,failures,retries";

fn key() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../attest/tests/fixtures/signing/p256.pkcs8.pem")
}

#[test]
fn sweep_signs_submits_and_verifies_each_batch_size() {
    let log = TestLog::start(TestLogOptions::default()).expect("test log");
    let dir = tempfile::tempdir().expect("tempdir");
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    for i in 0..6 {
        std::fs::write(
            reports.join(format!("report-{i}.json")),
            format!(r#"{{"schema":"stella-verdict@1","n":{i}}}"#),
        )
        .expect("write report");
    }
    std::fs::write(reports.join("notes.txt"), "not a report").expect("write");
    let log_key = dir.path().join("log.pub");
    std::fs::write(&log_key, log.public_key_pem()).expect("write log key");
    let csv = dir.path().join("out/results.csv");
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");

    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(["attest", "bench", "--reports-dir"])
        .arg(&reports)
        .args(["--rekor-url", &log.url(), "--key"])
        .arg(key())
        .args(["--batch-sizes", "1,4", "--out"])
        .arg(&csv)
        .arg("--log-key")
        .arg(&log_key)
        .args(["--log-origin", CHECKPOINT_NAME])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run stella");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("6 reports, 2 batch sizes"), "{stdout}");
    assert!(stdout.contains("default batch size 4"), "{stdout}");

    // Fresh envelopes per size: 12 distinct entries, none deduplicated.
    assert_eq!(log.size(), 12);
    let text = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(lines.len(), 3, "{text}");
    for (line, size) in lines[1..].iter().zip(["1", "4"]) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 9, "{line}");
        assert_eq!(f[0], "2023-11-14T22:13:20Z", "SOURCE_DATE_EPOCH: {line}");
        assert_eq!((f[1], f[2]), (size, "6"), "{line}");
        let total: u64 = f[3].parse().expect("total_bytes");
        assert_eq!(f[4], (total / 6).to_string(), "{line}");
        assert_eq!(&f[6..], ["6", "0", "0"], "{line}");
    }
}

#[test]
fn a_log_that_refuses_everything_is_counted_not_hidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("r.json"), "{}").expect("write");
    let csv = dir.path().join("results.csv");
    // Nothing listens there: each submission fails after its retries.
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(["attest", "bench", "--reports-dir"])
        .arg(dir.path())
        .args(["--rekor-url", "http://127.0.0.1:9", "--key"])
        .arg(key())
        .args([
            "--batch-sizes",
            "1",
            "--max-retries",
            "0",
            "--timeout-ms",
            "2000",
            "--out",
        ])
        .arg(&csv)
        .output()
        .expect("run stella");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    let row: Vec<&str> = text.lines().nth(1).expect("row").split(',').collect();
    assert_eq!(&row[6..8], ["0", "1"], "{text}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("hard max 1"));

    // No reports: an error naming the directory.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(["attest", "bench", "--reports-dir"])
        .arg(empty.path())
        .args(["--rekor-url", "http://127.0.0.1:9", "--key"])
        .arg(key())
        .args(["--out"])
        .arg(&csv)
        .output()
        .expect("run stella");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no *.json reports"));
}
