//! VEX documents onto findings. Every fixture in `fixtures/vex/` is a real
//! OpenVEX or CycloneDX document: the official schemas (OpenVEX 0.2.0 via
//! python-jsonschema, CycloneDX 1.4–1.6 via cyclonedx-python-lib) judge
//! each one, and the parser must agree with them. Each matching and
//! ordering rule has a test that fails without it.
//!
//! Needs Python with `cyclonedx-python-lib[validation]` (it brings
//! jsonschema); missing tooling is a failure, not a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest as _;
use stella_model::{
    AffectedStatus, ComponentKind, Digest, Finding, FindingComponent, MatchRule, VexState,
};
use stella_policy::vex::{self, VexDocument, VexError, VexFormat, WarningKind};

/// The image manifest the image fixtures name (`pkg:oci/app@sha256:…`).
const SUBJECT: &str = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";
const OTHER_IMAGE: &str = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

const DEB_QUALIFIERS: &str = "?arch=amd64&distro=debian-12";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vex")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn doc(name: &str) -> VexDocument {
    vex::parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn subject() -> Digest {
    SUBJECT.parse().unwrap()
}

fn finding(id: &str, aliases: &[&str], purl: &str) -> Finding {
    let (name, version) = purl
        .trim_start_matches("pkg:")
        .split('?')
        .next()
        .and_then(|p| p.rsplit('/').next())
        .and_then(|nv| nv.split_once('@'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .unwrap_or_default();
    let kind = if purl.starts_with("pkg:deb/") {
        ComponentKind::Deb
    } else if purl.starts_with("pkg:apk/") {
        ComponentKind::Apk
    } else if purl.starts_with("pkg:maven/") {
        ComponentKind::Maven
    } else {
        ComponentKind::Pypi
    };
    Finding {
        id: id.to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        summary: None,
        component: FindingComponent {
            kind,
            name,
            version: version.clone(),
            purl: Some(purl.to_string()),
            source_name: None,
            source_version: None,
            layer: None,
            layer_diff_id: None,
            evidence: Vec::new(),
            licenses: Vec::new(),
        }
        .into(),
        installed_version: version,
        fixed_version: None,
        status: AffectedStatus::Affected,
        severity: None,
        severities: Vec::new(),
        matched_by: MatchRule {
            ecosystem: "test".into(),
            package: "test".into(),
            key: "package".into(),
            scheme: "semver".into(),
            rule: "all versions".into(),
            sources: Vec::new(),
        },
        published: None,
        modified: None,
        references: Default::default(),
        vex: None,
    }
}

fn urllib3() -> Finding {
    finding(
        "CVE-2021-33503",
        &["GHSA-q2q7-5pp4-w6pg", "PYSEC-2021-108"],
        "pkg:pypi/urllib3@1.26.4",
    )
}

fn jinja2() -> Finding {
    finding(
        "CVE-2020-28493",
        &["GHSA-g3rq-g295-4j3m", "PYSEC-2021-66"],
        "pkg:pypi/jinja2@2.11.2",
    )
}

fn deb(id: &str, name: &str) -> Finding {
    finding(
        id,
        &[],
        &format!("pkg:deb/debian/{name}@3.0.11-1~deb12u2{DEB_QUALIFIERS}"),
    )
}

fn state(f: &Finding) -> Option<VexState> {
    f.vex.as_ref().map(|v| v.state)
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

// ------------------------------------------------------------ the oracle

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Fixtures the official schemas must reject (and why they exist).
const SCHEMA_INVALID: [&str; 3] = [
    // Three statements that break the spec; the parser skips exactly those.
    "bad-statements.openvex.json",
    // An unknown analysis.state; the parser skips that statement.
    "bad-state.cdx.json",
    // The draft form of the OpenVEX README, which 0.2.0 no longer allows
    // and the parser still reads.
    "draft-readme.openvex.json",
];

#[test]
fn every_fixture_is_what_the_official_schemas_say() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".openvex.json") || name.ends_with(".cdx.json")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_vex.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(fixtures().join("openvex_json_schema_0.2.0.json"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("run {} ({e}): install Python 3", python()));
    assert!(
        out.status.success(),
        "validate_vex.py failed (pip install 'cyclonedx-python-lib[validation]'):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: BTreeMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.len(), files.len());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let errors = &verdicts[&file.display().to_string()];
        let parsed =
            vex::parse(&std::fs::read(file).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        if SCHEMA_INVALID.contains(&name.as_str()) {
            assert!(!errors.is_empty(), "{name}: the schema accepts it");
            if name != "draft-readme.openvex.json" {
                assert!(parsed.has_invalid_statements(), "{name}: {parsed:?}");
            }
        } else {
            assert!(errors.is_empty(), "{name}: {errors:#?}");
            {
                assert!(
                    !parsed.has_invalid_statements(),
                    "{name}: the schema accepts what we skipped: {:?}",
                    parsed.warnings
                );
            }
        }
    }
}

#[test]
fn schema_rejections_match_the_statements_we_skip() {
    // bad-statements: the schema flags statements 1, 2 and 3.
    let d = doc("bad-statements.openvex.json");
    let rejected: Vec<usize> = d
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Invalid)
        .filter_map(|w| w.statement)
        .collect();
    assert_eq!(rejected, vec![1, 2, 3]);
    let text: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        text[0].contains("not_affected needs a justification or an impact_statement"),
        "{text:?}"
    );
    assert!(
        text[1].contains(r#"unknown status "unaffected""#),
        "{text:?}"
    );
    assert!(
        text[2].contains(r#"unknown justification "not_vulnerable""#),
        "{text:?}"
    );
    // The valid statement still applies; the skipped ones decide nothing.
    let mut findings = vec![
        jinja2(),
        urllib3(),
        deb("CVE-2023-0286", "openssl"),
        deb("CVE-2023-0286", "libssl3"),
    ];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::Fixed));
    assert_eq!(state(&findings[1]), None);
    assert_eq!(state(&findings[2]), None);
    assert_eq!(state(&findings[3]), None);
}

// ------------------------------------------------------------ matching

#[test]
fn a_statement_naming_an_alias_decides_the_finding() {
    let d = doc("alias.openvex.json");
    // urllib3: the finding's id is the CVE; the statement names only the GHSA.
    // jinja2: the statement's alias is a lowercase GHSA id, the finding's
    // alias the canonical spelling.
    // openssl: the statement writes "cve-2023-0286".
    let mut findings = vec![
        urllib3(),
        finding(
            "CVE-2020-28493",
            &["GHSA-g3rq-g295-4j3m"],
            "pkg:pypi/jinja2@2.11.2",
        ),
        deb("CVE-2023-0286", "openssl"),
    ];
    let report = vex::apply(&mut findings, std::slice::from_ref(&d), None);
    assert_eq!(report.decided, 3);
    let v = findings[0].vex.as_ref().unwrap();
    assert_eq!(v.state, VexState::NotAffected);
    assert_eq!(
        v.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert_eq!(v.format, "openvex");
    assert_eq!(v.document, d.digest.to_string());
    assert_eq!(state(&findings[1]), Some(VexState::Fixed));
    assert_eq!(state(&findings[2]), Some(VexState::UnderInvestigation));
    // An id that is neither the finding's nor an alias decides nothing.
    let mut other = vec![finding(
        "CVE-2021-99999",
        &["PYSEC-2021-108"],
        "pkg:pypi/urllib3@1.26.4",
    )];
    assert_eq!(vex::apply(&mut other, &[d], None).decided, 0);
}

#[test]
fn a_versionless_purl_covers_every_version() {
    let d = doc("versionless.openvex.json");
    let mut findings = vec![
        urllib3(),
        finding("CVE-2021-33503", &[], "pkg:pypi/urllib3@2.0.0"),
        // The statement names jinja2 2.11.3, not the installed 2.11.2.
        jinja2(),
    ];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));
    assert_eq!(state(&findings[1]), Some(VexState::NotAffected));
    assert_eq!(state(&findings[2]), None);
}

