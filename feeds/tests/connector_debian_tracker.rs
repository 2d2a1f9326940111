//! The Debian tracker connector on real tracker JSON (vunnel's and
//! osv.dev's fixtures) plus a hand-written sample of the statuses those
//! lack, every CVE checked against an independent reading: Python's json
//! with the status table of the tracker's documentation written out again
//! (not our code's), in one process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use stella_feeds::connector::{debian_tracker, import, SourceKind};
use stella_model::{Advisory, AffectedStatus, RuleKind};

const ORACLE: &str = r#"
import json, os, sys
# Debian release numbers by codename (debian.org/releases); others as is.
NUMBERS = dict(buzz="1.1", rex="1.2", bo="1.3", hamm="2.0", slink="2.1", potato="2.2",
               woody="3.0", sarge="3.1", etch="4.0", lenny="5.0", squeeze="6.0", wheezy="7",
               jessie="8", stretch="9", buster="10", bullseye="11", bookworm="12",
               trixie="13", forky="14", duke="15")
root = sys.argv[1]
out = {}
for name in sorted(os.listdir(root)):
    if not name.endswith(".json"):
        continue
    dump = json.load(open(os.path.join(root, name), encoding="utf-8"))
    for pkg in sorted(dump):
        for cve in sorted(dump[pkg]):
            entry = dump[pkg][cve]
            a = out.setdefault(cve, {"details": None, "affected": [], "severities": set(),
                                     "bugs": set(), "documents": set()})
            a["documents"].add(name)
            if a["details"] is None:
                a["details"] = entry.get("description")
            if "debianbug" in entry:
                a["bugs"].add("https://bugs.debian.org/%d" % entry["debianbug"])
            releases = entry["releases"] or {}
            for code in sorted(releases):
                r = releases[code]
                urgency = r.get("urgency", "")
                reason = r.get("nodsa_reason", "")
                fixed = r.get("fixed_version", "")
                if r["status"] == "resolved" and fixed == "0":
                    status, rules = "not-affected", []
                elif r["status"] == "resolved":
                    status, rules = "fixed", [["lt", fixed]]
                elif r["status"] == "undetermined":
                    status, rules = "under-investigation", []
                else:
                    assert r["status"] == "open", r
                    if urgency == "end-of-life":
                        status = "end-of-life"
                    elif reason == "ignored":
                        status = "will-not-fix"
                    elif reason == "postponed":
                        status = "fix-deferred"
                    elif urgency == "unimportant":
                        status = "will-not-fix"
                    else:
                        status = "affected"
                    rules = [["all"]]
                a["affected"].append(["Debian:" + NUMBERS.get(code, code), pkg, status, rules])
                if urgency not in ("", "not yet assigned", "end-of-life"):
                    a["severities"].add(urgency)
for a in out.values():
    a["affected"].sort()
    for k in ("severities", "bugs"):
        a[k] = sorted(a[k])
    a["documents"] = len(a["documents"])
json.dump(out, sys.stdout, sort_keys=True)
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian-tracker")
}

