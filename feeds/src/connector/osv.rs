//! OSV records (JSON or YAML) → canonical [`Advisory`].
//!
//! OSV (<https://ossf.github.io/osv-schema/>) is the lingua franca: GHSA,
//! PyPA, Go, RustSec, AlmaLinux and DHI publish it. Lenient where the
//! schema allows variation (unknown ecosystems, unknown fields, withdrawn
//! records are kept and marked), strict where a wrong reading would give a
//! wrong answer (an event that is not exactly one string).

use serde::Deserialize;
use serde_json::Value;
use stella_model::{
    Advisory, AdvisoryReference, AffectedPackage, AffectedStatus, Provenance, RangeEvent, RuleKind,
    Severity, SeverityKind, VersionRange, VersionRule,
};

use crate::version::Scheme;

/// How the document is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Yaml,
}

impl Encoding {
    /// By file name: `.json`, `.yaml`/`.yml`; `None` for anything else.
    pub fn of_path(path: &str) -> Option<Encoding> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Encoding::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Encoding::Yaml)
        } else {
            None
        }
    }
}

/// Parses one OSV document from `source` (a name like `osv:pypa`).
pub fn parse(bytes: &[u8], encoding: Encoding, source: &str) -> Result<Advisory, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let value = match encoding {
        Encoding::Json => serde_json::from_str::<Value>(text).map_err(|e| format!("JSON: {e}"))?,
        Encoding::Yaml => super::yaml::to_json(text)?,
    };
    let record: Record =
        serde_json::from_value(value).map_err(|e| format!("not an OSV record: {e}"))?;
    if record.id.trim().is_empty() {
        return Err("empty id".into());
    }
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
    );
    to_advisory(record, source, digest)
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RecordSeverity>>,
    #[serde(default)]
    references: Option<Vec<RecordReference>>,
    #[serde(default)]
    affected: Option<Vec<RecordAffected>>,
}

#[derive(Deserialize)]
struct RecordSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RecordReference {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct RecordAffected {
    #[serde(default)]
    package: Option<RecordPackage>,
    #[serde(default)]
    severity: Option<Vec<RecordSeverity>>,
    #[serde(default)]
    ranges: Option<Vec<RecordRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RecordPackage {
    ecosystem: String,
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RecordRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    repo: Option<String>,
    #[serde(default)]
    events: Vec<serde_json::Map<String, Value>>,
}

fn to_advisory(record: Record, source: &str, digest: String) -> Result<Advisory, String> {
    let mut fields: Vec<&str> = vec!["id"];
    let mut note = |present: bool, name: &'static str| {
        if present {
            fields.push(name);
        }
    };
    note(
        record.aliases.as_ref().is_some_and(|a| !a.is_empty()),
        "aliases",
    );
    note(
        record.upstream.as_ref().is_some_and(|a| !a.is_empty()),
        "upstream",
    );
    note(record.summary.is_some(), "summary");
    note(record.details.is_some(), "details");
    note(record.published.is_some(), "published");
    note(record.modified.is_some(), "modified");
    note(record.withdrawn.is_some(), "withdrawn");
    note(
        record.references.as_ref().is_some_and(|r| !r.is_empty()),
        "references",
    );
    note(
        record.affected.as_ref().is_some_and(|a| !a.is_empty()),
        "affected",
    );