#[test]
fn qualifiers_count_only_when_the_statement_writes_them() {
    let d = doc("qualifiers.openvex.json");
    let mut findings = vec![
        deb("CVE-2023-0286", "openssl"),
        deb("CVE-2023-0286", "libssl3"),
        finding(
            "CVE-2023-0286",
            &[],
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12",
        ),
    ];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));
    assert_eq!(state(&findings[1]), None, "the statement is about arm64");
    assert_eq!(state(&findings[2]), Some(VexState::NotAffected));
}

#[test]
fn subcomponents_scope_an_image_statement() {
    let d = doc("image-subcomponents.openvex.json");
    let fresh = || {
        vec![
            deb("CVE-2023-0286", "openssl"),
            deb("CVE-2023-0286", "libssl3"),
        ]
    };
    let mut findings = fresh();
    vex::apply(&mut findings, std::slice::from_ref(&d), Some(&subject()));
    assert_eq!(state(&findings[0]), None, "openssl is not a subcomponent");
    assert_eq!(state(&findings[1]), Some(VexState::NotAffected));
    // Another image: the statement is not about it.
    let mut findings = fresh();
    let other: Digest = OTHER_IMAGE.parse().unwrap();
    assert_eq!(vex::apply(&mut findings, &[d], Some(&other)).decided, 0);
}

