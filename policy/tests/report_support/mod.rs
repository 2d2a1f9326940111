//! Findings built from real advisories (policy/tests/fixtures/report/osv,
//! parsed by the feeds OSV connector) for the report tests, plus the
//! Python runner the oracles need.
//!
//! The reports only format, so the findings are made here by hand: each
//! case names an installed component and the fixed version, and the helper
//! checks the advisory really names that package and fixed version, so the
//! test data cannot drift from the records.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stella_feeds::connector::osv::{self, Encoding};
use stella_model::{
    Advisory, AffectedStatus, ArtifactRef, ComponentKind, Digest, Finding, FindingComponent,
    FindingSeverity, MatchRule, Outcome, RangeEvent, Rating, SeverityKind, Verdict, VerdictReason,
    VexDecision, VexState, VERDICT_SCHEMA,
};
use stella_policy::report::FindingsDocument;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report")
}

pub fn digest(seed: &str) -> Digest {
    Digest::sha256_of(seed.as_bytes())
}

pub fn advisory(file: &str, source: &str) -> Advisory {
    let path = fixtures().join("osv").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let enc = Encoding::of_path(file).expect("fixture encoding");
    osv::parse(&bytes, enc, source).unwrap_or_else(|e| panic!("parse {file}: {e}"))
}

/// One installed component an advisory hits.
#[derive(Clone, Copy)]
pub struct Case {
    pub file: &'static str,
    pub source: &'static str,
    pub kind: ComponentKind,
    pub ecosystem: &'static str,
    pub package: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    pub purl: Option<&'static str>,
    pub source_package: Option<(&'static str, &'static str)>,
    pub fixed: &'static str,
    pub scheme: &'static str,
    pub evidence: Option<&'static str>,
    pub layer: Option<u32>,
    pub diff_id: bool,
    pub vex: Option<VexState>,
}

pub fn cases() -> Vec<Case> {
    let base = Case {
        file: "",
        source: "",
        kind: ComponentKind::Pypi,
        ecosystem: "PyPI",
        package: "",
        name: "",
        version: "",
        purl: None,
        source_package: None,
        fixed: "",
        scheme: "pypi",
        evidence: None,
        layer: None,
        diff_id: true,
        vex: None,
    };
    vec![
        Case {
            file: "PYSEC-2021-108.yaml",
            source: "osv:pypa",
            package: "urllib3",
            name: "urllib3",
            version: "1.26.4",
            purl: Some("pkg:pypi/urllib3@1.26.4"),
            fixed: "1.26.5",
            evidence: Some("usr/lib/python3/dist-packages/urllib3-1.26.4.dist-info/METADATA"),
            layer: Some(2),
            ..base
        },
        // The same advisory and package in a second virtualenv: one SARIF
        // rule, two results; two CycloneDX vulnerabilities.
        Case {
            file: "PYSEC-2021-108.yaml",
            source: "osv:pypa",
            package: "urllib3",
            name: "urllib3",
            version: "1.26.4",
            purl: Some("pkg:pypi/urllib3@1.26.4"),
            fixed: "1.26.5",
            evidence: Some(
                "opt/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA",
            ),
            layer: Some(3),
            ..base
        },
        Case {
            file: "PYSEC-2023-74.yaml",
            source: "osv:pypa",
            package: "requests",
            name: "requests",
            version: "2.25.0",
            purl: Some("pkg:pypi/requests@2.25.0"),
            fixed: "2.31.0",
            evidence: Some(
                "opt/venv/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA",
            ),
            layer: Some(3),
            vex: Some(VexState::NotAffected),
            ..base
        },
        Case {
            file: "RUSTSEC-2019-0009.json",
            source: "osv:rustsec",
            kind: ComponentKind::Cargo,
            ecosystem: "crates.io",
            package: "smallvec",
            name: "smallvec",
            version: "0.6.9",
            purl: Some("pkg:cargo/smallvec@0.6.9"),
            fixed: "0.6.10",
            scheme: "semver",
            evidence: Some("usr/local/bin/server"),
            layer: Some(4),
            ..base
        },
        Case {
            file: "RUSTSEC-2019-0003.json",
            source: "osv:rustsec",
            kind: ComponentKind::Cargo,
            ecosystem: "crates.io",
            package: "protobuf",
            name: "protobuf",
            version: "2.5.0",
            purl: Some("pkg:cargo/protobuf@2.5.0"),
            fixed: "2.6.0",
            scheme: "semver",
            evidence: Some("usr/local/bin/server"),
            layer: Some(4),
            vex: Some(VexState::UnderInvestigation),
            ..base
        },
        Case {
            file: "RUSTSEC-2016-0002.json",
            source: "osv:rustsec",
            kind: ComponentKind::Cargo,
            ecosystem: "crates.io",
            package: "hyper",
            name: "hyper",
            version: "0.9.3",
            purl: Some("pkg:cargo/hyper@0.9.3"),
            fixed: "0.9.4",
            scheme: "semver",
            evidence: Some("usr/local/bin/server"),
            layer: Some(4),
            vex: Some(VexState::Fixed),
            ..base
        },
        Case {
            file: "RUSTSEC-2026-0009.json",
            source: "osv:rustsec",
            kind: ComponentKind::Cargo,
            ecosystem: "crates.io",
            package: "time",
            name: "time",
            version: "0.3.44",
            purl: Some("pkg:cargo/time@0.3.44"),
            fixed: "0.3.47",
            scheme: "semver",
            evidence: Some("usr/local/bin/server"),
            layer: Some(4),
            ..base
        },
        Case {
            file: "GO-2026-6090.json",
            source: "osv:go",
            kind: ComponentKind::Golang,
            ecosystem: "Go",
            package: "stdlib",
            name: "stdlib",
            version: "1.25.5",
            purl: Some("pkg:golang/stdlib@1.25.5"),
            fixed: "1.25.13",
            scheme: "semver",
            evidence: Some("usr/bin/helper"),
            layer: Some(1),
            ..base
        },
        // Matched by source package; the layer has no diffID (dir: scan).
        Case {
            file: "ALSA-2022-5252.json",
            source: "osv:almalinux",
            kind: ComponentKind::Rpm,
            ecosystem: "AlmaLinux:9",
            package: "bsdtar",
            name: "bsdtar",
            version: "3.5.3-1.el9",
            purl: Some("pkg:rpm/almalinux/bsdtar@3.5.3-1.el9?arch=x86_64&distro=almalinux-9.0"),
            source_package: Some(("libarchive", "3.5.3-1.el9")),
            fixed: "3.5.3-2.el9_0",
            scheme: "rpm",
            evidence: Some("var/lib/rpm/rpmdb.sqlite"),
            layer: Some(0),
            diff_id: false,
            ..base
        },
        // A path that needs percent-encoding in a URI, and no purl.
        Case {
            file: "DHI-python-CVE-2021-4189.json",
            source: "osv:dhi",
            kind: ComponentKind::Deb,
            ecosystem: "DHI",
            package: "python",
            name: "python",
            version: "3.9.2",
            purl: None,
            fixed: "3.9.3",
            scheme: "semver",
            evidence: Some("opt/My App#1/python 3.9/VERSION"),
            layer: None,
            diff_id: false,
            ..base
        },
    ]
}