    let mut severities: Vec<Severity> = record
        .severity
        .unwrap_or_default()
        .into_iter()
        .map(|s| severity(s, source))
        .collect();
    let mut affected = Vec::new();
    for (i, mut a) in record.affected.unwrap_or_default().into_iter().enumerate() {
        let own = a.severity.take().unwrap_or_default();
        severities.extend(own.into_iter().map(|s| severity(s, source)));
        affected.push(affected_package(a).map_err(|e| format!("affected[{i}]: {e}"))?);
    }
    if !severities.is_empty() {
        fields.push("severities");
    }
    severities.sort_by(|a, b| (a.kind, &a.vector).cmp(&(b.kind, &b.vector)));
    severities.dedup();
    let mut references: Vec<AdvisoryReference> = record
        .references
        .unwrap_or_default()
        .into_iter()
        .map(|r| AdvisoryReference {
            kind: r.kind.unwrap_or_else(|| "WEB".into()),
            url: r.url,
        })
        .collect();
    references.sort();
    references.dedup();
    fields.sort_unstable();
    Ok(Advisory {
        aliases: sorted_ids(record.aliases.unwrap_or_default(), &record.id),
        upstream: sorted_ids(record.upstream.unwrap_or_default(), &record.id),
        id: record.id,
        summary: record.summary,
        details: record.details,
        published: record.published,
        modified: record.modified,
        withdrawn: record.withdrawn,
        severities,
        references,
        affected,
        provenance: vec![Provenance {
            source: source.to_string(),
            document_digest: digest,
            fetched_at: None,
            fields: fields.into_iter().map(str::to_string).collect(),
        }],
        decisions: Vec::new(),
    })
}

fn sorted_ids(mut ids: Vec<String>, own: &str) -> Vec<String> {
    ids.retain(|a| !a.trim().is_empty() && a != own);
    ids.sort();
    ids.dedup();
    ids
}

fn severity(s: RecordSeverity, source: &str) -> Severity {
    let vector = s.score.trim().to_string();
    let (kind, base_score) = match s.kind.as_str() {
        "CVSS_V2" => (
            SeverityKind::CvssV2,
            vector
                .parse::<cvss::v2::Vector>()
                .ok()
                .map(|v| v.score().value()),
        ),
        "CVSS_V3" => (
            SeverityKind::CvssV3,
            vector
                .parse::<cvss::v3::Vector>()
                .ok()
                .map(|v| v.score().value()),
        ),
        "CVSS_V4" => (
            SeverityKind::CvssV4,
            vector
                .parse::<cvss::v4::Vector>()
                .ok()
                .map(|v| v.score().value()),
        ),
        _ => (SeverityKind::Other, None),
    };
    Severity {
        source: source.to_string(),
        kind,
        vector,
        base_score,
    }
}

fn affected_package(a: RecordAffected) -> Result<AffectedPackage, String> {
    let package = a.package.ok_or("no package")?;
    if package.name.trim().is_empty() || package.ecosystem.trim().is_empty() {
        return Err("package without name or ecosystem".into());
    }
    let known = Scheme::for_ecosystem(&package.ecosystem);
    let mut ranges = Vec::new();
    let mut rules = Vec::new();
    for (i, r) in a.ranges.unwrap_or_default().into_iter().enumerate() {
        let scheme = match r.kind.as_str() {
            "GIT" => "git".to_string(),
            "SEMVER" => Scheme::Semver.name().to_string(),
            // ECOSYSTEM: the ecosystem's own ordering, or its name when we
            // have none (the matcher then cannot order these versions).
            _ => known.map_or_else(|| package.ecosystem.clone(), |s| s.name().to_string()),
        };
        let events = events(&r.events).map_err(|e| format!("ranges[{i}]: {e}"))?;
        if scheme != "git" {
            rules.extend(rules_of(&scheme, &events));
        }
        ranges.push(VersionRange {
            scheme,
            repo: r.repo,
            events,
        });
    }
    let mut versions = a.versions.unwrap_or_default();
    versions.sort();
    versions.dedup();
    Ok(AffectedPackage {
        ecosystem: package.ecosystem,
        name: package.name,
        // OSV has no source-package field; distro connectors set it.
        source_package: None,
        purl: package.purl,
        status: AffectedStatus::Affected,
        ranges,
        versions,
        rules,
        sources: Vec::new(),
    })
}

fn events(raw: &[serde_json::Map<String, Value>]) -> Result<Vec<RangeEvent>, String> {
    // An empty list (DHI publishes some) says nothing about versions: kept,
    // it yields no rule.
    raw.iter()
        .enumerate()
        .map(|(i, e)| {
            let mut entries = e.iter();
            let (Some((key, value)), None) = (entries.next(), entries.next()) else {
                return Err(format!("events[{i}] must hold exactly one event"));
            };
            let Some(version) = value.as_str().map(str::to_string) else {
                return Err(format!("events[{i}].{key} is not a string"));
            };
            Ok(match key.as_str() {
                "introduced" => RangeEvent::Introduced(version),
                "fixed" => RangeEvent::Fixed(version),
                "last_affected" => RangeEvent::LastAffected(version),
                "limit" => RangeEvent::Limit(version),
                other => return Err(format!("events[{i}]: unknown event {other:?}")),
            })
        })
        .collect()
}

/// OSV events, in order, as rules: each `introduced` opens an interval
/// that the next `fixed` (exclusive) or `last_affected` (inclusive) closes;
/// `introduced: "0"` has no lower bound; an interval left open is
/// unbounded above. `limit` only bounds the git walk and adds nothing.
fn rules_of(scheme: &str, events: &[RangeEvent]) -> Vec<VersionRule> {
    let mut rules = Vec::new();
    let mut open: Option<Option<String>> = None;
    let close = |min: Option<String>, max: Option<String>, inclusive: bool| {
        let (kind, min_inclusive) = match (&min, &max) {
            (None, Some(_)) => (
                if inclusive {
                    RuleKind::Lte
                } else {
                    RuleKind::Lt
                },
                None,
            ),
            (Some(_), None) => (RuleKind::Gte, Some(true)),
            _ => (RuleKind::Range, min.as_ref().map(|_| true)),
        };
        VersionRule {
            scheme: scheme.to_string(),
            kind,
            max_inclusive: max.as_ref().map(|_| inclusive),
            min,
            min_inclusive,
            max,
            value: None,
        }
    };
    for event in events {
        match event {
            RangeEvent::Introduced(v) => {
                if let Some(min) = open.take() {
                    rules.push(close(min, None, false));
                }
                open = Some((v != "0").then(|| v.clone()));
            }
            RangeEvent::Fixed(v) | RangeEvent::LastAffected(v) => {
                let inclusive = matches!(event, RangeEvent::LastAffected(_));
                // A closing event with nothing open starts from the beginning.
                let min = open.take().unwrap_or(None);
                rules.push(close(min, Some(v.clone()), inclusive));
            }
            RangeEvent::Limit(_) => {}
        }
    }
    if let Some(min) = open {
        rules.push(close(min, None, false));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: RuleKind, min: Option<(&str, bool)>, max: Option<(&str, bool)>) -> VersionRule {
        VersionRule {
            scheme: "pypi".into(),
            kind,
            min: min.map(|m| m.0.to_string()),
            min_inclusive: min.map(|m| m.1),
            max: max.map(|m| m.0.to_string()),
            max_inclusive: max.map(|m| m.1),
            value: None,
        }
    }

    #[test]
    fn events_become_rules() {
        use RangeEvent::*;
        let s = |v: &str| v.to_string();
        assert_eq!(
            rules_of("pypi", &[Introduced(s("0")), Fixed(s("3.7.4"))]),
            vec![rule(RuleKind::Lt, None, Some(("3.7.4", false)))]
        );
        assert_eq!(
            rules_of(
                "pypi",
                &[
                    Introduced(s("1.0")),
                    Fixed(s("1.2")),
                    Introduced(s("2.0")),
                    LastAffected(s("2.3"))
                ]
            ),
            vec![
                rule(RuleKind::Range, Some(("1.0", true)), Some(("1.2", false))),
                rule(RuleKind::Range, Some(("2.0", true)), Some(("2.3", true))),
            ]
        );
        assert_eq!(
            rules_of("pypi", &[Introduced(s("2.0"))]),
            vec![rule(RuleKind::Gte, Some(("2.0", true)), None)]
        );
        assert_eq!(
            rules_of("pypi", &[Introduced(s("0"))]),
            vec![rule(RuleKind::Range, None, None)],
            "everything is affected"
        );
        assert_eq!(
            rules_of(
                "pypi",
                &[Introduced(s("0")), LastAffected(s("1.5")), Limit(s("2"))]
            ),
            vec![rule(RuleKind::Lte, None, Some(("1.5", true)))]
        );
    }

    #[test]
    fn broken_records_say_why() {
        let bad = |json: &str| parse(json.as_bytes(), Encoding::Json, "t").unwrap_err();
        assert!(bad("{").contains("JSON"));
        assert!(bad(r#"{"summary": "x"}"#).contains("id"));
        assert!(bad(r#"{"id": " "}"#).contains("empty id"));
        let e = bad(
            r#"{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]}]}"#,
        );
        assert!(e.contains("exactly one event"), "{e}");
        let e = bad(
            r#"{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"fixed":1.1}]}]}]}"#,
        );
        assert!(e.contains("not a string"), "{e}");
        assert!(parse(b"\xff\xfe", Encoding::Json, "t")
            .unwrap_err()
            .contains("UTF-8"));
    }

    #[test]
    fn unknown_ecosystems_and_withdrawn_records_are_kept() {
        let a = parse(
            br#"{"id":"CVE-2024-1","withdrawn":"2024-02-01T00:00:00Z","aliases":["CVE-2024-1","GHSA-x"],
                "affected":[{"package":{"ecosystem":"DHI","name":"nginx"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2-r1"}]}]}]}"#,
            Encoding::Json,
            "osv:dhi",
        )
        .unwrap();
        assert_eq!(a.withdrawn.as_deref(), Some("2024-02-01T00:00:00Z"));
        assert_eq!(a.aliases, vec!["GHSA-x"], "own id dropped from aliases");
        assert_eq!(a.affected[0].rules[0].scheme, "DHI");
        assert_eq!(a.provenance[0].source, "osv:dhi");
        assert!(a.provenance[0].fields.contains(&"withdrawn".to_string()));
    }
}
