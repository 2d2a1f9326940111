//! SARIF 2.1.0 output against the official schemas (OASIS, and Microsoft's
//! rtm.5 copy; see tests/fixtures/report/SOURCE.md) with Python
//! `jsonschema`, and field by field against the input findings with
//! Python's json module and Red Hat's `cvss` (tests/report_oracle.py).

mod report_support;

use std::ffi::OsStr;
use std::path::Path;

use report_support as support;
use stella_policy::report::{sarif, ReportError, SarifOptions};

const SCHEMAS: [&str; 2] = ["sarif-schema-2.1.0.json", "sarif-2.1.0-rtm.5.json"];

fn opts() -> SarifOptions {
    SarifOptions {
        tool_version: "0.1.0".into(),
        information_uri: Some("https://example.org/stella".into()),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn schema(name: &str) -> std::path::PathBuf {
    support::fixtures().join(name)
}

#[test]
fn sarif_validates_and_carries_every_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let findings = support::findings();
    let doc = support::document(findings.clone(), true);
    let log = sarif(&doc, &opts()).expect("sarif");
    let log_path = write(dir.path(), "stella.sarif", &log);
    let expected = write(
        dir.path(),
        "expected.json",
        support::expected_json(&findings).as_bytes(),
    );
    for s in SCHEMAS {
        support::oracle(&[
            OsStr::new("validate"),
            schema(s).as_os_str(),
            log_path.as_os_str(),
        ]);
    }
    support::oracle(&[
        OsStr::new("check-sarif"),
        log_path.as_os_str(),
        expected.as_os_str(),
    ]);
}

#[test]
fn schema_validator_is_live() {
    // A validator that accepts everything would pass the test above; each
    // schema must reject copies of our log with a required part removed.
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = support::document(support::findings(), true);
    let log_path = write(
        dir.path(),
        "stella.sarif",
        &sarif(&doc, &opts()).expect("sarif"),
    );
    for s in SCHEMAS {
        support::oracle(&[
            OsStr::new("mutations"),
            schema(s).as_os_str(),
            log_path.as_os_str(),
        ]);
    }
}

#[test]
fn empty_and_verdictless_logs_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = support::document(Vec::new(), false);
    let opts = SarifOptions {
        tool_version: "0.1.0".into(),
        information_uri: None,
    };
    let log_path = write(
        dir.path(),
        "empty.sarif",
        &sarif(&doc, &opts).expect("sarif"),
    );
    for s in SCHEMAS {
        support::oracle(&[
            OsStr::new("validate"),
            schema(s).as_os_str(),
            log_path.as_os_str(),
        ]);
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&log_path).expect("read")).expect("json");
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

#[test]
fn sarif_is_deterministic_and_order_independent() {
    let findings = support::findings();
    let a = sarif(&support::document(findings.clone(), true), &opts()).expect("sarif");
    let b = sarif(&support::document(findings.clone(), true), &opts()).expect("sarif");
    assert_eq!(a, b);
    let mut reversed = findings;
    reversed.reverse();
    let c = sarif(&support::document(reversed, true), &opts()).expect("sarif");
    assert_eq!(a, c, "input order changed the bytes");
    assert!(a.ends_with(b"}\n"));
}

#[test]
fn verdict_is_in_run_properties() {
    let doc = support::document(support::findings(), true);
    let v: serde_json::Value =
        serde_json::from_slice(&sarif(&doc, &opts()).expect("sarif")).expect("json");
    let props = &v["runs"][0]["properties"];
    assert_eq!(props["verdict"]["outcome"], "fail");
    assert_eq!(props["verdict"]["reasons"][0]["rule"], "deny-licenses");
    assert_eq!(props["verdict"]["reasons"][1]["rule"], "no-critical");
    assert_eq!(
        props["feeds"]["digest"],
        support::digest("feeds").to_string()
    );
    assert_eq!(props["source"], "oci-dir:/tmp/image:latest");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mut doc = support::document(Vec::new(), false);
    let no_version = SarifOptions::default();
    assert!(matches!(
        sarif(&doc, &no_version),
        Err(ReportError::EmptyToolVersion)
    ));
    doc.schema = "stella-findings@9".into();
    assert!(matches!(
        sarif(&doc, &opts()),
        Err(ReportError::WrongSchema(s)) if s == "stella-findings@9"
    ));
}
