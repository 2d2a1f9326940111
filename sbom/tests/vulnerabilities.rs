//! The CycloneDX `vulnerabilities` section: findings built from real OSV
//! records, written into the SBOM of an inventory that holds their
//! components, checked with the official CycloneDX 1.6 schema
//! (tests/validate.py) and field by field with Python's json module and
//! Red Hat's `cvss` (tests/vulnerabilities_oracle.py).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use stella_feeds::connector::osv::{self, Encoding};
use stella_model::{
    AffectedStatus, Component, ComponentKind, Finding, FindingComponent, FindingSeverity,
    Inventory, MatchRule, Purl, RangeEvent, Rating, SourcePackage, VexDecision, VexState,
};
use stella_sbom::{cyclonedx_json, cyclonedx_json_with_findings, SbomError};

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn run_python(script: &str, args: &[&Path]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let out = Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {} ({e}); install Python 3", script.display()));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn validate_cyclonedx(path: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py");
    let out = Command::new(python())
        .arg(&script)
        .arg("cyclonedx")
        .arg(path)
        .output()
        .expect("run validate.py");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An installed component and the advisory that hits it.
struct Case {
    file: &'static str,
    ecosystem: &'static str,
    package: &'static str,
    component: Component,
    fixed: &'static str,
    vex: Option<(VexState, &'static str)>,
}

fn component(
    kind: ComponentKind,
    name: &str,
    version: &str,
    purl: Option<Purl>,
    layer: u32,
    evidence: &str,
) -> Component {
    let mut c = Component::new(kind, name, version);
    c.purl = purl;
    c.layer = Some(layer);
    c.layer_diff_id = Some(common::digest(&format!("diff{layer}")));
    c.evidence = vec![evidence.to_string()];
    c
}

fn pypi(name: &str, version: &str, layer: u32, evidence: &str) -> Component {
    let purl = Purl::new("pypi", name).with_version(version);
    component(
        ComponentKind::Pypi,
        name,
        version,
        Some(purl),
        layer,
        evidence,
    )
}

fn cases() -> Vec<Case> {
    let mut bsdtar = component(
        ComponentKind::Rpm,
        "bsdtar",
        "3.5.3-1.el9",
        Some(
            Purl::new("rpm", "bsdtar")
                .with_namespace("almalinux")
                .with_version("3.5.3-1.el9")
                .with_qualifier("arch", "x86_64"),
        ),
        0,
        "var/lib/rpm/rpmdb.sqlite",
    );
    bsdtar.arch = Some("x86_64".into());
    bsdtar.source = Some(SourcePackage {
        name: "libarchive".into(),
        version: "3.5.3-1.el9".into(),
    });
    vec![
        Case {
            file: "PYSEC-2021-108.yaml",
            ecosystem: "PyPI",
            package: "urllib3",
            component: pypi(
                "urllib3",
                "1.26.4",
                1,
                "usr/lib/python3/dist-packages/urllib3-1.26.4.dist-info/METADATA",
            ),
            fixed: "1.26.5",
            vex: None,
        },
        // The same package in a second place: a second vulnerability entry
        // pointing at the second component.
        Case {
            file: "PYSEC-2021-108.yaml",
            ecosystem: "PyPI",
            package: "urllib3",
            component: pypi(
                "urllib3",
                "1.26.4",
                2,
                "opt/venv/lib/python3.11/site-packages/urllib3-1.26.4.dist-info/METADATA",
            ),
            fixed: "1.26.5",
            vex: Some((VexState::Fixed, "")),
        },
        Case {
            file: "PYSEC-2023-74.yaml",
            ecosystem: "PyPI",
            package: "requests",
            component: pypi(
                "requests",
                "2.25.0",
                2,
                "opt/venv/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA",
            ),
            fixed: "2.31.0",
            vex: Some((VexState::NotAffected, "vulnerable_code_not_in_execute_path")),
        },
        Case {
            file: "RUSTSEC-2019-0009.json",
            ecosystem: "crates.io",
            package: "smallvec",
            component: component(
                ComponentKind::Cargo,
                "smallvec",
                "0.6.9",
                Some(Purl::new("cargo", "smallvec").with_version("0.6.9")),
                3,
                "usr/local/bin/server",
            ),
            fixed: "0.6.10",
            vex: Some((
                VexState::NotAffected,
                "vulnerable_code_cannot_be_controlled_by_adversary",
            )),
        },
        Case {
            file: "RUSTSEC-2026-0009.json",
            ecosystem: "crates.io",
            package: "time",
            component: component(
                ComponentKind::Cargo,
                "time",
                "0.3.44",
                Some(Purl::new("cargo", "time").with_version("0.3.44")),
                3,
                "usr/local/bin/server",
            ),
            fixed: "0.3.47",
            vex: Some((VexState::UnderInvestigation, "")),
        },
        Case {
            file: "GO-2026-6090.json",
            ecosystem: "Go",
            package: "stdlib",
            component: component(
                ComponentKind::Golang,
                "stdlib",
                "1.25.5",
                Some(Purl::new("golang", "stdlib").with_version("1.25.5")),
                3,
                "usr/bin/helper",
            ),
            fixed: "1.25.13",
            vex: Some((VexState::Affected, "")),
        },
        Case {
            file: "ALSA-2022-5252.json",
            ecosystem: "AlmaLinux:9",
            package: "bsdtar",
            component: bsdtar,
            fixed: "3.5.3-2.el9_0",
            vex: None,
        },
    ]
}

fn inventory(cases: &[Case]) -> Inventory {
    let mut inv = common::empty();
    inv.image.source = "oci-dir:/tmp/app:latest".into();
    inv.image.manifest_digest = Some(common::digest("app-manifest"));
    inv.components = cases.iter().map(|c| c.component.clone()).collect();
    // A component no finding is about.
    inv.components.push(pypi(
        "idna",
        "3.4",
        1,
        "usr/lib/python3/dist-packages/idna-3.4.dist-info/METADATA",
    ));
    inv
}

fn finding(c: &Case) -> Finding {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vulnerabilities/osv")
        .join(c.file);
    let bytes = std::fs::read(&path).expect("read fixture");
    let adv =
        osv::parse(&bytes, Encoding::of_path(c.file).expect("encoding"), "osv").expect("parse OSV");
    // The case must agree with the record.
    let affected = adv
        .affected
        .iter()
        .find(|a| a.name == c.package && a.ecosystem == c.ecosystem)
        .expect("advisory names the package");
    assert!(
        affected
            .ranges
            .iter()
            .flat_map(|r| &r.events)
            .any(|e| *e == RangeEvent::Fixed(c.fixed.to_string())),
        "{}: {} is not a fixed version",
        adv.id,
        c.fixed
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
    let comp = &c.component;
    let by_source = comp.source.is_some();
    Finding {
        id: adv.id.clone(),
        aliases: adv.aliases.clone(),
        summary: adv.summary.clone(),
        component: FindingComponent {
            kind: comp.kind,
            name: comp.name.clone(),
            version: comp.version.clone(),
            purl: comp.purl.as_ref().map(ToString::to_string),
            source_name: comp.source.as_ref().map(|s| s.name.clone()),
            source_version: comp.source.as_ref().map(|s| s.version.clone()),
            layer: comp.layer,
            layer_diff_id: comp.layer_diff_id.clone(),
            evidence: comp.evidence.clone(),
            licenses: Vec::new(),
        }
        .into(),
        installed_version: comp
            .source
            .as_ref()
            .map(|s| s.version.clone())
            .unwrap_or_else(|| comp.version.clone()),
        fixed_version: Some(c.fixed.to_string()),
        status: AffectedStatus::Affected,
        severity: severities.first().cloned(),
        severities,
        matched_by: MatchRule {
            ecosystem: c.ecosystem.into(),
            package: c.package.into(),
            key: if by_source {
                "source-package"
            } else {
                "package"
            }
            .into(),
            scheme: "test".into(),
            rule: format!("<{}", c.fixed),
            sources: vec!["osv".into()],
        },
        published: adv.published.clone(),
        modified: adv.modified.clone(),
        references: adv.references.iter().map(|r| r.url.clone()).collect(),
        vex: c.vex.map(|(state, j)| VexDecision {
            state,
            justification: (!j.is_empty()).then(|| j.to_string()),
            impact_statement: None,
            document: common::digest("vex").to_string(),
            format: "openvex".into(),
        }),
    }
}

/// The oracle's EXPECTED list, from the inputs (not from the SBOM).
fn expected(findings: &[Finding]) -> String {
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
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
                "aliases": f.aliases,
                "purl": f.component.purl,
                "evidence": f.component.evidence.first(),
                "version": f.component.version,
                "fixed": f.fixed_version,
                "summary": f.summary,
                "published": f.published,
                "vex": f.vex.as_ref().map(|v| serde_json::to_value(v.state).unwrap_or_default()),
                "justification": f.vex.as_ref().and_then(|v| v.justification.clone()),
                "vectors": vectors,
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn vulnerabilities_validate_and_carry_every_finding() {
    let cases = cases();
    let inv = inventory(&cases);
    let findings: Vec<Finding> = cases.iter().map(finding).collect();
    let bom = cyclonedx_json_with_findings(&inv, &common::opts(), &findings).expect("bom");
    let dir = tempfile::tempdir().expect("tempdir");
    let bom_path = write(dir.path(), "bom.cdx.json", &bom);
    let (ok, out) = validate_cyclonedx(&bom_path);
    assert!(ok, "CycloneDX 1.6 schema rejected the BOM:\n{out}");
    let exp = write(dir.path(), "expected.json", expected(&findings).as_bytes());
    let (ok, out) = run_python("vulnerabilities_oracle.py", &[&bom_path, &exp]);
    assert!(ok, "vulnerabilities_oracle.py:\n{out}");
}

#[test]
fn schema_validator_rejects_broken_vulnerabilities() {
    // The schema check above is only worth something if it can fail: each
    // of these copies breaks one rule of the vulnerability object.
    let cases = cases();
    let inv = inventory(&cases);
    let findings: Vec<Finding> = cases.iter().map(finding).collect();
    let bom = cyclonedx_json_with_findings(&inv, &common::opts(), &findings).expect("bom");
    let doc: serde_json::Value = serde_json::from_slice(&bom).expect("json");
    let dir = tempfile::tempdir().expect("tempdir");
    type Mutation = fn(&mut serde_json::Value);
    let mutations: [(&str, Mutation); 5] = [
        ("affects without ref", |d| {
            d["vulnerabilities"][0]["affects"][0]
                .as_object_mut()
                .map(|o| o.remove("ref"));
        }),
        ("analysis state not in the enum", |d| {
            let v = d["vulnerabilities"]
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|v| v.get("analysis").is_some()));
            if let Some(v) = v {
                v["analysis"]["state"] = "maybe".into();
            }
        }),
        ("rating method not in the enum", |d| {
            let v = d["vulnerabilities"]
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|v| v.get("ratings").is_some()));
            if let Some(v) = v {
                v["ratings"][0]["method"] = "CVSSv5".into();
            }
        }),
        ("unknown field", |d| {
            d["vulnerabilities"][0]["severity"] = "high".into();
        }),
        ("published not a date-time", |d| {
            d["vulnerabilities"][0]["published"] = "yesterday".into();
        }),
    ];
    for (name, mutate) in mutations {
        let mut broken = doc.clone();
        mutate(&mut broken);
        assert_ne!(broken, doc, "{name}: mutation did not apply");
        let path = write(
            dir.path(),
            "broken.cdx.json",
            &serde_json::to_vec_pretty(&broken).expect("json"),
        );
        let (ok, out) = validate_cyclonedx(&path);
        assert!(!ok, "validator accepted a BOM with {name}:\n{out}");
    }
}