fn oracle(root: &Path) -> BTreeMap<String, Value> {
    let run = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(root)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// The same facts from our advisory.
fn ours(a: &Advisory) -> Value {
    let mut affected: Vec<Value> = a
        .affected
        .iter()
        .map(|p| {
            assert_eq!(p.source_package.as_deref(), Some(p.name.as_str()));
            let rules: Vec<Value> = p
                .rules
                .iter()
                .map(|r| {
                    assert_eq!(r.scheme, "deb");
                    match (r.kind, &r.min, &r.max) {
                        (RuleKind::Lt, None, Some(max)) => {
                            assert_eq!(r.max_inclusive, Some(false));
                            json!(["lt", max])
                        }
                        (RuleKind::Range, None, None) => json!(["all"]),
                        other => panic!("{}: unexpected rule {other:?}", a.id),
                    }
                })
                .collect();
            let status = serde_json::to_value(p.status).unwrap();
            json!([p.ecosystem, p.name, status, rules])
        })
        .collect();
    affected.sort_by_key(|v| v.to_string());
    let mut bugs: Vec<&str> = a
        .references
        .iter()
        .filter(|r| r.kind == "REPORT")
        .map(|r| r.url.as_str())
        .collect();
    bugs.sort();
    let severities: Vec<&str> = a.severities.iter().map(|s| s.vector.as_str()).collect();
    json!({
        "details": a.details,
        "affected": affected,
        "severities": severities,
        "bugs": bugs,
        "documents": a.provenance.len(),
    })
}

#[test]
fn every_cve_matches_an_independent_reading() {
    let root = fixtures();
    let mut expected = oracle(&root);
    let import = debian_tracker::import(&root, "debian-tracker").unwrap();
    assert!(
        import.quarantined.is_empty(),
        "valid parts quarantined: {:?}",
        import.quarantined
    );
    assert_eq!(import.ignored, 1, "SOURCE.md");
    for advisory in &import.advisories {
        let theirs = expected
            .remove(&advisory.id)
            .unwrap_or_else(|| panic!("{} not read by the oracle", advisory.id));
        // The oracle sorts with Python's list order; compare as sorted JSON text.
        let mut theirs = theirs;
        if let Some(list) = theirs["affected"].as_array_mut() {
            list.sort_by_key(|v| v.to_string());
        }
        assert_eq!(ours(advisory), theirs, "{}", advisory.id);
        assert!(advisory
            .references
            .iter()
            .any(|r| r.url.ends_with(&format!("/tracker/{}", advisory.id))));
    }
    assert!(expected.is_empty(), "not imported: {:?}", expected.keys());
    // Every status of the table occurs in the fixtures.
    let statuses: std::collections::BTreeSet<AffectedStatus> = import
        .advisories
        .iter()
        .flat_map(|a| a.affected.iter().map(|p| p.status))
        .collect();
    assert_eq!(statuses.len(), 7, "{statuses:?}");
    assert!(import.advisories.len() >= 12);
}

#[test]
fn same_input_same_output_by_path_or_zip() {
    let root = fixtures();
    let once = import(SourceKind::DebianTracker, &root, "debian-tracker").unwrap();
    let twice = import(SourceKind::DebianTracker, &root, "debian-tracker").unwrap();
    assert_eq!(once.advisories, twice.advisories);
    assert_eq!(
        serde_json::to_vec(&once.advisories).unwrap(),
        serde_json::to_vec(&twice.advisories).unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("tracker.zip");
    let made = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile, os\nz = zipfile.ZipFile(sys.argv[2], 'w')\n\
             for n in sorted(os.listdir(sys.argv[1]), reverse=True): z.write(os.path.join(sys.argv[1], n), 'dump/' + n)\nz.close()",
        ])
        .arg(&root)
        .arg(&zip)
        .status()
        .unwrap();
    assert!(made.success());
    let zipped = debian_tracker::import(&zip, "debian-tracker").unwrap();
    assert_eq!(
        zipped.advisories, once.advisories,
        "entry order is not input order"
    );
}

#[test]
fn malformed_documents_are_quarantined_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).unwrap();
    write("a-truncated.json", br#"{"bash": {"CVE-1": {"releases": "#);
    write("b-list.json", b"[1, 2, 3]");
    write("c-binary.json", b"\xff\xfe\x00garbage");
    write(
        "d-mixed.json",
        br#"{"bash": {"CVE-2026-1": {"description": 5, "releases": {}},
                     "CVE-2026-2": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "1-1"},
                                                 "trixie": {"status": "fixed-ish"}}}}}"#,
    );
    let import = debian_tracker::import(dir.path(), "debian-tracker").unwrap();
    let got: Vec<(&str, &str)> = import
        .quarantined
        .iter()
        .map(|q| (q.path.as_str(), q.reason.as_str()))
        .collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got[0].0 == "a-truncated.json" && got[0].1.starts_with("JSON"));
    assert!(got[1].0 == "b-list.json" && got[1].1.contains("top level"));
    assert!(got[2].0 == "c-binary.json" && got[2].1.starts_with("JSON"));
    assert_eq!(
        got[3],
        (
            "d-mixed.json#bash/CVE-2026-1",
            "description is not a string"
        )
    );
    assert_eq!(
        got[4],
        (
            "d-mixed.json#bash/CVE-2026-2/trixie",
            "unknown status \"fixed-ish\""
        )
    );
    let [advisory] = import.advisories.as_slice() else {
        panic!("{:?}", import.advisories)
    };
    assert_eq!(advisory.id, "CVE-2026-2");
    assert_eq!(advisory.affected.len(), 1);
    assert!(debian_tracker::import(&dir.path().join("missing"), "x").is_err());
}