pub fn finding(c: &Case) -> Finding {
    let adv = advisory(c.file, c.source);
    // The case must agree with the record: the package is named and the
    // fixed version is one of its `fixed` events.
    let affected = adv
        .affected
        .iter()
        .find(|a| a.name == c.package && a.ecosystem == c.ecosystem)
        .unwrap_or_else(|| panic!("{}: no affected {}/{}", adv.id, c.ecosystem, c.package));
    let fixed_events: Vec<&String> = affected
        .ranges
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| match e {
            RangeEvent::Fixed(v) => Some(v),
            _ => None,
        })
        .collect();
    assert!(
        fixed_events.iter().any(|v| v.as_str() == c.fixed),
        "{}: {} is not a fixed event of {} ({fixed_events:?})",
        adv.id,
        c.fixed,
        c.package
    );

    let severities: Vec<FindingSeverity> = adv
        .severities
        .iter()
        .map(|s| FindingSeverity {
            source: s.source.clone(),
            kind: s.kind,
            vector: s.vector.clone(),
            base_score: s.base_score,
            rating: s.base_score.map(Rating::from_score).unwrap_or_default(),
        })
        .collect();
    let severity = severities
        .iter()
        .filter(|s| s.kind != SeverityKind::Other)
        .max_by(|a, b| {
            a.base_score
                .partial_cmp(&b.base_score)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .cloned();
    let installed = c.source_package.map(|(_, v)| v).unwrap_or(c.version);
    Finding {
        id: adv.id.clone(),
        aliases: adv.aliases.clone(),
        summary: adv.summary.clone().or(adv.details.clone()),
        component: FindingComponent {
            kind: c.kind,
            name: c.name.to_string(),
            version: c.version.to_string(),
            purl: c.purl.map(str::to_string),
            source_name: c.source_package.map(|(n, _)| n.to_string()),
            source_version: c.source_package.map(|(_, v)| v.to_string()),
            layer: c.layer,
            layer_diff_id: (c.diff_id && c.layer.is_some())
                .then(|| digest(&format!("diff{}", c.layer.unwrap_or(0)))),
            evidence: c.evidence.iter().map(|s| s.to_string()).collect(),
            licenses: Vec::new(),
        }
        .into(),
        installed_version: installed.to_string(),
        fixed_version: Some(c.fixed.to_string()),
        status: AffectedStatus::Affected,
        severity,
        severities,
        matched_by: MatchRule {
            ecosystem: c.ecosystem.to_string(),
            package: c.package.to_string(),
            key: if c.source_package.is_some() {
                "source-package".into()
            } else {
                "package".into()
            },
            scheme: c.scheme.to_string(),
            rule: format!("<{}", c.fixed),
            sources: vec![c.source.to_string()],
        },
        published: adv.published.clone(),
        modified: adv.modified.clone(),
        references: {
            let mut r: Vec<String> = adv.references.iter().map(|r| r.url.clone()).collect();
            r.sort();
            r.dedup();
            r.into()
        },
        vex: c.vex.map(|state| VexDecision {
            state,
            justification: (state == VexState::NotAffected)
                .then(|| "vulnerable_code_not_in_execute_path".to_string()),
            impact_statement: (state == VexState::NotAffected)
                .then(|| "proxies are never configured".to_string()),
            document: digest("vex-doc").to_string(),
            format: "openvex".to_string(),
        }),
    }
}

pub fn findings() -> Vec<Finding> {
    cases().iter().map(finding).collect()
}

pub fn feeds() -> ArtifactRef {
    ArtifactRef {
        name: "oci-dir:/tmp/feeds:latest".into(),
        digest: digest("feeds"),
    }
}

pub fn verdict() -> Verdict {
    Verdict {
        schema: VERDICT_SCHEMA.to_string(),
        outcome: Outcome::Fail,
        subject: Some(digest("manifest")),
        policy: ArtifactRef {
            name: "policy.yaml".into(),
            digest: digest("policy"),
        },
        feeds: feeds(),
        vex: vec![ArtifactRef {
            name: "vex.json".into(),
            digest: digest("vex-doc"),
        }],
        evaluated_at: "2026-01-02T03:04:05Z".into(),
        reasons: vec![
            VerdictReason {
                rule: "no-critical".into(),
                action: Outcome::Fail,
                finding: Some("RUSTSEC-2019-0009".into()),
                component: "pkg:cargo/smallvec@0.6.9".into(),
                message: "severity critical (9.8) ≥ critical".into(),
                exception: None,
            },
            VerdictReason {
                rule: "deny-licenses".into(),
                action: Outcome::Warn,
                finding: None,
                component: "pkg:pypi/urllib3@1.26.4".into(),
                message: "license MIT is not in the allow list".into(),
                exception: None,
            },
        ],
        waived: vec![VerdictReason {
            rule: "no-high".into(),
            action: Outcome::Fail,
            finding: Some("GHSA-xxxx".into()),
            component: "pkg:pypi/x@1".into(),
            message: "severity high".into(),
            exception: Some("EX-1 until 2027-01-01".into()),
        }],
    }
}

pub fn document(findings: Vec<Finding>, with_verdict: bool) -> FindingsDocument {
    let mut doc = FindingsDocument::new("oci-dir:/tmp/image:latest", feeds(), findings);
    doc.subject = Some(digest("manifest"));
    if with_verdict {
        doc.verdict = Some(verdict());
    }
    doc
}

pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs `policy/tests/report_oracle.py ARGS…`; panics with its output when
/// it fails. Missing Python modules are a failure: CI installs them.
pub fn oracle(args: &[&std::ffi::OsStr]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_oracle.py");
    let out = Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {} ({e}); install Python 3", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "report_oracle.py {:?} failed:\n{stdout}{}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The input findings as the oracle's EXPECTED list (see
/// report_oracle.py), computed from the findings, not from any report.
pub fn expected_json(findings: &[Finding]) -> String {
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let c = &f.component;
            let label = c
                .purl
                .clone()
                .unwrap_or_else(|| format!("{}:{}@{}", c.kind.as_str(), c.name, c.version));
            let layer = match (&c.layer_diff_id, c.layer) {
                (Some(d), _) => Some(d.hex()[..12].to_string()),
                (None, Some(i)) => Some(format!("#{i}")),
                _ => None,
            };
            let vectors: Vec<(serde_json::Value, String)> = f
                .severities
                .iter()
                .map(|s| {
                    (
                        serde_json::to_value(s.kind).unwrap_or_default(),
                        s.vector.clone(),
                    )
                })
                .collect();
            serde_json::json!({
                "id": f.id,
                "purl": c.purl,
                "label": label,
                "kind": c.kind.as_str(),
                "name": c.name,
                "version": c.version,
                "installed": f.installed_version,
                "fixed": f.fixed_version,
                "evidence": c.evidence.first(),
                "layer": layer,
                "rating": f.severity.as_ref().map(|s| s.rating.as_str()).unwrap_or("unknown"),
                "vex": f.vex.as_ref().map(|v| serde_json::to_value(v.state).unwrap_or_default()),
                "vectors": vectors,
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}
