//! The CycloneDX 1.6 `vulnerabilities` section: stella findings (from the
//! matcher, with VEX decisions) as vulnerability objects tied to the
//! components of the same BOM.
//!
//! One vulnerability object per finding, not per advisory: CycloneDX keeps
//! the VEX `analysis` and the `recommendation` at the vulnerability level,
//! and ours differ per component, so grouping would lose them. The mapping
//! (documented field by field below and in the integrator's docs):
//!
//! * `bom-ref`: `vulnerability:<id>:<component bom-ref>` (made unique);
//! * `id`, `source` (by id prefix: NVD, GitHub, PyPA, Go, RustSec,
//!   AlmaLinux, else OSV), `references[]` = the aliases with their source;
//! * `ratings[]`: one per source severity; `method` `CVSSv2`, `CVSSv3`
//!   (`CVSS:3.0/`), `CVSSv31` (`CVSS:3.1/`), `CVSSv4`, else `other`;
//!   the vector only for CVSS methods;
//! * `description` = the summary, `advisories[]` = the http(s) references,
//!   `published`/`updated` when they are RFC 3339 date-times;
//! * `recommendation` = `Upgrade <name> to <fixed>` when a fix is known;
//! * `analysis` from the VEX decision ([`analysis_state`],
//!   [`analysis_justification`]);
//! * `affects[0]` = the component's bom-ref, its version `affected`;
//! * `properties`: the advisory status and the match rule (`stella:…`).

use std::collections::BTreeSet;

use serde::Serialize;
use stella_model::{Component, Finding, Rating, SeverityKind, VexState};

use crate::SbomError;

#[derive(Serialize)]
pub struct Vulnerability {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: String,
    source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ratings: Vec<CdxRating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<Analysis>,
    affects: Vec<Affects>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<crate::cyclonedx::Property>,
}

#[derive(Serialize, Clone)]
struct Source {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct CdxRating {
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
}

#[derive(Serialize)]
struct Advisory {
    url: String,
}

#[derive(Serialize)]
struct Analysis {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Serialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
    versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
struct AffectedVersion {
    version: String,
    status: &'static str,
}

/// CycloneDX `analysis.state` of a VEX state.
pub fn analysis_state(state: VexState) -> &'static str {
    match state {
        VexState::NotAffected => "not_affected",
        VexState::Affected => "exploitable",
        VexState::Fixed => "resolved",
        VexState::UnderInvestigation => "in_triage",
    }
}

/// CycloneDX `analysis.justification` of a VEX justification: CycloneDX
/// values pass through; OpenVEX ones map where the meaning is the same
/// (`component_not_present` and `vulnerable_code_not_present` →
/// `code_not_present`, `vulnerable_code_not_in_execute_path` →
/// `code_not_reachable`, `inline_mitigations_already_exist` →
/// `protected_by_mitigating_control`). Others (`vulnerable_code_cannot_be_
/// controlled_by_adversary` has no CycloneDX twin) give `None`; the text is
/// kept in `analysis.detail`.
pub fn analysis_justification(justification: &str) -> Option<&'static str> {
    const CYCLONEDX: [&str; 9] = [
        "code_not_present",
        "code_not_reachable",
        "requires_configuration",
        "requires_dependency",
        "requires_environment",
        "protected_by_compiler",
        "protected_at_runtime",
        "protected_at_perimeter",
        "protected_by_mitigating_control",
    ];
    if let Some(v) = CYCLONEDX.iter().find(|v| **v == justification) {
        return Some(v);
    }
    match justification {
        "component_not_present" | "vulnerable_code_not_present" => Some("code_not_present"),
        "vulnerable_code_not_in_execute_path" => Some("code_not_reachable"),
        "inline_mitigations_already_exist" => Some("protected_by_mitigating_control"),
        _ => None,
    }
}

/// The vulnerabilities of `findings`, in the findings' sort-key order.
/// `components`/`refs` are the inventory's components and the bom-refs the
/// writer gave them; `used` holds every bom-ref of the document.
pub fn build(
    findings: &[Finding],
    components: &[Component],
    refs: &[String],
    used: &mut BTreeSet<String>,
) -> Result<Vec<Vulnerability>, SbomError> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    sorted
        .into_iter()
        .map(|f| {
            let idx = component_of(f, components).ok_or_else(|| SbomError::UnknownComponent {
                finding: f.id.clone(),
                component: f
                    .component
                    .purl
                    .clone()
                    .unwrap_or_else(|| format!("{}@{}", f.component.name, f.component.version)),
            })?;
            let component_ref = refs[idx].clone();
            Ok(vulnerability(f, &components[idx], component_ref, used))
        })
        .collect()
}

