//! The Alpine secdb connector on real secdb files (YAML, and one converted
//! to the JSON the secdb site serves), every issue checked against an
//! independent reading: PyYAML's BaseLoader (every scalar a string, as
//! written) and Python's json, with the id rules written out again as
//! regular expressions, in one process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use stella_feeds::connector::{alpine_secdb, import, SourceKind};
use stella_model::{Advisory, AffectedStatus, RangeEvent, RuleKind};

const ORACLE: &str = r#"
import json, os, re, sys, yaml
# Ids: a CVE, written with '-', '_' or (as two words) ' ', maybe followed by
# anything; or another tracker's PREFIX-... id, with an upper-case prefix or
# a digit somewhere. The first id of an entry is its own, the rest aliases.
CVE = re.compile(r"^CVE[-_ ](\d{4})[-_](\d{4,})", re.I)
OTHER = re.compile(r"^([A-Za-z][A-Za-z0-9]*)-[A-Za-z0-9][A-Za-z0-9.-]*$")
def ident(word):
    m = CVE.match(word)
    if m:
        return "CVE-%s-%s" % m.groups()
    m = OTHER.match(word)
    if m and m.group(1).lower() != "cve" and (m.group(1).upper() == m.group(1) or re.search(r"\d", word)):
        return word
    return None
def ids(entry):
    words = re.sub(r"(?i)\bcve\s+(?=\d)", "CVE ", entry)
    words = re.findall(r"CVE \S+|\S+", words)
    return [i for i in map(ident, words) if i]
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
        eco = "Alpine:" + d["distroversion"]
        for item in d.get("packages") or []:
            name = item["pkg"]["name"]
            for version, entries in (item["pkg"].get("secfixes") or {}).items():
                for entry in entries or []:
                    found = ids(entry)
                    own = found[0]
                    a = out.setdefault(own, {"affected": set(), "aliases": set(), "documents": set()})
                    a["documents"].add(p)
                    a["aliases"] |= set(found[1:]) - {own}
                    if version == "0":
                        a["affected"].add((eco, name, "not-affected", None))
                    else:
                        a["affected"].add((eco, name, "fixed", version))
for a in out.values():
    a["affected"] = sorted(a["affected"], key=lambda t: json.dumps(t))
    a["aliases"] = sorted(a["aliases"])
    a["documents"] = len(a["documents"])
json.dump(out, sys.stdout, sort_keys=True)
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alpine-secdb")
}

fn ours(a: &Advisory) -> Value {
    let mut affected: Vec<Value> = a
        .affected
        .iter()
        .map(|p| {
            assert_eq!(p.source_package.as_deref(), Some(p.name.as_str()));
            let fixed = match p.status {
                AffectedStatus::Fixed => {
                    let [rule] = p.rules.as_slice() else {
                        panic!("{}: {:?}", a.id, p.rules)
                    };
                    assert_eq!(
                        (
                            rule.scheme.as_str(),
                            rule.kind,
                            &rule.min,
                            rule.max_inclusive
                        ),
                        ("apk", RuleKind::Lt, &None, Some(false))
                    );
                    let max = rule.max.clone().unwrap();
                    assert_eq!(
                        p.ranges[0].events,
                        [
                            RangeEvent::Introduced("0".into()),
                            RangeEvent::Fixed(max.clone())
                        ]
                    );
                    Some(max)
                }
                AffectedStatus::NotAffected => {
                    assert!(p.rules.is_empty() && p.ranges.is_empty());
                    None
                }
                other => panic!("{}: status {other:?}", a.id),
            };
            let status = serde_json::to_value(p.status).unwrap();
            json!([p.ecosystem, p.name, status, fixed])
        })
        .collect();
    affected.sort_by_key(|v| v.to_string());
    json!({
        "affected": affected,
        "aliases": a.aliases,
        "documents": a.provenance.len(),
    })
}

/// JSON text of the oracle's tuples and ours sort alike only when spaced
/// alike; normalise both through serde_json.
fn resorted(mut v: Value) -> Value {
    if let Some(list) = v["affected"].as_array_mut() {
        list.sort_by_key(|x| x.to_string());
    }
    v
}

