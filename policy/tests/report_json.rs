//! The findings JSON document: read back with Python's json module
//! (tests/report_oracle.py check-findings), every input finding present
//! with its id, package and versions, in `Finding::sort_key` order
//! (recomputed in Python), byte-identical whatever the input order.

mod report_support;

use std::ffi::OsStr;

use report_support as support;
use stella_policy::report::{findings_json, FindingsDocument, ReportError};

#[test]
fn findings_json_carries_every_finding_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let findings = support::findings();
    let mut reversed = findings.clone();
    reversed.reverse();
    let bytes = findings_json(&support::document(reversed, true)).expect("json");
    let path = dir.path().join("findings.json");
    std::fs::write(&path, &bytes).expect("write");
    let expected = dir.path().join("expected.json");
    std::fs::write(&expected, support::expected_json(&findings)).expect("write");
    support::oracle(&[
        OsStr::new("check-findings"),
        path.as_os_str(),
        expected.as_os_str(),
    ]);
}

#[test]
fn findings_json_is_deterministic_and_round_trips() {
    let findings = support::findings();
    let a = findings_json(&support::document(findings.clone(), true)).expect("a");
    let mut shuffled = findings.clone();
    shuffled.rotate_left(3);
    let b = findings_json(&support::document(shuffled, true)).expect("b");
    assert_eq!(a, b, "input order changed the bytes");
    assert!(a.ends_with(b"}\n"), "pretty JSON with a trailing newline");
    assert!(a.starts_with(b"{\n  \"schema\": \"stella-findings@1\""));

    // Reading it back gives the same document (sorted), and writing that
    // again gives the same bytes.
    let back: FindingsDocument = serde_json::from_slice(&a).expect("parse back");
    assert_eq!(back.findings.len(), findings.len());
    assert_eq!(findings_json(&back).expect("again"), a);
}

#[test]
fn duplicates_are_dropped_and_schema_is_checked() {
    let mut findings = support::findings();
    findings.push(findings[0].clone());
    let doc = support::document(findings.clone(), false);
    let v: serde_json::Value =
        serde_json::from_slice(&findings_json(&doc).expect("json")).expect("parse");
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(findings.len() - 1)
    );
    assert!(v.get("verdict").is_none());

    let mut bad = doc;
    bad.schema = "stella-findings@0".into();
    assert!(matches!(
        findings_json(&bad),
        Err(ReportError::WrongSchema(_))
    ));
}