#[test]
fn an_image_statement_applies_to_that_image_only() {
    let d = doc("image-wide.openvex.json");
    let fresh = || {
        vec![
            deb("CVE-2023-0286", "openssl"),
            deb("CVE-2023-0286", "libssl3"),
            urllib3(),
        ]
    };
    let mut findings = fresh();
    let report = vex::apply(&mut findings, std::slice::from_ref(&d), Some(&subject()));
    assert_eq!(report.decided, 3);
    assert!(findings
        .iter()
        .all(|f| state(f) == Some(VexState::NotAffected)));
    // The second statement names the image by its hashes.sha-256.
    assert_eq!(
        findings[2]
            .vex
            .as_ref()
            .unwrap()
            .impact_statement
            .as_deref(),
        Some("The image never parses URLs from untrusted input.")
    );
    let other: Digest = OTHER_IMAGE.parse().unwrap();
    let mut findings = fresh();
    assert_eq!(
        vex::apply(&mut findings, std::slice::from_ref(&d), Some(&other)).decided,
        0
    );
    // The image picked from an index: statements may name either digest.
    let mut findings = fresh();
    let both = [other.clone(), subject()];
    assert_eq!(
        vex::apply_to_image(&mut findings, std::slice::from_ref(&d), &both).decided,
        3
    );
    // No scanned image (a directory scan): nothing, and a note says why.
    let mut findings = fresh();
    let report = vex::apply(&mut findings, &[d], None);
    assert_eq!(report.decided, 0);
    assert!(
        report.notes[0].contains("name an image by digest"),
        "{report:?}"
    );
}

// ------------------------------------------------------------ ordering

#[test]
fn the_later_timestamp_wins_whatever_the_offset() {
    // early: 2024-01-01T00:00:00Z not_affected; late: 2023-12-31T20:00:00-06:00
    // (02:00Z on Jan 1st, though it sorts first as text) affected.
    let early = doc("conflict-early.openvex.json");
    let late = doc("conflict-late.openvex.json");
    for docs in [
        vec![early.clone(), late.clone()],
        vec![late.clone(), early.clone()],
    ] {
        let mut findings = vec![urllib3()];
        let report = vex::apply(&mut findings, &docs, None);
        assert_eq!(state(&findings[0]), Some(VexState::Affected));
        assert!(findings[0].is_active());
        assert_eq!(report.documents, vec![late.digest.clone()]);
    }
}

#[test]
fn a_statement_timestamp_overrides_the_document_timestamp() {
    // Statement 0 carries 2024-03-05; statement 1 inherits the document's
    // 2024-03-01 although it comes later in the document.
    let d = doc("statement-timestamp.openvex.json");
    assert_eq!(
        d.statements[1].timestamp.as_ref().map(|t| t.as_str()),
        Some("2024-03-01T00:00:00Z")
    );
    let mut findings = vec![jinja2()];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::Fixed));
}

#[test]
fn at_equal_times_the_more_specific_product_wins() {
    // One time for all three: jinja2@2.11.2 not_affected, jinja2 (any
    // version) under_investigation, the whole image affected.
    let d = doc("specificity.openvex.json");
    let mut findings = vec![jinja2()];
    vex::apply(&mut findings, std::slice::from_ref(&d), Some(&subject()));
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));

    let mut without_versioned = d.clone();
    without_versioned.statements.remove(0);
    let mut findings = vec![jinja2()];
    vex::apply(
        &mut findings,
        &[without_versioned.clone()],
        Some(&subject()),
    );
    assert_eq!(state(&findings[0]), Some(VexState::UnderInvestigation));

    let mut image_only = without_versioned;
    image_only.statements.remove(0);
    let mut findings = vec![jinja2()];
    vex::apply(&mut findings, &[image_only], Some(&subject()));
    assert_eq!(state(&findings[0]), Some(VexState::Affected));
}

