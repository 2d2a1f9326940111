//! The parity detector on real records: PyPA, Go and RustSec OSV records
//! (fixtures/parity/osv) against the GitHub advisories they alias
//! (fixtures/parity/ghsa). The expected report is computed by an
//! independent oracle — Python reading the raw files (json, PyYAML's
//! BaseLoader) and applying the comparison rules stated in
//! feeds/src/parity/mod.rs — and a few facts are checked by hand against
//! the record text quoted beside them.
//!
//! The oracle compares versions by text. No fixture pair has two spellings
//! of one version, so the comparators (`feeds::version`) give the same
//! answers once they land.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stella_feeds::connector::import_osv;
use stella_feeds::parity::{parity, ParityReport};
use stella_model::Advisory;

const ORACLE: &str = r#"
import json, os, re, sys, yaml
from collections import Counter

def load(root):
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if f.endswith(".json"):
                out.append(json.load(open(p, encoding="utf-8")))
            elif f.endswith((".yaml", ".yml")):
                out.append(yaml.load(open(p, encoding="utf-8"), Loader=yaml.BaseLoader))
    return out

left, right = load(sys.argv[1]), load(sys.argv[2])
records = [(True, r) for r in left] + [(False, r) for r in right]

def ids(r):
    return [r["id"]] + list(r.get("aliases") or []) + list(r.get("upstream") or [])

# Connected components over shared ids (no cap: the fixtures are small).
parent = list(range(len(records)))
def find(x):
    while parent[x] != x:
        x = parent[x]
    return x
owner = {}
for i, (_, r) in enumerate(records):
    for x in ids(r):
        if x in owner:
            a, b = find(i), find(owner[x])
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            owner[x] = i
groups = {}
for i in range(len(records)):
    groups.setdefault(find(i), []).append(i)
assert all(len(g) <= 64 for g in groups.values())

SCHEME = {"PyPI": "pypi", "Go": "semver", "crates.io": "semver"}
def key(eco, name):
    if eco == "PyPI":
        name = re.sub(r"[-_.]+", "-", name).lower()
    return (eco, name)

def intervals(eco, rng):
    if rng["type"] == "GIT":
        return []
    scheme = "semver" if rng["type"] == "SEMVER" else SCHEME[eco]
    out, open_ = [], None
    def close(lo, hi, incl):
        out.append((scheme, lo, hi, incl))
    for e in rng["events"]:
        (k, v), = e.items()
        if k == "introduced":
            if open_ is not None:
                close(open_[0], None, None)
            lowest = v == "0" or (scheme == "semver" and v == "0.0.0-0")
            open_ = (None if lowest else v,)
        elif k in ("fixed", "last_affected"):
            lo = open_[0] if open_ is not None else None
            close(lo, v, k == "last_affected")
            open_ = None
    if open_ is not None:
        close(open_[0], None, None)
    return out

def as_json(iv):
    scheme, lo, hi, incl = iv
    d = {"scheme": scheme}
    if lo is not None:
        d["min"] = lo; d["minInclusive"] = True
    if hi is not None:
        d["max"] = hi; d["maxInclusive"] = incl
    return d

def ivkey(d):
    return tuple((d.get(k) is not None, d.get(k)) for k in
                 ("scheme", "min", "minInclusive", "max", "maxInclusive"))

KIND = {"CVSS_V2": 0, "CVSS_V3": 1, "CVSS_V4": 2}
KIND_NAME = {"CVSS_V2": "cvssV2", "CVSS_V3": "cvssV3", "CVSS_V4": "cvssV4"}

def side(recs):
    names, pkgs, sev = set(), {}, set()
    for r in recs:
        names |= {r["id"]} | set(r.get("aliases") or [])
        sev |= {(s["type"], s["score"].strip()) for s in r.get("severity") or []}
        for a in r.get("affected") or []:
            sev |= {(s["type"], s["score"].strip()) for s in a.get("severity") or []}
            eco, name = a["package"]["ecosystem"], a["package"]["name"]
            p = pkgs.setdefault(key(eco, name), {"names": set(), "iv": [], "fixed": set()})
            p["names"].add((eco, name))
            for rng in a.get("ranges") or []:
                for iv in intervals(eco, rng):
                    p["iv"].append(iv)
                    if iv[2] is not None and iv[3] is False:
                        p["fixed"].add(iv[2])
    return names, pkgs, sev

