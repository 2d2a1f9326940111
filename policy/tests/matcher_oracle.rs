//! The matcher's range membership against independent oracles, record by
//! record (advisories not merged, so ids are the records'):
//!
//! - PyPI: tests/matcher_support/osv_pypi_affected.py — OSV's evaluation written
//!   over Python `packaging` (PEP 440 `Version`) reading the YAML with
//!   PyYAML, for every version named in the records and a few more;
//! - Debian: every resolved entry of the tracker fixtures, against dpkg's
//!   own `Dpkg::Version::version_compare` (libdpkg-perl);
//! - rpm: AlmaLinux's openssl advisory against rpm's `rpm.vercmp`.

mod matcher_support;

use std::collections::{BTreeMap, BTreeSet};

use matcher_support::*;
use serde_json::Value;
use stella_feeds::connector::{self, SourceKind};
use stella_model::{ComponentKind, Inventory};
use stella_policy::matcher::{match_inventory, MatchOptions, MatchReport};

fn run(inv: &Inventory, source: &MemSource) -> MatchReport {
    match_inventory(inv, source, &MatchOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// (component name, version) → the advisory ids found for it.
fn found(report: &MatchReport) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in &report.findings {
        out.entry((f.component.name.clone(), f.component.version.clone()))
            .or_default()
            .insert(f.id.clone());
    }
    out
}

#[test]
fn pypi_ranges_agree_with_python_packaging() {
    let import = connector::import(SourceKind::Osv, &fixture("osv-pypi"), "osv:pypa")
        .unwrap_or_else(|e| panic!("{e}"));
    let source = MemSource::new(import.advisories.clone());

    // Every version the records name (listed, or as a range bound), and a
    // few around the labeled ones.
    let mut queries: BTreeSet<(String, String)> = BTreeSet::new();
    for advisory in &import.advisories {
        for a in &advisory.affected {
            let mut versions: Vec<String> = a.versions.clone();
            for r in &a.ranges {
                for e in &r.events {
                    let (stella_model::RangeEvent::Introduced(v)
                    | stella_model::RangeEvent::Fixed(v)
                    | stella_model::RangeEvent::LastAffected(v)
                    | stella_model::RangeEvent::Limit(v)) = e;
                    versions.push(v.clone());
                }
            }
            for v in versions {
                queries.insert((a.name.clone(), v));
            }
        }
    }
    for (name, v) in [
        ("requests", "2.25.0"),
        ("requests", "2.31.0rc1"),
        ("requests", "2.30.0.post1"),
        ("urllib3", "1.26.4"),
        ("urllib3", "1.26.18.dev0"),
        ("urllib3", "2.0.6"),
        ("Jinja2", "2.11.2"),
        ("jinja2", "3.1.4"),
        ("PyYAML", "5.3.1"),
        ("PyYAML", "5.4b1"),
        ("py", "1.11.0"),
        ("py", "1.11.1"),
        ("redis", "4.5.0"),
    ] {
        queries.insert((name.to_string(), v.to_string()));
    }
    let queries: Vec<(String, String)> = queries.into_iter().collect();
    let records: Vec<String> = walk(&fixture("osv-pypi"));
    let request = serde_json::json!({"records": records, "queries": queries});
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/matcher_support/osv_pypi_affected.py");
    let Some(out) = oracle(
        "python3",
        &[script.to_str().unwrap_or_default()],
        Some(&request.to_string()),
    ) else {
        return;
    };
    let answers: Vec<(String, String, Option<Vec<String>>)> =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("oracle output: {e}: {out}"));
    assert_eq!(answers.len(), queries.len());

    let components = queries
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            component(ComponentKind::Pypi, name, v, &format!("site/{i}/METADATA"))
        })
        .collect();
    let report = run(&inventory(None, components), &source);
    let ours = found(&report);
    let mut compared = 0;
    let mut affected = 0;
    for (name, v, expected) in answers {
        let got = ours
            .get(&(name.clone(), v.clone()))
            .cloned()
            .unwrap_or_default();
        match expected {
            Some(ids) => {
                let ids: BTreeSet<String> = ids.into_iter().collect();
                assert_eq!(got, ids, "{name} {v}");
                compared += 1;
                affected += usize::from(!ids.is_empty());
            }
            None => {
                assert!(
                    got.is_empty(),
                    "{name} {v}: packaging cannot read it, we found {got:?}"
                );
            }
        }
    }
    assert!(compared > 300, "only {compared} versions compared");
    assert!(
        affected > 100 && affected < compared,
        "{affected} of {compared} affected"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Release codenames of the fixtures and their numbers.
const RELEASES: [(&str, &str); 6] = [
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
];

#[test]
fn debian_tracker_entries_agree_with_dpkg() {
    let import = connector::import(
        SourceKind::DebianTracker,
        &fixture("debian-tracker"),
        "debian-tracker",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let source = MemSource::new(import.advisories);

    // (release number, package) → (CVE → tracker entry), read here from
    // the raw JSON.
    let mut entries: BTreeMap<(String, String), BTreeMap<String, Value>> = BTreeMap::new();
    for file in ["vunnel-debian.json", "stella-matcher.json"] {
        let path = fixture(&format!("debian-tracker/{file}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let dump: BTreeMap<String, BTreeMap<String, Value>> =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (package, cves) in dump {
            for (cve, entry) in cves {
                for (codename, release) in entry["releases"].as_object().into_iter().flatten() {
                    if let Some((_, number)) = RELEASES.iter().find(|(c, _)| c == codename) {
                        entries
                            .entry((number.to_string(), package.clone()))
                            .or_default()
                            .insert(cve.clone(), release.clone());
                    }
                }
            }
        }
    }

    let mut checked = 0;
    for ((number, package), cves) in &entries {
        // Versions around every fixed version of the package in this release.
        let mut versions: BTreeSet<String> = BTreeSet::new();
        for release in cves.values() {
            for v in release["repositories"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v.as_str())
            {
                versions.insert(v.to_string());
            }
            if let Some(fixed) = release["fixed_version"]
                .as_str()
                .filter(|f| !f.is_empty() && *f != "0")
            {
                let bare = fixed.split_once(':').map_or(fixed, |(_, rest)| rest);
                for v in [
                    fixed.to_string(),
                    format!("{fixed}~1"),
                    format!("{fixed}+b1"),
                    format!("{bare}~bpo1"),
                    format!("1:{bare}"),
                    format!("0:{bare}"),
                ] {
                    versions.insert(v);
                }
            }
        }
        let versions: Vec<String> = versions.into_iter().collect();
        let components = versions
            .iter()
            .map(|v| deb(package, v, package, v))
            .collect();
        let report = run(
            &inventory(Some(distro("debian", number)), components),
            &source,
        );
        let ours = found(&report);

        let mut pairs: Vec<(String, String)> = Vec::new();
        for v in &versions {
            for release in cves.values() {
                if let Some(fixed) = release["fixed_version"]
                    .as_str()
                    .filter(|f| !f.is_empty() && *f != "0")
                {
                    pairs.push((v.clone(), fixed.to_string()));
                }
            }
        }
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let Some(signs) = dpkg_compare(&refs) else {
            return;
        };
        let below: BTreeMap<(String, String), bool> = pairs
            .into_iter()
            .zip(signs)
            .map(|(pair, sign)| (pair, sign < 0))
            .collect();
        for v in &versions {
            let expected: BTreeSet<String> = cves
                .iter()
                .filter(|(_, release)| {
                    let status = release["status"].as_str().unwrap_or_default();
                    let fixed = release["fixed_version"].as_str().unwrap_or_default();
                    match status {
                        "resolved" if fixed == "0" => false,
                        "resolved" => below[&(v.clone(), fixed.to_string())],
                        _ => true, // open (every version) or undetermined
                    }
                })
                .map(|(cve, _)| cve.clone())
                .collect();
            let got = ours
                .get(&(package.clone(), v.clone()))
                .cloned()
                .unwrap_or_default();
            assert_eq!(got, expected, "Debian {number} {package} {v}");
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn almalinux_entries_agree_with_rpm() {
    let import = connector::import(SourceKind::Osv, &fixture("osv-almalinux9"), "osv:almalinux")
        .unwrap_or_else(|e| panic!("{e}"));
    let source = MemSource::new(import.advisories);
    let fixed = "1:3.0.1-41.el9_0";
    let evrs = [
        "1:3.0.1-41.el9_0",
        "1:3.0.1-40.el9_0",
        "1:3.0.1-41.el9_0.1",
        "1:3.0.1-41.el9",
        "1:3.0.1~rc1-41.el9_0",
        "1:3.0.7-27.el9",
        "3.0.7-27.el9",
        "0:3.0.7-27.el9",
        "2:1.0-1.el9",
        "1:3.0.1-4.el9_0",
    ];
    let components = evrs
        .iter()
        .map(|evr| {
            let vr = evr.split_once(':').map_or(*evr, |(_, rest)| rest);
            rpm("openssl-libs", evr, &format!("openssl-{vr}.src.rpm"))
        })
        .collect();
    let report = run(
        &inventory(Some(distro("almalinux", "9.4")), components),
        &source,
    );
    let ours = found(&report);
    let pairs: Vec<(&str, &str)> = evrs.iter().map(|e| (*e, fixed)).collect();
    let Some(signs) = rpm_compare(&pairs) else {
        return;
    };
    assert_eq!(signs.len(), evrs.len());
    let mut affected = 0;
    for (evr, sign) in evrs.iter().zip(signs) {
        let got = ours
            .get(&("openssl-libs".to_string(), evr.to_string()))
            .cloned()
            .unwrap_or_default();
        let expected: BTreeSet<String> = if sign < 0 {
            affected += 1;
            ["ALSA-2022:6224".to_string()].into()
        } else {
            BTreeSet::new()
        };
        assert_eq!(
            got, expected,
            "openssl-libs {evr} vs {fixed}: rpm says {sign}"
        );
    }
    assert!(affected >= 3 && affected < evrs.len(), "{affected}");
}