#[test]
fn equal_statements_break_ties_by_document_digest() {
    let (one, two) = (read("tie-1.openvex.json"), read("tie-2.openvex.json"));
    let (d1, d2) = (vex::parse(&one).unwrap(), vex::parse(&two).unwrap());
    // The digest is of the bytes (checked with sha2 directly).
    assert_eq!(d1.digest.to_string(), sha256_hex(&one));
    assert_eq!(d2.digest.to_string(), sha256_hex(&two));
    let expected = if sha256_hex(&one) < sha256_hex(&two) {
        VexState::Fixed
    } else {
        VexState::UnderInvestigation
    };
    let mut results = Vec::new();
    for docs in [vec![d1.clone(), d2.clone()], vec![d2.clone(), d1.clone()]] {
        let mut findings = vec![urllib3()];
        vex::apply(&mut findings, &docs, None);
        assert_eq!(state(&findings[0]), Some(expected));
        results.push(findings);
    }
    assert_eq!(results[0], results[1], "order of documents must not matter");
}

// ------------------------------------------------------------ CycloneDX

#[test]
fn cyclonedx_states_map_to_vex_states() {
    let d = doc("states.cdx.json");
    assert_eq!(d.format, VexFormat::CycloneDx);
    assert_eq!(
        d.id.as_deref(),
        Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")
    );
    let mut findings = vec![
        // resolved, matched through references[].id (the GHSA alias).
        finding("GHSA-q2q7-5pp4-w6pg", &[], "pkg:pypi/urllib3@1.26.4"),
        // resolved_with_pedigree
        jinja2(),
        // exploitable: about openssl, not libssl3.
        deb("CVE-2023-0286", "openssl"),
        deb("CVE-2023-0286", "libssl3"),
        // in_triage, ref to a nested component.
        deb("CVE-2023-0464", "libssl3"),
        // false_positive, through a BOM-Link into this BOM.
        deb("CVE-2023-0465", "libssl3"),
        // not_affected, ref to metadata.component = the image.
        deb("CVE-2023-0466", "libssl3"),
        // not_affected, a BOM-Link into another BOM whose bom-refs are purls.
        finding("CVE-2024-0727", &[], "pkg:pypi/urllib3@1.26.4"),
        // A vulnerability without analysis is no statement.
        finding("CVE-2024-1111", &[], "pkg:pypi/urllib3@1.26.4"),
    ];
    vex::apply(&mut findings, std::slice::from_ref(&d), Some(&subject()));
    let states: Vec<Option<VexState>> = findings.iter().map(state).collect();
    assert_eq!(
        states,
        vec![
            Some(VexState::Fixed),
            Some(VexState::Fixed),
            Some(VexState::Affected),
            None,
            Some(VexState::UnderInvestigation),
            Some(VexState::NotAffected),
            Some(VexState::NotAffected),
            Some(VexState::NotAffected),
            None,
        ]
    );
    assert_eq!(
        findings[5]
            .vex
            .as_ref()
            .unwrap()
            .impact_statement
            .as_deref(),
        Some("The policy checking code is not used.")
    );
    let v = findings[6].vex.as_ref().unwrap();
    assert_eq!(v.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(v.format, "cyclonedx");
    // analysis.lastUpdated is the statement's time.
    assert_eq!(
        d.statements[5].timestamp.as_ref().unwrap().as_str(),
        "2024-02-03T00:00:00Z"
    );
    assert_eq!(
        d.statements[2].action_statement.as_deref(),
        Some("Upgrade openssl to 3.0.13-1~deb12u1.")
    );
    // The ref to a component without a purl: valid, but nothing to match;
    // the plain finding: noted.
    let skipped: Vec<(Option<usize>, WarningKind)> =
        d.warnings.iter().map(|w| (w.statement, w.kind)).collect();
    assert!(
        skipped.contains(&(Some(7), WarningKind::Unmatchable)),
        "{:?}",
        d.warnings
    );
    assert!(
        skipped.contains(&(Some(8), WarningKind::Note)),
        "{:?}",
        d.warnings
    );
    assert!(!d.has_invalid_statements());
    assert_eq!(d.statements.len(), 7);
}

#[test]
fn an_unknown_cyclonedx_state_is_skipped() {
    let d = doc("bad-state.cdx.json");
    assert_eq!(d.statements.len(), 1);
    let skipped: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        skipped
            .iter()
            .any(|w| w.contains(r#"unknown analysis.state "wont_fix""#)),
        "{skipped:?}"
    );
    let mut findings = vec![urllib3(), jinja2()];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));
    assert_eq!(state(&findings[1]), None);
}

