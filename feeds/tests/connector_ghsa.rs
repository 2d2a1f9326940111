//! The GHSA connector on real github/advisory-database records (layout
//! kept), every record checked against an independent reading: Python's
//! json, with OSV's event semantics and GHSA's
//! `last_known_affected_version_range` rule written out again, in one
//! process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use stella_feeds::connector::{ghsa, import, import_osv, SourceKind};
use stella_model::{Advisory, RangeEvent, SeverityKind};

const ORACLE: &str = r#"
import json, os, re, sys
BOUND = re.compile(r"^\s*(<=|<)\s*([^\s,<>=]+)\s*$")
root = sys.argv[1]
out = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".json"):
            continue
        d = json.load(open(os.path.join(dirpath, f), encoding="utf-8"))
        sev = [[s["type"], s["score"]] for s in d.get("severity") or []]
        word = (d.get("database_specific") or {}).get("severity")
        if word:
            sev.append(["OTHER", word])
        affected = []
        for a in d.get("affected") or []:
            # OSV: introduced opens an interval ("0": from the start), fixed
            # closes it before, last_affected at the version; one left open
            # runs to the end.
            rules = []
            for r in a.get("ranges") or []:
                if r["type"] == "GIT":
                    continue
                low = None
                is_open = False
                for e in r["events"]:
                    (k, v), = e.items()
                    if k == "introduced":
                        if is_open:
                            rules.append([low, None, None])
                        low, is_open = (None if v == "0" else v), True
                    elif k in ("fixed", "last_affected"):
                        rules.append([low, v, k == "last_affected"])
                        low, is_open = None, False
                if is_open:
                    rules.append([low, None, None])
            last = (a.get("database_specific") or {}).get("last_known_affected_version_range")
            m = BOUND.match(last or "")
            if m:
                rules = [[lo, m.group(2), m.group(1) == "<="] if hi is None else [lo, hi, inc]
                         for lo, hi, inc in rules]
            affected.append({"ecosystem": a["package"]["ecosystem"], "name": a["package"]["name"],
                             "rules": rules,
                             "fixed": sorted(v for r in a.get("ranges") or [] for e in r["events"]
                                             for k, v in e.items() if k == "fixed")})
        out[d["id"]] = {"aliases": sorted(set(d.get("aliases") or []) - {d["id"]}),
                        "severity": sorted(sev), "affected": affected,
                        "withdrawn": d.get("withdrawn"), "summary": d.get("summary")}
json.dump(out, sys.stdout, sort_keys=True)
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ghsa")
}

fn ours(a: &Advisory) -> Value {
    let mut severity: Vec<(String, String)> = a
        .severities
        .iter()
        .map(|s| {
            let kind = match s.kind {
                SeverityKind::CvssV2 => "CVSS_V2",
                SeverityKind::CvssV3 => "CVSS_V3",
                SeverityKind::CvssV4 => "CVSS_V4",
                SeverityKind::Other => "OTHER",
            };
            (kind.to_string(), s.vector.clone())
        })
        .collect();
    severity.sort();
    json!({
        "aliases": a.aliases,
        "severity": severity,
        "withdrawn": a.withdrawn,
        "summary": a.summary,
        "affected": a.affected.iter().map(|p| {
            let mut fixed: Vec<&str> = p.ranges.iter().flat_map(|r| &r.events).filter_map(|e| match e {
                RangeEvent::Fixed(v) => Some(v.as_str()),
                _ => None,
            }).collect();
            fixed.sort();
            json!({
                "ecosystem": p.ecosystem,
                "name": p.name,
                "rules": p.rules.iter().map(|r| json!([r.min, r.max, r.max_inclusive])).collect::<Vec<_>>(),
                "fixed": fixed,
            })
        }).collect::<Vec<_>>(),
    })
}

#[test]
fn every_record_matches_an_independent_reading() {
    let root = fixtures();
    let run = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(&root)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut expected: BTreeMap<String, Value> = serde_json::from_slice(&run.stdout).unwrap();
    let import = ghsa::import(&root, "ghsa").unwrap();
    assert!(import.quarantined.is_empty(), "{:?}", import.quarantined);
    assert_eq!(import.ignored, 1, "SOURCE.md");
    assert_eq!(import.advisories.len(), 11);
    for advisory in &import.advisories {
        let theirs = expected
            .remove(&advisory.id)
            .unwrap_or_else(|| panic!("{} not read by the oracle", advisory.id));
        assert_eq!(ours(advisory), theirs, "{}", advisory.id);
        assert_eq!(advisory.provenance[0].source, "ghsa");
    }
    assert!(expected.is_empty(), "not imported: {:?}", expected.keys());
}

#[test]
fn ghsa_records_are_the_ones_osv_fixtures_alias() {
    // The parity detector compares these pairs; keep them pairs.
    let ghsa_ids: BTreeSet<String> = ghsa::import(&fixtures(), "ghsa")
        .unwrap()
        .advisories
        .into_iter()
        .map(|a| a.id)
        .collect();
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv");
    let mut aliased = BTreeSet::new();
    for corpus in ["osv-crates", "osv-go", "osv-pypi-yaml"] {
        for a in import_osv(&osv.join(corpus), corpus).unwrap().advisories {
            aliased.extend(a.aliases.into_iter().filter(|x| ghsa_ids.contains(x)));
        }
    }
    assert_eq!(aliased.len(), 7, "{aliased:?}");
}

#[test]
fn same_input_same_output_and_bad_records_quarantined() {
    let once = import(SourceKind::Ghsa, &fixtures(), "ghsa").unwrap();
    let twice = import(SourceKind::Ghsa, &fixtures(), "ghsa").unwrap();
    assert_eq!(once.advisories, twice.advisories);

    let dir = tempfile::tempdir().unwrap();
    let month = dir.path().join("advisories/github-reviewed/2024/01");
    for (name, text) in [
        ("GHSA-aaaa-aaaa-aaaa", "{\"id\": "),
        ("GHSA-bbbb-bbbb-bbbb", "{\"summary\": \"no id\"}"),
        (
            "GHSA-cccc-cccc-cccc",
            r#"{"id": "GHSA-cccc-cccc-cccc", "affected": [{"package": {"ecosystem": "npm", "name": "x"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
               "database_specific": {"last_known_affected_version_range": 7}}]}"#,
        ),
    ] {
        let folder = month.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{name}.json")), text).unwrap();
    }
    let import = ghsa::import(dir.path(), "ghsa").unwrap();
    let paths: Vec<&str> = import.quarantined.iter().map(|q| q.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "advisories/github-reviewed/2024/01/GHSA-aaaa-aaaa-aaaa/GHSA-aaaa-aaaa-aaaa.json",
            "advisories/github-reviewed/2024/01/GHSA-bbbb-bbbb-bbbb/GHSA-bbbb-bbbb-bbbb.json"
        ]
    );
    // A bound that is not text is ignored, the record kept.
    let [kept] = import.advisories.as_slice() else {
        panic!("{:?}", import.advisories)
    };
    assert_eq!(kept.affected[0].rules[0].max, None);
}