/// The inventory component a finding is about: same kind, name, version and
/// purl; among several (one package in two places), the one whose evidence
/// holds the finding's first evidence path, then the same layer.
fn component_of(f: &Finding, components: &[Component]) -> Option<usize> {
    let fc = &f.component;
    let same: Vec<usize> = components
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.kind == fc.kind
                && c.name == fc.name
                && c.version == fc.version
                && c.purl.as_ref().map(ToString::to_string) == fc.purl
        })
        .map(|(i, _)| i)
        .collect();
    let by_evidence = |i: &&usize| match fc.evidence.first() {
        Some(p) => components[**i].evidence.contains(p),
        None => true,
    };
    let by_layer = |i: &&usize| fc.layer.is_none() || components[**i].layer == fc.layer;
    same.iter()
        .find(|i| by_evidence(i) && by_layer(i))
        .or_else(|| same.iter().find(by_evidence))
        .or_else(|| same.first())
        .copied()
}

fn vulnerability(
    f: &Finding,
    c: &Component,
    component_ref: String,
    used: &mut BTreeSet<String>,
) -> Vulnerability {
    let bom_ref =
        crate::cyclonedx::unique_ref(format!("vulnerability:{}:{}", f.id, component_ref), used);
    let mut references: Vec<Reference> = f
        .aliases
        .iter()
        .filter(|a| **a != f.id)
        .map(|a| Reference {
            id: a.clone(),
            source: source_of(a),
        })
        .collect();
    references.sort_by(|a, b| a.id.cmp(&b.id));
    references.dedup_by(|a, b| a.id == b.id);

    let mut advisories: Vec<String> = f
        .references
        .iter()
        .filter(|u| is_web_url(u))
        .cloned()
        .collect();
    advisories.sort();
    advisories.dedup();

    let mut props = vec![
        prop("stella:finding:status", status_word(f)),
        prop("stella:match:ecosystem", &f.matched_by.ecosystem),
        prop("stella:match:package", &f.matched_by.package),
        prop("stella:match:key", &f.matched_by.key),
        prop("stella:match:scheme", &f.matched_by.scheme),
        prop("stella:match:rule", &f.matched_by.rule),
    ];
    if f.installed_version != c.version {
        // Matched by the source package's version (Debian, RPM).
        props.push(prop(
            "stella:finding:installedVersion",
            &f.installed_version,
        ));
    }
    if let Some(fixed) = &f.fixed_version {
        props.push(prop("stella:finding:fixedVersion", fixed));
    }
    props.sort();
    props.dedup();

    Vulnerability {
        bom_ref,
        id: f.id.clone(),
        source: source_of(&f.id),
        references,
        ratings: f.severities.iter().map(rating).collect(),
        description: f.summary.clone(),
        recommendation: f
            .fixed_version
            .as_ref()
            .map(|v| format!("Upgrade {} to {v}", upgrade_target(f))),
        advisories: advisories.into_iter().map(|url| Advisory { url }).collect(),
        published: f.published.clone().filter(|d| is_date_time(d)),
        updated: f.modified.clone().filter(|d| is_date_time(d)),
        analysis: f.vex.as_ref().map(|v| {
            let justification = v.justification.as_deref().and_then(analysis_justification);
            let mut detail = Vec::new();
            if let Some(j) = &v.justification {
                if justification != Some(j.as_str()) {
                    detail.push(format!("justification: {j}"));
                }
            }
            if let Some(s) = &v.impact_statement {
                detail.push(s.clone());
            }
            detail.push(format!("{} document {}", v.format, v.document));
            Analysis {
                state: analysis_state(v.state),
                justification,
                detail: Some(detail.join("; ")),
            }
        }),
        affects: vec![Affects {
            reference: component_ref,
            versions: vec![AffectedVersion {
                version: c.version.clone(),
                status: "affected",
            }],
        }],
        properties: props,
    }
}

/// What to upgrade: the source package when the match was made by it.
fn upgrade_target(f: &Finding) -> &str {
    match (&f.component.source_name, f.matched_by.key.as_str()) {
        (Some(src), "source-package") => src,
        _ => &f.component.name,
    }
}

