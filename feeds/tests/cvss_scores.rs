//! Base scores the OSV connector computes from CVSS vectors (RustSec's
//! `cvss` crate), checked against an independent implementation: Red Hat's
//! Python `cvss` package (pip `cvss`, pinned in tests/run.sh), for every
//! CVSS v2/v3/v4 vector in the OSV fixtures.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use stella_feeds::connector::import_osv;
use stella_model::SeverityKind;

const ORACLE: &str = r#"
import sys
from cvss import CVSS2, CVSS3, CVSS4
for line in sys.stdin:
    kind, vector = line.rstrip("\n").split("\t")
    try:
        cls = {"v2": CVSS2, "v3": CVSS3, "v4": CVSS4}[kind]
        score = cls(vector).base_score
        print(float(score) if not isinstance(score, tuple) else float(score[0]))
    except Exception as e:
        print("error")
"#;

#[test]
fn base_scores_agree_with_an_independent_cvss_implementation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv");
    let mut vectors = Vec::new();
    for corpus in ["osv-crates", "osv-go", "osv-pypi-yaml", "osv-dhi", "osv-almalinux9"] {
        let import = import_osv(&root.join(corpus), corpus).unwrap();
        for advisory in import.advisories {
            for s in advisory.severities {
                let kind = match s.kind {
                    SeverityKind::CvssV2 => "v2",
                    SeverityKind::CvssV3 => "v3",
                    SeverityKind::CvssV4 => "v4",
                    SeverityKind::Other => continue,
                };
                vectors.push((kind, s.vector, s.base_score));
            }
        }
    }
    vectors.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    vectors.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    assert!(vectors.len() >= 10, "only {} vectors in the fixtures", vectors.len());
    assert!(vectors.iter().any(|v| v.0 == "v4"), "no CVSS v4 vector in the fixtures");

    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input: String = vectors
        .iter()
        .map(|(k, v, _)| format!("{k}\t{v}\n"))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        let skip = std::env::var("STELLA_SKIP_ORACLES").is_ok_and(|v| v == "1");
        assert!(
            skip,
            "the CVSS oracle needs the Python package cvss (pip install cvss==3.6): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let answers: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(answers.len(), vectors.len());
    for ((kind, vector, ours), theirs) in vectors.iter().zip(&answers) {
        match theirs.parse::<f64>() {
            Ok(expected) => assert_eq!(
                *ours,
                Some(expected),
                "{kind} {vector}: ours {ours:?}, the oracle's {expected}"
            ),
            Err(_) => assert_eq!(*ours, None, "{kind} {vector}: the oracle cannot parse it"),
        }
    }
}
