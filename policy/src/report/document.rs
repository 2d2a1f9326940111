//! The findings JSON document (`stella-findings@1`): what `stella scan
//! --feeds … -o findings-json` writes and what the other reports read.

use serde::{Deserialize, Serialize};
use stella_model::{ArtifactRef, Digest, Distro, Finding, Verdict, FINDINGS_SCHEMA};

use super::ReportError;

/// One scan's findings with what they were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsDocument {
    /// [`FINDINGS_SCHEMA`].
    pub schema: String,
    /// What was scanned, as the user named it (`registry:…`, `oci-dir:…`,
    /// `dir:…`).
    pub source: String,
    /// The scanned manifest, when the source was an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
    /// The distro from os-release, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// The feeds DB the findings were computed with.
    pub feeds: ArtifactRef,
    /// Every finding, VEX'd ones included (see [`Finding::is_active`]).
    pub findings: Vec<Finding>,
    /// The policy's conclusion, when a policy was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl FindingsDocument {
    /// A document without subject, distro or verdict (set the fields).
    pub fn new(source: impl Into<String>, feeds: ArtifactRef, findings: Vec<Finding>) -> Self {
        FindingsDocument {
            schema: FINDINGS_SCHEMA.to_string(),
            source: source.into(),
            subject: None,
            distro: None,
            feeds,
            findings,
            verdict: None,
        }
    }

    /// The findings in [`Finding::sort_key`] order, exact duplicates
    /// dropped, with each finding's id lists sorted: what every report
    /// iterates, so their bytes do not depend on the caller's order.
    pub fn sorted_findings(&self) -> Vec<Finding> {
        let mut findings = self.findings.clone();
        for f in &mut findings {
            f.aliases.sort();
            f.aliases.dedup();
            // Shared lists (the matcher's are sorted already) are copied
            // only when they need sorting.
            if !f.references.windows(2).all(|w| w[0] < w[1]) {
                let mut references = f.references.to_vec();
                references.sort();
                references.dedup();
                f.references = references.into();
            }
        }
        findings.sort_by(|a, b| {
            a.sort_key()
                .cmp(&b.sort_key())
                // Same key, different content: order by the JSON form so
                // the result is still total and stable.
                .then_with(|| json_key(a).cmp(&json_key(b)))
        });
        findings.dedup();
        findings
    }

    pub(crate) fn check_schema(&self) -> Result<(), ReportError> {
        if self.schema == FINDINGS_SCHEMA {
            Ok(())
        } else {
            Err(ReportError::WrongSchema(self.schema.clone()))
        }
    }
}

fn json_key(f: &Finding) -> String {
    serde_json::to_string(f).unwrap_or_default()
}

/// The document as pretty JSON (2-space indent) with a trailing newline,
/// findings sorted: byte-identical for the same findings in any order.
pub fn findings_json(doc: &FindingsDocument) -> Result<Vec<u8>, ReportError> {
    doc.check_schema()?;
    let mut doc = doc.clone();
    doc.findings = doc.sorted_findings();
    if let Some(v) = &mut doc.verdict {
        v.reasons.sort();
        v.waived.sort();
        v.vex.sort();
    }
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|source| ReportError::Json {
        format: "findings-json",
        source,
    })?;
    out.push(b'\n');
    Ok(out)
}
