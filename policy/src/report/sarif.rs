//! SARIF 2.1.0 for GitHub code scanning.
//!
//! * One `run`; `tool.driver` is stella with one rule per advisory id:
//!   `shortDescription` = the summary's first line (≤ 120 characters;
//!   else the id), `fullDescription` = the summary, `help` = summary,
//!   aliases and references, `helpUri` = the first http(s) reference that
//!   names the advisory or an alias, else the first one,
//!   `properties.security-severity` = the highest CVSS
//!   base score of the advisory's findings as a string (`"7.5"`; what
//!   GitHub ranks security alerts by; omitted when no source gave a
//!   score), `tags` = `security`, `vulnerability` and the rating.
//! * One `result` per finding. Findings VEX marks `not_affected`/`fixed`
//!   are kept but carry `suppressions[]` (kind `external`, the VEX
//!   justification), so GitHub closes their alerts instead of losing them.
//! * `level` by the finding's rating ([`sarif_level`]): critical/high →
//!   `error`, medium → `warning`, low/none/unknown → `note`.
//! * `locations[]`: the component's evidence file, a path inside the image
//!   (`usr/lib/python3/dist-packages/…/METADATA`), with `region.startLine`
//!   1 (GitHub wants a region to show an alert); the purl as a logical
//!   location. A component without evidence is located by its purl.
//! * `partialFingerprints["stellaFinding/v1"]`: sha256 of advisory id +
//!   purl (32 hex), so GitHub tracks the same alert across runs.
//! * The verdict (outcome, policy and feeds digests, reasons) is in
//!   `run.properties.verdict`, the scan source in `run.properties`.

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use stella_model::{ArtifactRef, Digest, Finding, Rating, SeverityKind, Verdict, VexState};

use super::{
    component_label, layer_label, rating_of, status_str, vex_state_str, FindingsDocument,
    ReportError,
};

/// The `$schema` the log names: the OASIS SARIF 2.1.0 schema (errata 01).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Caller-decided inputs of the SARIF log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SarifOptions {
    /// `tool.driver.version`.
    pub tool_version: String,
    /// `tool.driver.informationUri` (an absolute URI), when there is one.
    pub information_uri: Option<String>,
}

/// The SARIF `level` of a finding's rating.
pub fn sarif_level(rating: Rating) -> &'static str {
    match rating {
        Rating::Critical | Rating::High => "error",
        Rating::Medium => "warning",
        Rating::Low | Rating::None | Rating::Unknown => "note",
    }
}

/// The highest CVSS base score any source gave the finding, as GitHub's
/// `security-severity` wants it (`"9.8"`); `None` without a CVSS score.
pub fn security_severity(f: &Finding) -> Option<String> {
    max_score(std::slice::from_ref(f)).map(|s| format!("{s:.1}"))
}

fn max_score(findings: &[Finding]) -> Option<f64> {
    findings
        .iter()
        .flat_map(|f| f.severities.iter().chain(f.severity.as_ref()))
        .filter(|s| s.kind != SeverityKind::Other)
        .filter_map(|s| s.base_score)
        .filter(|s| s.is_finite() && (0.0..=10.0).contains(s))
        .reduce(f64::max)
}

/// Renders the findings as a SARIF 2.1.0 log (pretty JSON, trailing
/// newline, deterministic).
pub fn sarif(doc: &FindingsDocument, opts: &SarifOptions) -> Result<Vec<u8>, ReportError> {
    doc.check_schema()?;
    if opts.tool_version.trim().is_empty() {
        return Err(ReportError::EmptyToolVersion);
    }
    let findings = doc.sorted_findings();

    // Rules: one per advisory id, in id order (findings are sorted by id).
    let mut rules: Vec<Rule> = Vec::new();
    let mut rule_of: Vec<usize> = Vec::with_capacity(findings.len());
    let mut start = 0;
    while start < findings.len() {
        let id = &findings[start].id;
        let end = start + findings[start..].iter().take_while(|f| &f.id == id).count();
        rules.push(rule(&findings[start..end]));
        rule_of.extend(std::iter::repeat_n(rules.len() - 1, end - start));
        start = end;
    }

    let results = findings
        .iter()
        .zip(&rule_of)
        .map(|(f, &idx)| result(f, idx))
        .collect();

    let log = Log {
        schema: SARIF_SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "stella",
                    information_uri: opts.information_uri.clone(),
                    version: opts.tool_version.clone(),
                    rules,
                },
            },
            results,
            properties: RunProperties {
                source: doc.source.clone(),
                subject: doc.subject.clone(),
                feeds: doc.feeds.clone(),
                verdict: doc.verdict.clone().map(|mut v| {
                    v.reasons.sort();
                    v.waived.sort();
                    v.vex.sort();
                    v
                }),
            },
        }],
    };
    let mut out = serde_json::to_vec_pretty(&log).map_err(|source| ReportError::Json {
        format: "sarif",
        source,
    })?;
    out.push(b'\n');
    Ok(out)
}

