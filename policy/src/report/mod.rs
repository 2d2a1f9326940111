//! Reports: findings and verdicts as a findings JSON document, a terminal
//! table and SARIF 2.1.0 (GitHub code scanning). The CycloneDX
//! `vulnerabilities` section lives in `stella-sbom` (it extends the SBOM
//! writer).
//!
//! Every writer only formats: it takes a [`FindingsDocument`] (what a scan
//! with `--feeds` produced) and never decides anything about the findings.
//! All outputs are deterministic: findings are written in
//! [`Finding::sort_key`] order (the table: by severity first), nothing
//! reads the clock.

mod document;
mod sarif;
mod table;

pub use document::{findings_json, FindingsDocument};
pub use sarif::{sarif, sarif_level, security_severity, SarifOptions, SARIF_SCHEMA_URI};
pub use table::{table, TableOptions};

use stella_model::{AffectedStatus, Finding, Rating, VexState};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot serialize the {format} report")]
    Json {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("findings document schema is {0:?}, expected {expected:?}", expected = stella_model::FINDINGS_SCHEMA)]
    WrongSchema(String),
    #[error("tool version must not be empty")]
    EmptyToolVersion,
}

/// The rating a finding is ranked by: its chosen severity, else unknown.
pub fn rating_of(f: &Finding) -> Rating {
    f.severity.as_ref().map(|s| s.rating).unwrap_or_default()
}

/// The advisory's word for the installed version, as the model serializes it.
pub fn status_str(status: AffectedStatus) -> &'static str {
    match status {
        AffectedStatus::Affected => "affected",
        AffectedStatus::Fixed => "fixed",
        AffectedStatus::NotAffected => "not-affected",
        AffectedStatus::WillNotFix => "will-not-fix",
        AffectedStatus::FixDeferred => "fix-deferred",
        AffectedStatus::EndOfLife => "end-of-life",
        AffectedStatus::UnderInvestigation => "under-investigation",
    }
}

/// The VEX state as OpenVEX writes it.
pub fn vex_state_str(state: VexState) -> &'static str {
    match state {
        VexState::NotAffected => "not_affected",
        VexState::Affected => "affected",
        VexState::Fixed => "fixed",
        VexState::UnderInvestigation => "under_investigation",
    }
}

/// What names the component in one line: its purl, else `kind:name@version`
/// (the form [`stella_model::VerdictReason::component`] uses too).
pub fn component_label(f: &Finding) -> String {
    let c = &f.component;
    crate::rules::component_label(c.kind, &c.name, &c.version, c.purl.as_deref())
}

/// Where the component came from, for humans: the layer's short diffID
/// (`sha256:` dropped, 12 hex), else `#index`, else `None`.
pub fn layer_label(f: &Finding) -> Option<String> {
    match (&f.component.layer_diff_id, f.component.layer) {
        (Some(d), _) => Some(d.short().to_string()),
        (None, Some(i)) => Some(format!("#{i}")),
        (None, None) => None,
    }
}
