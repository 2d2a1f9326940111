//! `stella feeds parity` on the real GHSA / PyPA / Go / RustSec fixtures
//! (feeds/tests/fixtures/parity): the counts are facts read off the
//! records by hand (listed below; the full report is checked against a
//! Python oracle in feeds/tests/parity_fixtures.rs), plus exit codes, both
//! output formats, quarantine and byte-identical reruns.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../feeds/tests/fixtures/parity")
}

fn stella(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("stella runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sides() -> (String, String) {
    (
        format!("osv:{}", fixtures().join("osv").display()),
        format!("osv:{}", fixtures().join("ghsa").display()),
    )
}

#[test]
fn json_report_counts_what_the_records_say() {
    let (left, right) = sides();
    let (code, stdout, stderr) = stella(&[
        "feeds", "parity", "--left", &left, "--right", &right, "-o", "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["schema"], "stella-feeds-parity@1");
    assert_eq!(v["left"]["records"], 13);
    assert_eq!(v["right"]["records"], 12);
    let c = &v["counts"];
    // Every GHSA fixture is aliased by exactly one OSV record; PYSEC-2023-121
    // (zstd) aliases only CVE-2022-4899.
    assert_eq!(c["pairs"], 12);
    assert_eq!(v["onlyLeft"], serde_json::json!(["PYSEC-2023-121"]));
    assert_eq!(c["onlyRight"], 0);
    // No GHSA record names the OSV record's own id: all 12 pairs differ
    // in aliases.
    assert_eq!(c["aliasMismatches"], 12);
    // PyPA `vantage6` vs GitHub `vantage6-server`.
    assert_eq!(c["packagesOnlyLeft"], 1);
    assert_eq!(c["packagesOnlyRight"], 1);
    // go-getter `introduced 2.0.0, fixed 2.1.0` (GitHub only) and olm-sys
    // `last_affected 1.3.2` (GitHub) vs open-ended (RustSec).
    assert_eq!(c["rangesOnlyRight"], 2);
    assert_eq!(c["rangesOnlyLeft"], 1);
    // go-getter fixed {1.6.1} vs {1.6.1, 2.1.0}.
    assert_eq!(c["fixedVersionMismatches"], 1);
    // Severity sets differ where one side has none and the other a vector
    // (GO-2021-0097, GO-2022-0586, PYSEC-2023-64, PYSEC-2024-50,
    // RUSTSEC-2024-0010) and for PYSEC-2023-214, whose CVSS 3.1 vector says
    // `I:L` where GitHub's says `I:N`. Equal: PYSEC-2024-31 and
    // RUSTSEC-2020-0061 (same vector), and four pairs with none.
    assert_eq!(c["severityMismatches"], 6);
}

#[test]
fn table_report_names_the_differences() {
    let (left, right) = sides();
    let (code, stdout, stderr) = stella(&["feeds", "parity", "--left", &left, "--right", &right]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("pairs: 12 (12 with differences)"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("Go/github.com/hashicorp/go-getter: fixed left [1.6.1] right [1.6.1, 2.1.0]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("package only right: PyPI/vantage6-server"),
        "{stdout}"
    );
    assert!(stdout.contains("only left: PYSEC-2023-121"), "{stdout}");
}

#[test]
fn reruns_are_byte_identical() {
    let (left, right) = sides();
    let args = [
        "feeds", "parity", "--left", &left, "--right", &right, "-o", "json",
    ];
    let (a, b) = (stella(&args), stella(&args));
    assert_eq!(a.0, 0);
    assert_eq!(a.1, b.1);
}

#[test]
fn bad_records_are_quarantined_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("ghsa/GHSA-p9m5-3hj7-cp5r.json"),
        dir.path().join("GHSA-p9m5-3hj7-cp5r.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"id\": ").unwrap();
    let (left, _) = sides();
    let right = format!("osv:{}", dir.path().display());
    let (code, stdout, stderr) = stella(&[
        "feeds", "parity", "--left", &left, "--right", &right, "-o", "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["right"]["records"], 1);
    assert_eq!(v["right"]["quarantined"][0]["path"], "broken.json");
    assert_eq!(v["counts"]["pairs"], 1);
    assert_eq!(v["counts"]["onlyLeft"], 12);
}

#[test]
fn bad_arguments_and_missing_sources() {
    let (left, _) = sides();
    for bad in ["ghsa-dir", "nope:/tmp", "osv:"] {
        let (code, _, stderr) = stella(&["feeds", "parity", "--left", &left, "--right", bad]);
        assert_eq!(code, 64, "{bad}: {stderr}");
        assert!(
            stderr.contains("KIND") || stderr.contains("kind") || stderr.contains("path"),
            "{stderr}"
        );
    }
    let missing = "osv:/nonexistent/stella-parity";
    let (code, _, stderr) = stella(&["feeds", "parity", "--left", &left, "--right", missing]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/stella-parity"), "{stderr}");
}