fn rule(findings: &[Finding]) -> Rule {
    let first = &findings[0];
    let rating = findings.iter().map(rating_of).max().unwrap_or_default();
    let summary = findings
        .iter()
        .find_map(|f| f.summary.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&first.id)
        .to_string();
    // Sorted and deduplicated: the same advisory's findings repeat them.
    let references: std::collections::BTreeSet<&String> =
        findings.iter().flat_map(|f| f.references.iter()).collect();
    // The first web reference, preferring one that names the advisory or
    // an alias (the advisory page rather than a commit).
    let web: Vec<&str> = references
        .iter()
        .map(|u| u.as_str())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .collect();
    let names_it = |u: &str| {
        u.contains(first.id.as_str()) || first.aliases.iter().any(|a| u.contains(a.as_str()))
    };
    let help_uri = web
        .iter()
        .find(|u| names_it(u))
        .or(web.first())
        .map(|u| u.to_string());
    let mut help = summary.clone();
    if !first.aliases.is_empty() {
        help.push_str(&format!("\n\nAliases: {}", first.aliases.join(", ")));
    }
    if !references.is_empty() {
        help.push_str("\n\nReferences:");
        for r in &references {
            help.push_str("\n- ");
            help.push_str(r);
        }
    }
    Rule {
        id: first.id.clone(),
        name: first.id.clone(),
        short_description: Text {
            text: title(&summary),
        },
        full_description: Text {
            text: summary.clone(),
        },
        help_uri,
        help: Text { text: help },
        properties: RuleProperties {
            security_severity: max_score(findings).map(|s| format!("{s:.1}")),
            tags: vec![
                "security".to_string(),
                "vulnerability".to_string(),
                rating.as_str().to_string(),
            ],
        },
    }
}

fn result(f: &Finding, rule_index: usize) -> SarifResult {
    let label = component_label(f);
    // A component without evidence is located by its purl.
    let path = f.component.evidence.first().unwrap_or(&label);
    let location = Location {
        physical_location: Some(PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri_path(path),
            },
            region: Region { start_line: 1 },
        }),
        logical_locations: vec![logical(&label)],
    };
    SarifResult {
        rule_id: f.id.clone(),
        rule_index,
        level: sarif_level(rating_of(f)),
        message: Text { text: message(f) },
        locations: vec![location],
        partial_fingerprints: Fingerprints {
            finding: fingerprint(&f.id, &label),
        },
        suppressions: suppression(f).into_iter().collect(),
        properties: ResultProperties {
            purl: f.component.purl.clone(),
            component: label,
            installed_version: f.installed_version.clone(),
            fixed_version: f.fixed_version.clone(),
            status: status_str(f.status),
            severity: rating_of(f).as_str(),
            layer: f.component.layer,
            layer_diff_id: f.component.layer_diff_id.clone(),
            matched_by: format!(
                "{}/{} {} ({}, by {})",
                f.matched_by.ecosystem,
                f.matched_by.package,
                f.matched_by.rule,
                f.matched_by.scheme,
                f.matched_by.key
            ),
            vex: f.vex.as_ref().map(|v| vex_state_str(v.state)),
        },
    }
}