#[test]
fn no_findings_keeps_the_bytes() {
    for (name, inv) in common::all() {
        let plain = cyclonedx_json(&inv, &common::opts()).expect("plain");
        let with = cyclonedx_json_with_findings(&inv, &common::opts(), &[]).expect("with");
        assert_eq!(
            plain, with,
            "{name}: an empty findings list changed the SBOM"
        );
        assert!(!String::from_utf8_lossy(&with).contains("\"vulnerabilities\""));
    }
}

#[test]
fn vulnerabilities_are_deterministic() {
    let cases = cases();
    let inv = inventory(&cases);
    let findings: Vec<Finding> = cases.iter().map(finding).collect();
    let a = cyclonedx_json_with_findings(&inv, &common::opts(), &findings).expect("a");
    let b = cyclonedx_json_with_findings(&inv, &common::opts(), &findings).expect("b");
    assert_eq!(a, b);
    let mut reversed = findings.clone();
    reversed.reverse();
    let c = cyclonedx_json_with_findings(&inv, &common::opts(), &reversed).expect("c");
    assert_eq!(a, c, "finding order changed the bytes");
}

#[test]
fn finding_for_a_missing_component_is_an_error() {
    let cases = cases();
    let inv = inventory(&cases[1..]);
    let findings = vec![finding(&cases[3]), finding(&cases[0])];
    // cases[0] (urllib3 in layer 1) is gone, but urllib3 1.26.4 is still
    // there in layer 2: the match falls back to it (same purl), which is
    // right for one package seen twice. Remove every urllib3 to see the
    // error.
    assert!(cyclonedx_json_with_findings(&inv, &common::opts(), &findings).is_ok());
    let mut inv = inv;
    inv.components.retain(|c| c.name != "urllib3");
    match cyclonedx_json_with_findings(&inv, &common::opts(), &findings) {
        Err(SbomError::UnknownComponent { finding, component }) => {
            assert_eq!(finding, "PYSEC-2021-108");
            assert_eq!(component, "pkg:pypi/urllib3@1.26.4");
        }
        other => panic!("expected UnknownComponent, got {other:?}"),
    }
}