pairs, only_left, only_right = [], [], []
for g in groups.values():
    l = [records[i][1] for i in g if records[i][0]]
    r = [records[i][1] for i in g if not records[i][0]]
    if not r:
        only_left += [x["id"] for x in l]; continue
    if not l:
        only_right += [x["id"] for x in r]; continue
    (ln, lp, ls), (rn, rp, rs) = side(l), side(r)
    pair = {"leftIds": sorted(x["id"] for x in l), "rightIds": sorted(x["id"] for x in r)}
    diff = 0
    if ln - rn: pair["aliasesOnlyLeft"] = sorted(ln - rn); diff += len(ln - rn)
    if rn - ln: pair["aliasesOnlyRight"] = sorted(rn - ln); diff += len(rn - ln)
    pol = sorted(n for k in lp if k not in rp for n in lp[k]["names"])
    por = sorted(n for k in rp if k not in lp for n in rp[k]["names"])
    if pol: pair["packagesOnlyLeft"] = [{"ecosystem": e, "name": n} for e, n in pol]; diff += len(pol)
    if por: pair["packagesOnlyRight"] = [{"ecosystem": e, "name": n} for e, n in por]; diff += len(por)
    pkgs = []
    for k in sorted(set(lp) & set(rp)):
        cl, cr = Counter(lp[k]["iv"]), Counter(rp[k]["iv"])
        ol = sorted((as_json(i) for i in (cl - cr)), key=ivkey)
        orr = sorted((as_json(i) for i in (cr - cl)), key=ivkey)
        d = {"ecosystem": k[0], "name": k[1]}
        if ol: d["rangesOnlyLeft"] = ol
        if orr: d["rangesOnlyRight"] = orr
        if lp[k]["fixed"] != rp[k]["fixed"]:
            d["fixed"] = {"left": sorted(lp[k]["fixed"]), "right": sorted(rp[k]["fixed"])}
        if len(d) > 2:
            diff += len(ol) + len(orr) + ("fixed" in d)
            pkgs.append(d)
    if pkgs: pair["packages"] = pkgs
    if ls != rs:
        conv = lambda s: [{"kind": KIND_NAME[t], "vector": v}
                          for t, v in sorted(s, key=lambda x: (KIND[x[0]], x[1]))]
        pair["severities"] = {"left": conv(ls), "right": conv(rs)}
        diff += 1
    pair["differences"] = diff
    pairs.append(pair)
pairs.sort(key=lambda p: (p["leftIds"], p["rightIds"]))

counts = {
    "leftRecords": len(left), "rightRecords": len(right), "pairs": len(pairs),
    "pairsWithDifferences": sum(p["differences"] > 0 for p in pairs),
    "onlyLeft": len(only_left), "onlyRight": len(only_right),
    "aliasMismatches": sum(("aliasesOnlyLeft" in p or "aliasesOnlyRight" in p) for p in pairs),
    "packagesOnlyLeft": sum(len(p.get("packagesOnlyLeft", [])) for p in pairs),
    "packagesOnlyRight": sum(len(p.get("packagesOnlyRight", [])) for p in pairs),
    "rangesOnlyLeft": sum(len(d.get("rangesOnlyLeft", [])) for p in pairs for d in p.get("packages", [])),
    "rangesOnlyRight": sum(len(d.get("rangesOnlyRight", [])) for p in pairs for d in p.get("packages", [])),
    "fixedVersionMismatches": sum("fixed" in d for p in pairs for d in p.get("packages", [])),
    "severityMismatches": sum("severities" in p for p in pairs),
}
json.dump({"counts": counts, "pairs": pairs, "onlyLeft": sorted(only_left),
           "onlyRight": sorted(only_right)}, sys.stdout, sort_keys=True)
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity")
}

fn side(dir: &str) -> Vec<Advisory> {
    let import = import_osv(&fixtures().join(dir), &format!("osv:{dir}")).unwrap();
    assert!(import.quarantined.is_empty(), "{:?}", import.quarantined);
    import.advisories
}

/// Our report as JSON, without the base scores (the oracle has no CVSS
/// calculator; the connector's scores are tested elsewhere).
fn ours(report: &ParityReport) -> Value {
    let mut v = serde_json::to_value(report).unwrap();
    for pair in v["pairs"].as_array_mut().unwrap() {
        if let Some(sev) = pair.get_mut("severities") {
            for side in ["left", "right"] {
                for s in sev[side].as_array_mut().unwrap() {
                    s.as_object_mut().unwrap().remove("baseScore");
                }
            }
        }
    }
    v
}