#[test]
fn cyclonedx_1_4_with_a_purl_ref() {
    let mut findings = vec![jinja2()];
    vex::apply(&mut findings, &[doc("vex-1.4.cdx.json")], None);
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));
}

#[test]
fn cyclonedx_affects_versions_narrow_the_statement() {
    let d = doc("versions.cdx.json");
    let mut findings = vec![
        // Listed unaffected: the not_affected analysis applies.
        jinja2(),
        // Listed affected: it does not.
        finding(
            "CVE-2020-28493",
            &["GHSA-g3rq-g295-4j3m"],
            "pkg:pypi/jinja2@2.11.3",
        ),
        // Inside the vers range: ranges are not evaluated, so not applied.
        finding("CVE-2020-28493", &[], "pkg:pypi/jinja2@3.0.1"),
        // The ref names 1.26.4, the only listed version is 1.26.5.
        urllib3(),
        // No status: `affected` (the schema's default) agrees with exploitable.
        deb("CVE-2023-0286", "openssl"),
    ];
    vex::apply(&mut findings, std::slice::from_ref(&d), None);
    let states: Vec<Option<VexState>> = findings.iter().map(state).collect();
    assert_eq!(
        states,
        vec![
            Some(VexState::NotAffected),
            None,
            None,
            None,
            Some(VexState::Affected)
        ]
    );
    let notes: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    for expected in [
        "affects[0].versions[1] not applied",
        "affects[0].versions[2] not applied: a version range",
        "is not the ref's version",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected}: {notes:#?}"
        );
    }
    assert!(!d.has_invalid_statements());
}

// ------------------------------------------------------------ the spec's examples

#[test]
fn the_readme_draft_example_reads() {
    let d = doc("draft-readme.openvex.json");
    assert_eq!(d.statements.len(), 1);
    assert_eq!(d.statements[0].vulnerability, "CVE-2014-123456");
    assert_eq!(d.statements[0].products.len(), 2);
    let mut findings = vec![
        finding(
            "CVE-2014-123456",
            &[],
            "pkg:apk/distro/git@2.39.0-r1?arch=x86_64&distro=3.17",
        ),
        finding(
            "CVE-2014-123456",
            &[],
            "pkg:apk/distro/git@2.39.0-r1?arch=aarch64",
        ),
    ];
    vex::apply(&mut findings, &[d], None);
    assert_eq!(state(&findings[0]), Some(VexState::Fixed));
    assert!(!findings[0].is_active());
    assert_eq!(state(&findings[1]), None);
}

#[test]
fn the_spec_examples_read() {
    let minimal = doc("spec-minimal.openvex.json");
    assert_eq!(minimal.statements[0].state, VexState::Fixed);
    let spring = doc("spec-spring-log4j.openvex.json");
    let mut findings = vec![finding(
        "GHSA-jfh8-c2jp-5v3q",
        &[],
        "pkg:maven/org.springframework.boot/spring-boot@2.6.0-M3",
    )];
    vex::apply(&mut findings, &[spring], None);
    assert_eq!(state(&findings[0]), Some(VexState::NotAffected));
}

// ------------------------------------------------------------ bad input

fn openvex_with(fields: &str) -> Vec<u8> {
    format!(
        r#"{{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://openvex.dev/docs/x","author":"a",{fields}}}"#
    )
    .into_bytes()
}

