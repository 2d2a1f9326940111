//! The canonical advisory: what every feed connector (OSV, GHSA, distro
//! trackers) is turned into, and what the matcher reads. Field names follow
//! OSV where OSV has the concept; what OSV lacks (statuses, normalized
//! rules, provenance) is Stella's.
//!
//! Everything is plain, sorted data: the same input gives the same bytes.

use serde::{Deserialize, Serialize};

/// Schema tag of a serialized advisory collection.
pub const ADVISORY_SCHEMA: &str = "stella-advisory@1";

/// One advisory (one vulnerability as one source describes it, or several
/// merged).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Advisory {
    /// The advisory key: the source's id (`GHSA-…`, `PYSEC-…`, `CVE-…`).
    pub id: String,
    /// Other ids of the same vulnerability, sorted, without `id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids this advisory derives from (OSV `upstream`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// RFC 3339 timestamps as the source wrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Set when the source retracted the advisory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<Severity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<AdvisoryReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<AffectedPackage>,
    /// Where the data came from, one entry per source document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<Provenance>,
    /// For a merged advisory: which source each field was taken from and
    /// why, sorted by field. Empty for a single source's record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<MergeDecision>,
}

/// How one field of a merged advisory was chosen among the records of its
/// alias group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeDecision {
    /// The field (`summary`, `severities`, `affected[PyPI/jinja2]`, …).
    pub field: String,
    /// The source whose value was taken (for `union`: the first listed).
    pub chosen_source: String,
    /// The record id the value was taken from.
    pub chosen_id: String,
    /// Every record that had a value for the field, best first.
    pub candidates: Vec<MergeCandidate>,
    pub decision_reason: DecisionReason,
}

/// A record that offered a value for a merged field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeCandidate {
    pub source: String,
    pub id: String,
}

/// Why a merged field holds the value it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionReason {
    /// The source ranks above the others for this kind of data.
    Precedence,
    /// Equal rank; the most recently modified record won.
    Freshness,
    /// Equal rank and freshness; decided by source name, then record id.
    TieBreaker,
    /// Every candidate's values were kept (aliases, severities, …).
    Union,
}

/// A severity score as one source states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Severity {
    /// The source that stated it (a [`Provenance::source`]).
    pub source: String,
    pub kind: SeverityKind,
    /// The vector or score exactly as written (`CVSS:3.1/AV:N/…`).
    pub vector: String,
    /// The base score computed from the vector, when it parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SeverityKind {
    CvssV2,
    CvssV3,
    CvssV4,
    /// A source-specific scale (e.g. Ubuntu's priority words).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AdvisoryReference {
    /// OSV reference type (`ADVISORY`, `FIX`, `WEB`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// One package the advisory is about, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedPackage {
    /// The ecosystem as the source names it (`PyPI`, `Debian:12`, `DHI`).
    pub ecosystem: String,
    pub name: String,
    /// For distro binary packages: the source package the fix is made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    pub status: AffectedStatus,
    /// The source's ranges as typed events, in the source's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<VersionRange>,
    /// Versions listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// `ranges` as normalized rules (what the matcher evaluates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<VersionRule>,
    /// In a merged advisory: the sources that state exactly this entry
    /// (sorted). Empty in a single source's record (see `provenance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// What the advisory says of the package.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum AffectedStatus {
    #[default]
    Affected,
    Fixed,
    NotAffected,
    WillNotFix,
    FixDeferred,
    EndOfLife,
    UnderInvestigation,
}

/// A range in the source's terms: which ordering, and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRange {
    /// The ordering: a version scheme name (`semver`, `deb`, `pypi`, …),
    /// `git` for commit ranges, or the source's word when unknown.
    pub scheme: String,
    /// For `git` ranges: the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub events: Vec<RangeEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// A normalized version rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRule {
    pub scheme: String,
    #[serde(rename = "type")]
    pub kind: RuleKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_inclusive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inclusive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// `min`/`max` bounds (either may be absent: unbounded on that side).
    #[default]
    Range,
    /// Exactly `value`.
    Exact,
    /// Below `max`.
    Lt,
    /// At most `max`.
    Lte,
    /// Above `min`.
    Gt,
    /// At least `min`.
    Gte,
}

/// One source document behind an advisory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The source's name (`osv:pypa`, `ghsa`, `debian-tracker`).
    pub source: String,
    /// `sha256:` of the document's bytes as read.
    pub document_digest: String,
    /// When it was fetched; absent for offline imports (determinism).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// Which advisory fields this document supplied, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}