#[test]
fn the_report_matches_an_independent_comparison() {
    let (left, right) = (side("osv"), side("ghsa"));
    let report = parity(&left, &right);
    let out = Command::new("python3")
        .args(["-c", ORACLE])
        .arg(fixtures().join("osv"))
        .arg(fixtures().join("ghsa"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "oracle (needs PyYAML: apt python3-yaml): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = ours(&report);
    assert_eq!(ours["counts"], expected["counts"]);
    assert_eq!(ours["onlyLeft"], expected["onlyLeft"]);
    assert_eq!(ours["onlyRight"], expected["onlyRight"]);
    let (a, b) = (
        ours["pairs"].as_array().unwrap(),
        expected["pairs"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a, b, "pair {}", a["leftIds"]);
    }
    assert!(ours.get("cappedLinks").is_none());
}

#[test]
fn hand_checked_facts() {
    let report = parity(&side("osv"), &side("ghsa"));
    let pair = |left_id: &str| {
        report
            .pairs
            .iter()
            .find(|p| p.left_ids == [left_id])
            .unwrap_or_else(|| panic!("no pair for {left_id}"))
    };
    assert_eq!(report.counts.left_records, 13);
    assert_eq!(report.counts.right_records, 12);
    assert_eq!(report.counts.pairs, 12);
    // PYSEC-2023-121 (zstd) aliases only CVE-2022-4899: no GHSA here.
    assert_eq!(report.only_left, ["PYSEC-2023-121"]);
    assert!(report.only_right.is_empty());

    // GHSA-28r2-q6m8-9hpx lists github.com/hashicorp/go-getter twice, the
    // second time `introduced: 2.0.0, fixed: 2.1.0`; GO-2022-0586 only
    // `introduced: 0, fixed: 1.6.1`.
    let go = pair("GO-2022-0586");
    assert_eq!(go.right_ids, ["GHSA-28r2-q6m8-9hpx"]);
    let getter = go
        .packages
        .iter()
        .find(|p| p.name == "github.com/hashicorp/go-getter")
        .unwrap();
    assert!(getter.ranges_only_left.is_empty());
    assert_eq!(getter.ranges_only_right.len(), 1);
    assert_eq!(getter.ranges_only_right[0].min.as_deref(), Some("2.0.0"));
    assert_eq!(getter.ranges_only_right[0].max.as_deref(), Some("2.1.0"));
    let fixed = getter.fixed.as_ref().unwrap();
    assert_eq!(fixed.left, ["1.6.1"]);
    assert_eq!(fixed.right, ["1.6.1", "2.1.0"]);
    // GO-2022-0586 names three more CVEs and GHSAs than GHSA-28r2 does.
    assert!(go.aliases_only_left.contains(&"CVE-2022-26945".to_string()));
    // Go's record has no severity, GitHub's a CVSS 3.1 vector.
    let sev = go.severities.as_ref().unwrap();
    assert!(sev.left.is_empty());
    assert_eq!(
        sev.right[0].vector,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:H"
    );

    // PyPA calls the package `vantage6`, GitHub `vantage6-server`.
    let v6 = pair("PYSEC-2024-31");
    assert_eq!(v6.packages_only_left[0].name, "vantage6");
    assert_eq!(v6.packages_only_right[0].name, "vantage6-server");
    // …with the same CVSS vector on both sides.
    assert!(v6.severities.is_none());

    // RustSec: olm-sys `introduced: 0.0.0-0` and nothing after (all
    // versions); GitHub: `introduced: 0, last_affected: 1.3.2`.
    let olm = pair("RUSTSEC-2024-0368");
    let p = &olm.packages[0];
    assert_eq!(p.name, "olm-sys");
    assert_eq!(p.ranges_only_left[0].min, None);
    assert_eq!(p.ranges_only_left[0].max, None);
    assert_eq!(p.ranges_only_right[0].max.as_deref(), Some("1.3.2"));
    assert_eq!(p.ranges_only_right[0].max_inclusive, Some(true));
    assert!(p.fixed.is_none(), "neither side has a fixed version");

    // GitHub's `GitPython` is PyPA's `gitpython` (PEP 503), same range.
    let git = pair("PYSEC-2023-137");
    assert!(git.packages_only_left.is_empty() && git.packages.is_empty());

    // RUSTSEC-2020-0061 `introduced: 0.0.0-0, fixed: 0.3.5` is GitHub's
    // `introduced: 0, fixed: 0.3.5`, and both state the same CVSS vector:
    // the only difference is that GitHub does not name the RUSTSEC id.
    let futures = pair("RUSTSEC-2020-0061");
    assert_eq!(futures.aliases_only_left, ["RUSTSEC-2020-0061"]);
    assert_eq!(futures.differences, 1);
}

#[test]
fn the_report_does_not_depend_on_input_order() {
    let (mut left, mut right) = (side("osv"), side("ghsa"));
    let first = serde_json::to_string(&parity(&left, &right)).unwrap();
    left.reverse();
    right.rotate_left(5);
    let second = serde_json::to_string(&parity(&left, &right)).unwrap();
    assert_eq!(first, second);
}

#[test]
fn swapping_sides_mirrors_the_report() {
    let (left, right) = (side("osv"), side("ghsa"));
    let a = parity(&left, &right);
    let b = parity(&right, &left);
    assert_eq!(a.counts.pairs, b.counts.pairs);
    assert_eq!(a.only_left, b.only_right);
    assert_eq!(a.counts.ranges_only_left, b.counts.ranges_only_right);
    assert_eq!(a.counts.packages_only_right, b.counts.packages_only_left);
    assert_eq!(a.counts.severity_mismatches, b.counts.severity_mismatches);
}