#[test]
fn every_issue_matches_an_independent_reading() {
    let root = fixtures();
    let run = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(&root)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "oracle (needs PyYAML: apt python3-yaml): {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut expected: BTreeMap<String, Value> = serde_json::from_slice(&run.stdout).unwrap();
    let import = alpine_secdb::import(&root, "alpine-secdb").unwrap();
    assert!(
        import.quarantined.is_empty(),
        "valid parts quarantined: {:?}",
        import.quarantined
    );
    assert_eq!(import.ignored, 1, "SOURCE.md");
    let mut not_affected = 0;
    for advisory in &import.advisories {
        let theirs = expected
            .remove(&advisory.id)
            .unwrap_or_else(|| panic!("{} not read by the oracle", advisory.id));
        assert_eq!(ours(advisory), resorted(theirs), "{}", advisory.id);
        not_affected += advisory
            .affected
            .iter()
            .filter(|p| p.status == AffectedStatus::NotAffected)
            .count();
    }
    assert!(expected.is_empty(), "not imported: {:?}", expected.keys());
    assert!(import.advisories.len() > 500, "{}", import.advisories.len());
    assert!(not_affected > 0, "v3.8 db lists a \"0\" version");
    let ids: Vec<&str> = import.advisories.iter().map(|a| a.id.as_str()).collect();
    for id in [
        "CVE-2019-2426",
        "CVE-2019-19451",
        "CVE-2017-17434",
        "XSA-207",
    ] {
        assert!(ids.binary_search(&id).is_ok(), "{id}");
    }
}

#[test]
fn same_input_same_output() {
    let root = fixtures();
    let once = import(SourceKind::AlpineSecdb, &root, "alpine-secdb").unwrap();
    let twice = import(SourceKind::AlpineSecdb, &root, "alpine-secdb").unwrap();
    assert_eq!(once.advisories, twice.advisories);
    assert_eq!(
        serde_json::to_vec(&once.advisories).unwrap(),
        serde_json::to_vec(&twice.advisories).unwrap()
    );
    let sorted = once.advisories.windows(2).all(|w| w[0].id < w[1].id);
    assert!(sorted, "one advisory per id, sorted");
}

#[test]
fn malformed_documents_are_quarantined_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "a.yaml",
        "distroversion: v3.9\npackages:\n  - pkg: [unclosed\n",
    );
    write("b.yaml", "reponame: main\npackages: []\n");
    write(
        "c.json",
        r#"{"distroversion": "v3.9", "packages": {"pkg": 1}}"#,
    );
    write(
        "d.yaml",
        "distroversion: v3.9\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.20-r5:\n          - CVE-2019-14697\n          - see upstream\n        1.1.19-r1: CVE-2018-1\n",
    );
    write("e.yaml", "- just\n- a list\n");
    let import = alpine_secdb::import(dir.path(), "alpine-secdb").unwrap();
    let got: Vec<(&str, &str)> = import
        .quarantined
        .iter()
        .map(|q| (q.path.as_str(), q.reason.as_str()))
        .collect();
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got[0].0 == "a.yaml" && got[0].1.starts_with("YAML"),
        "{got:?}"
    );
    assert!(got[1].0 == "b.yaml" && got[1].1.contains("distroversion"));
    assert_eq!(got[2], ("c.json", "packages is not a list"));
    assert_eq!(got[3], ("d.yaml#musl/1.1.19-r1", "not a list of issue ids"));
    assert_eq!(
        got[4],
        (
            "d.yaml#musl/1.1.20-r5[1]",
            "not an issue id: \"see upstream\""
        )
    );
    assert!(got[5].0 == "e.yaml" && got[5].1.contains("top level"));
    let [advisory] = import.advisories.as_slice() else {
        panic!("{:?}", import.advisories)
    };
    assert_eq!(advisory.id, "CVE-2019-14697");
    assert_eq!(
        advisory.affected[0].rules[0].max.as_deref(),
        Some("1.1.20-r5")
    );
}