/// `urllib3 1.26.4 is affected by CVE-2021-33503; fixed in 1.26.5. Layer
/// 3f2a…, evidence usr/lib/…/METADATA.`
fn message(f: &Finding) -> String {
    let mut m = format!(
        "{} {} is {} by {}",
        f.component.name,
        f.installed_version,
        match f.status {
            stella_model::AffectedStatus::Affected => "affected".to_string(),
            other => format!("affected ({})", status_str(other)),
        },
        f.id
    );
    if let Some(src) = &f.component.source_name {
        if f.matched_by.key == "source-package" {
            m.push_str(&format!(" (source package {src})"));
        }
    }
    match &f.fixed_version {
        Some(v) => m.push_str(&format!("; fixed in {v}.")),
        None => m.push_str("; no fixed version."),
    }
    match layer_label(f) {
        Some(l) => m.push_str(&format!(" Layer {l}")),
        None => m.push_str(" Layer unknown"),
    }
    match f.component.evidence.first() {
        Some(p) => m.push_str(&format!(", evidence {p}.")),
        None => m.push('.'),
    }
    if let Some(v) = &f.vex {
        m.push_str(&format!(" VEX: {}.", vex_state_str(v.state)));
    }
    m
}

fn suppression(f: &Finding) -> Option<Suppression> {
    let v = f.vex.as_ref()?;
    if !matches!(v.state, VexState::NotAffected | VexState::Fixed) {
        return None;
    }
    let mut text = format!("VEX {}", vex_state_str(v.state));
    if let Some(j) = &v.justification {
        text.push_str(&format!(": {j}"));
    }
    if let Some(s) = &v.impact_statement {
        text.push_str(&format!(" — {s}"));
    }
    text.push_str(&format!(" ({} document {})", v.format, v.document));
    Some(Suppression {
        kind: "external",
        justification: text,
    })
}

fn logical(label: &str) -> LogicalLocation {
    LogicalLocation {
        fully_qualified_name: label.to_string(),
        kind: "package",
    }
}

/// First 32 hex of sha256 over `id`, NUL, `component`.
fn fingerprint(id: &str, component: &str) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update([0u8]);
    h.update(component.as_bytes());
    let mut hex = hex::encode(h.finalize());
    hex.truncate(32);
    hex
}

/// GitHub shows `shortDescription` as the alert's title: the summary's
/// first line, cut to [`TITLE_CHARS`] characters.
fn title(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() <= TITLE_CHARS {
        return line.to_string();
    }
    let mut t: String = line.chars().take(TITLE_CHARS - 1).collect();
    t.push('…');
    t
}

const TITLE_CHARS: usize = 120;

/// A path as a relative URI reference: without a leading `/`, every byte
/// outside RFC 3986 `pchar` (and `/`) percent-encoded, so spaces, `%`,
/// `#` or `?` in a file name cannot change what the URI means. `:` is
/// encoded too: `a:b` would read as a scheme.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
    properties: RunProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Digest>,
    feeds: ArtifactRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<String>,
    version: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Text,
    full_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Text,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct RuleProperties {
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
    tags: Vec<String>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "stellaFinding/v1")]
    finding: String,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    component: String,
    installed_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed_version: Option<String>,
    status: &'static str,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_diff_id: Option<Digest>,
    matched_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vex: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(sarif_level(Rating::Critical), "error");
        assert_eq!(sarif_level(Rating::High), "error");
        assert_eq!(sarif_level(Rating::Medium), "warning");
        assert_eq!(sarif_level(Rating::Low), "note");
        assert_eq!(sarif_level(Rating::None), "note");
        assert_eq!(sarif_level(Rating::Unknown), "note");
    }

    #[test]
    fn uri_paths_are_encoded() {
        assert_eq!(
            uri_path("/usr/lib/python3/dist-packages/a b#c?d%e:f/METADATA"),
            "usr/lib/python3/dist-packages/a%20b%23c%3Fd%25e%3Af/METADATA"
        );
        assert_eq!(
            uri_path("pkg:pypi/urllib3@1.26.4"),
            "pkg%3Apypi/urllib3@1.26.4"
        );
        assert_eq!(uri_path("é"), "%C3%A9");
    }

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(title("  Short.\nMore."), "Short.");
        let long = "x".repeat(300);
        let t = title(&long);
        assert_eq!(t.chars().count(), TITLE_CHARS);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn fingerprint_depends_on_both_parts() {
        let a = fingerprint("CVE-1", "pkg:pypi/a@1");
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("CVE-2", "pkg:pypi/a@1"));
        assert_ne!(a, fingerprint("CVE-1", "pkg:pypi/a@2"));
        // The NUL separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
    }
}
