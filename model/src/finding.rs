//! Findings and verdicts: what the matcher says of an inventory (which
//! installed package an advisory hits, by which rule, with which evidence),
//! what VEX said of it, and what a policy concluded.
//!
//! Like the rest of the model, plain sorted data: the same inputs give the
//! same bytes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{AffectedStatus, ComponentKind, Digest, SeverityKind};

/// Schema tag of a findings report (`stella scan --feeds … -o json`).
pub const FINDINGS_SCHEMA: &str = "stella-findings@1";
/// Schema tag of a verdict document.
pub const VERDICT_SCHEMA: &str = "stella-verdict@1";

/// One advisory hitting one installed component.
///
/// The component and the reference list are shared (`Arc`) by every
/// finding of the same component or advisory: an old image can have a
/// hundred thousand findings, and copying them made the matcher spend
/// most of its time faulting in fresh memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The advisory's canonical id (a CVE id when its alias group has one).
    pub id: String,
    /// Every other id of the vulnerability, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The component as the scan found it, with its layer and file evidence.
    pub component: Arc<FindingComponent>,
    /// The version that was compared: the binary package's version, or the
    /// source package's version when the advisory names the source package.
    pub installed_version: String,
    /// The lowest version that fixes it, when the advisory names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// What the advisory says of the installed version (`affected`,
    /// `will-not-fix`, `fix-deferred`, …).
    pub status: AffectedStatus,
    /// The severity the finding is rated by (see `severities` for all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<FindingSeverity>,
    /// Every severity the advisory's sources state, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<FindingSeverity>,
    /// Why it matched.
    pub matched_by: MatchRule,
    /// Advisory dates (RFC 3339, as the source wrote them): policies judge
    /// a finding's age by `published`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Reference URLs, sorted.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub references: Arc<[String]>,
    /// Set when a VEX statement applies to this finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<VexDecision>,
}

fn is_empty(list: &Arc<[String]>) -> bool {
    list.is_empty()
}

impl Finding {
    /// The key findings are sorted and deduplicated by: advisory id, then
    /// the component's identity and first evidence path.
    pub fn sort_key(&self) -> (&str, &str, ComponentKind, &str, &str, Option<&str>) {
        (
            self.id.as_str(),
            self.component.purl.as_deref().unwrap_or(""),
            self.component.kind,
            self.component.name.as_str(),
            self.component.version.as_str(),
            self.component.evidence.first().map(String::as_str),
        )
    }

    /// True unless VEX says the finding does not apply (`not_affected`,
    /// `fixed`).
    pub fn is_active(&self) -> bool {
        !matches!(
            self.vex.as_ref().map(|v| v.state),
            Some(VexState::NotAffected | VexState::Fixed)
        )
    }
}

/// The installed component a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingComponent {
    pub kind: ComponentKind,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// For distro packages: the source package (`name`, `version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Index into the inventory's layer table, and that layer's diffID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_diff_id: Option<Digest>,
    /// The files that record the component (paths without leading `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Licenses as the package database records them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
}

/// Qualitative rating (CVSS v3/v4 bands: none 0, low < 4, medium < 7,
/// high < 9, critical ≥ 9).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    #[default]
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Rating {
    /// The band of a CVSS base score.
    pub fn from_score(score: f64) -> Rating {
        if score >= 9.0 {
            Rating::Critical
        } else if score >= 7.0 {
            Rating::High
        } else if score >= 4.0 {
            Rating::Medium
        } else if score > 0.0 {
            Rating::Low
        } else {
            Rating::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Unknown => "unknown",
            Rating::None => "none",
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }
}

/// One source's severity for a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingSeverity {
    /// The source that stated it (`osv:pypa`, `debian-tracker`, …).
    pub source: String,
    pub kind: SeverityKind,
    /// The vector or word exactly as written.
    pub vector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
    pub rating: Rating,
}

/// How the matcher tied the advisory to the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchRule {
    /// The advisory's ecosystem and package name that matched
    /// (`Debian:12`/`openssl`, `PyPI`/`jinja2`, `Go`/`stdlib`).
    pub ecosystem: String,
    pub package: String,
    /// Which name of the component was used: `package`, `source-package`,
    /// `go-stdlib`.
    pub key: String,
    /// The version scheme the versions were ordered by (`deb`, `pypi`, …).
    pub scheme: String,
    /// The rule that contains the installed version, in words
    /// (`>=1.0.0, <1.26.5`, `= 2.0.1`, `all versions`).
    pub rule: String,
    /// The sources that state the matching affected entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// What a VEX statement said of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VexDecision {
    pub state: VexState,
    /// OpenVEX justification / CycloneDX `analysis.justification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_statement: Option<String>,
    /// The VEX document (`sha256:` of its bytes) and its format
    /// (`openvex`, `cyclonedx`).
    pub document: String,
    pub format: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexState {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

/// A policy's conclusion about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// [`VERDICT_SCHEMA`].
    pub schema: String,
    pub outcome: Outcome,
    /// The scanned manifest, when the source was an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
    /// The policy's name and revision (its manifest digest, or the digest
    /// of the file's bytes when read from a file).
    pub policy: ArtifactRef,
    /// The feeds DB the findings were computed with.
    pub feeds: ArtifactRef,
    /// The VEX documents that were applied, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vex: Vec<ArtifactRef>,
    /// The time rules about age and expiry were judged at (RFC 3339 UTC).
    pub evaluated_at: String,
    /// One entry per (rule, finding) that warned or failed, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<VerdictReason>,
    /// Findings an exception waived, with the exception.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<VerdictReason>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    #[default]
    Pass,
    Warn,
    Fail,
}

/// A named, digest-pinned input of a verdict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRef {
    /// Where it was read from (a reference, `oci-dir:…`, a file path).
    pub name: String,
    pub digest: Digest,
}

/// Why a verdict is what it is: a rule and the finding (or component, for
/// license and package rules) it fired on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictReason {
    /// The rule's id in the policy.
    pub rule: String,
    pub action: Outcome,
    /// The finding's advisory id, when the rule is about findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// The component's purl (or `kind:name@version` when it has none).
    pub component: String,
    /// One sentence naming the values compared.
    pub message: String,
    /// For waived findings: the exception's id and expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}
