//! The OSV connector on real records (feeds/tests/fixtures/osv: RustSec,
//! Go, PyPA YAML, DHI, AlmaLinux), checked field by field against an
//! independent reading of the same files: Python's json and PyYAML's
//! BaseLoader (every scalar a string, as written), in one process.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use stella_feeds::connector::import_osv;
use stella_model::{Advisory, RangeEvent};

const ORACLE: &str = r#"
import json, os, sys, yaml
root = sys.argv[1]
out = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        p = os.path.join(dirpath, f)
        if f.endswith(".json"):
            d = json.load(open(p, encoding="utf-8"))
        elif f.endswith((".yaml", ".yml")):
            d = yaml.load(open(p, encoding="utf-8"), Loader=yaml.BaseLoader)
        else:
            continue
        own = d["id"]
        sev = [(s["type"], s["score"].strip()) for s in d.get("severity") or []]
        affected = []
        for a in d.get("affected") or []:
            sev += [(s["type"], s["score"].strip()) for s in a.get("severity") or []]
            ranges = []
            for r in a.get("ranges") or []:
                ranges.append([r["type"], r.get("repo"),
                               [[k, v] for e in r["events"] for k, v in e.items()]])
            pkg = a["package"]
            affected.append({"ecosystem": pkg["ecosystem"], "name": pkg["name"], "purl": pkg.get("purl"),
                             "ranges": ranges, "versions": sorted(set(a.get("versions") or []))})
        out[own] = {
            "aliases": sorted(set(x for x in d.get("aliases") or [] if x != own)),
            "upstream": sorted(set(x for x in d.get("upstream") or [] if x != own)),
            "withdrawn": d.get("withdrawn"),
            "published": d.get("published"),
            "modified": d.get("modified"),
            "severity": sorted(set(map(tuple, sev))),
            "references": len(set((r.get("type", "WEB"), r["url"]) for r in d.get("references") or [])),
            "affected": affected,
        }
json.dump(out, sys.stdout, sort_keys=True)
"#;

/// The same facts from our canonical advisory.
fn ours(a: &Advisory) -> Value {
    let event = |e: &RangeEvent| match e {
        RangeEvent::Introduced(v) => json!(["introduced", v]),
        RangeEvent::Fixed(v) => json!(["fixed", v]),
        RangeEvent::LastAffected(v) => json!(["last_affected", v]),
        RangeEvent::Limit(v) => json!(["limit", v]),
    };
    let kind = |scheme: &str| match scheme {
        "git" => "GIT",
        "semver" => "SEMVER",
        _ => "ECOSYSTEM",
    };
    let mut severity: Vec<(String, String)> = a
        .severities
        .iter()
        .map(|s| {
            let t = match s.kind {
                stella_model::SeverityKind::CvssV2 => "CVSS_V2",
                stella_model::SeverityKind::CvssV3 => "CVSS_V3",
                stella_model::SeverityKind::CvssV4 => "CVSS_V4",
                stella_model::SeverityKind::Other => "OTHER",
            };
            (t.to_string(), s.vector.clone())
        })
        .collect();
    severity.sort();
    json!({
        "aliases": a.aliases,
        "upstream": a.upstream,
        "withdrawn": a.withdrawn,
        "published": a.published,
        "modified": a.modified,
        "severity": severity,
        "references": a.references.len(),
        "affected": a.affected.iter().map(|p| json!({
            "ecosystem": p.ecosystem,
            "name": p.name,
            "purl": p.purl,
            // (No fixture has an ECOSYSTEM range in a SemVer ecosystem,
            // which ours would call SEMVER.)
            "ranges": p.ranges.iter().map(|r| json!([
                kind(&r.scheme), r.repo, r.events.iter().map(event).collect::<Vec<_>>()
            ])).collect::<Vec<_>>(),
            "versions": p.versions,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn every_fixture_record_matches_an_independent_reading() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv");
    let oracle = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(&root)
        .output()
        .expect("python3 runs");
    assert!(
        oracle.status.success(),
        "oracle (needs PyYAML: apt python3-yaml): {}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let mut expected: BTreeMap<String, Value> = serde_json::from_slice(&oracle.stdout).unwrap();
    let mut seen = 0;
    for corpus in [
        "osv-crates",
        "osv-go",
        "osv-pypi-yaml",
        "osv-dhi",
        "osv-almalinux9",
    ] {
        let import = import_osv(&root.join(corpus), &format!("osv:{corpus}")).unwrap();
        assert!(
            import.quarantined.is_empty(),
            "{corpus}: valid records quarantined: {:?}",
            import.quarantined
        );
        assert!(!import.advisories.is_empty(), "{corpus}");
        for advisory in &import.advisories {
            let theirs = expected
                .remove(&advisory.id)
                .unwrap_or_else(|| panic!("{} not read by the oracle", advisory.id));
            assert_eq!(ours(advisory), theirs, "{}", advisory.id);
            assert_eq!(advisory.provenance.len(), 1);
            assert!(advisory.provenance[0]
                .document_digest
                .starts_with("sha256:"));
            seen += 1;
        }
    }
    assert!(
        expected.is_empty(),
        "records we did not import: {:?}",
        expected.keys()
    );
    assert!(seen > 150, "{seen}");
}