#[test]
fn documents_that_are_not_vex_are_errors_naming_why() {
    let statement = r#""statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:pypi/a"}],"status":"fixed"}]"#;
    let cases: Vec<(Vec<u8>, &str)> =
        vec![
        (b"not json".to_vec(), "not JSON"),
        (b"[]".to_vec(), "an array, not an object"),
        (br#"{"@context":"https://schema.org"}"#.to_vec(), "not an OpenVEX context"),
        (br#"{"spdxVersion":"SPDX-2.3"}"#.to_vec(), "neither an OpenVEX document"),
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#.to_vec(),
            "no vulnerabilities",
        ),
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-1"}]}"#
                .to_vec(),
            "a vulnerability report, not VEX",
        ),
        (
            br#"{"bomFormat":"CycloneDX","specVersion":"1.3","vulnerabilities":[]}"#.to_vec(),
            "specVersion \"1.3\"",
        ),
        (
            openvex_with(&format!(r#""version":1,{statement}"#)),
            "timestamp is missing",
        ),
        (
            openvex_with(&format!(
                r#""timestamp":"yesterday","version":1,{statement}"#
            )),
            "timestamp \"yesterday\" is not an RFC 3339 date-time",
        ),
        (
            openvex_with(r#""timestamp":"2024-01-01T00:00:00Z","version":1,"statements":[]"#),
            "statements is empty",
        ),
        (
            openvex_with(&format!(
                r#""timestamp":"2024-01-01T00:00:00Z","version":0,{statement}"#
            )),
            "version is 0",
        ),
    ];
    for (bytes, needle) in cases {
        let err = vex::parse(&bytes).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
    let huge = vec![b' '; vex::MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(vex::parse(&huge), Err(VexError::TooLarge { .. })));
}

#[test]
fn a_statement_without_a_usable_product_is_skipped() {
    let bytes = openvex_with(
        r#""timestamp":"2024-01-01T00:00:00Z","version":1,"statements":[
        {"vulnerability":{"name":"CVE-1"},"status":"fixed"},
        {"vulnerability":{"name":"CVE-2"},"products":[{"identifiers":{"@cpe23":"cpe:2.3:a:x:y:1"}}],"status":"fixed"},
        {"vulnerability":{"name":"CVE-3"},"products":[{"@id":"pkg:oci/app"}],"status":"fixed"},
        {"vulnerability":{"name":"CVE-4"},"products":[{"@id":"pkg:oci/app@sha256%3A5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","subcomponents":[{"hashes":{"sha-256":"00"}}]}],"status":"fixed"}]"#,
    );
    let d = vex::parse(&bytes).unwrap();
    assert!(d.statements.is_empty(), "{:?}", d.statements);
    let text: Vec<String> = d.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        text.iter().any(|w| w.contains("CVE-1: names no product")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|w| w.contains("skipped: CVE-2: no product with a purl or an image digest")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|w| w.contains("without its manifest digest")),
        "{text:?}"
    );
    // Subcomponents none of which can be matched never widen to the image.
    assert!(
        text.iter()
            .any(|w| w.contains("none of its subcomponents has a purl")),
        "{text:?}"
    );
}

#[test]
fn hostile_input_is_an_error_never_a_panic() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for name in [
        "states.cdx.json",
        "image-subcomponents.openvex.json",
        "draft-readme.openvex.json",
    ] {
        let bytes = read(name);
        // Every truncation, and every single-byte corruption to a quote,
        // brace or digit.
        for cut in 0..bytes.len() {
            inputs.push(bytes[..cut].to_vec());
        }
        for at in (0..bytes.len()).step_by(7) {
            for b in [b'"', b'{', b']', b'9', 0xff] {
                let mut m = bytes.clone();
                m[at] = b;
                inputs.push(m);
            }
        }
    }
    inputs.push(b"[".repeat(100_000));
    inputs.push(format!(r#"{{"@context":"https://openvex.dev/ns","@id":"x","author":"a","timestamp":"2024-01-01T00:00:00Z","version":1,"statements":[{{"vulnerability":{{"name":"{}"}},"products":["pkg:pypi/a"],"status":"fixed"}}]}}"#, "A".repeat(1 << 20)).into_bytes());
    let mut findings = vec![urllib3(), jinja2()];
    for input in &inputs {
        if let Ok(d) = vex::parse(input) {
            vex::apply(&mut findings, &[d], Some(&subject()));
        }
    }
}