fn status_word(f: &Finding) -> &'static str {
    use stella_model::AffectedStatus as S;
    match f.status {
        S::Affected => "affected",
        S::Fixed => "fixed",
        S::NotAffected => "not-affected",
        S::WillNotFix => "will-not-fix",
        S::FixDeferred => "fix-deferred",
        S::EndOfLife => "end-of-life",
        S::UnderInvestigation => "under-investigation",
    }
}

fn rating(s: &stella_model::FindingSeverity) -> CdxRating {
    let method = match s.kind {
        SeverityKind::CvssV2 => "CVSSv2",
        SeverityKind::CvssV3 if s.vector.starts_with("CVSS:3.1/") => "CVSSv31",
        SeverityKind::CvssV3 => "CVSSv3",
        SeverityKind::CvssV4 => "CVSSv4",
        SeverityKind::Other => "other",
    };
    CdxRating {
        source: Source {
            name: s.source.clone(),
            url: None,
        },
        score: s.base_score.filter(|v| v.is_finite()),
        severity: match s.rating {
            Rating::Critical => "critical",
            Rating::High => "high",
            Rating::Medium => "medium",
            Rating::Low => "low",
            Rating::None => "none",
            Rating::Unknown => "unknown",
        },
        method,
        vector: (s.kind != SeverityKind::Other).then(|| s.vector.clone()),
    }
}

/// The database that owns an id, by its prefix, with the id's page.
fn source_of(id: &str) -> Source {
    let (name, url) = if id.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        ("GitHub", format!("https://github.com/advisories/{id}"))
    } else if id.starts_with("PYSEC-") {
        ("PyPA", format!("https://osv.dev/vulnerability/{id}"))
    } else if id.starts_with("GO-") {
        ("Go", format!("https://pkg.go.dev/vuln/{id}"))
    } else if id.starts_with("RUSTSEC-") {
        (
            "RustSec",
            format!("https://rustsec.org/advisories/{id}.html"),
        )
    } else if id.starts_with("ALSA-") || id.starts_with("ALBA-") || id.starts_with("ALEA-") {
        ("AlmaLinux", format!("https://osv.dev/vulnerability/{id}"))
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{id}"))
    };
    // Only ids that are safe in a URL path get a URL.
    let safe = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    Source {
        name: name.to_string(),
        url: safe.then_some(url),
    }
}

/// An absolute http(s) URL without characters an IRI reference forbids.
fn is_web_url(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(c))
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let head = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !head
        || !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (*h1 - b'0') * 10 + (*h2 - b'0') <= 23
                && (*m1 - b'0') * 10 + (*m2 - b'0') <= 59
        }
        _ => false,
    }
}

fn prop(name: &str, value: &str) -> crate::cyclonedx::Property {
    crate::cyclonedx::prop(name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        assert!(is_date_time("2021-06-29T11:15:00Z"));
        assert!(is_date_time("2021-07-02T18:56:20.858344Z"));
        assert!(is_date_time("0001-01-01T00:00:00Z"));
        assert!(is_date_time("2024-03-06T11:05:50+02:00"));
        assert!(!is_date_time("2024-03-06"));
        assert!(!is_date_time("2024-03-06T11:05:50"));
        assert!(!is_date_time("2024-13-06T11:05:50Z"));
        assert!(!is_date_time("2024-03-06T11:05:50.Z"));
        assert!(!is_date_time("2024-03-06T11:05:50Z junk"));
    }

    #[test]
    fn justifications() {
        assert_eq!(
            analysis_justification("vulnerable_code_not_in_execute_path"),
            Some("code_not_reachable")
        );
        assert_eq!(
            analysis_justification("component_not_present"),
            Some("code_not_present")
        );
        assert_eq!(
            analysis_justification("requires_environment"),
            Some("requires_environment")
        );
        assert_eq!(
            analysis_justification("vulnerable_code_cannot_be_controlled_by_adversary"),
            None
        );
    }

    #[test]
    fn sources_by_prefix() {
        assert_eq!(source_of("CVE-2021-33503").name, "NVD");
        assert_eq!(source_of("GHSA-q2q7-5pp4-w6pg").name, "GitHub");
        assert_eq!(source_of("RUSTSEC-2019-0009").name, "RustSec");
        assert_eq!(source_of("DSA-1").name, "OSV");
        assert_eq!(source_of("weird id/../x").url, None);
    }
}
