//! VEX: OpenVEX and CycloneDX VEX documents applied to findings.
//!
//! [`parse`] reads either format (detected from the bytes) into one
//! statement model; [`apply`] sets [`Finding::vex`] on the findings the
//! statements are about. The rules — format mapping, product matching,
//! which statement wins — are in `docs/vex.md`, and in short:
//!
//! - A statement names a vulnerability (name and aliases) and products. It
//!   applies to a finding when one of its names equals the finding's id or
//!   one of its aliases (CVE and GHSA ids compared case-insensitively), and
//!   one of its products names the finding's component: a purl (qualifiers
//!   ignored unless the statement writes them; no version = every version),
//!   or the scanned image by manifest digest (every component, or only the
//!   listed subcomponents).
//! - Several statements about one finding: the latest timestamp wins; at
//!   equal times the more specific product (a versioned purl, then a
//!   version-less purl, then a whole image), then the document whose digest
//!   sorts first, then the later statement in that document.
//! - Statements that break the format's rules (an unknown status, a
//!   `not_affected` without justification or impact statement, no usable
//!   product) are skipped with a [`VexWarning`]; the rest of the document
//!   still applies. A document that is not VEX at all is a [`VexError`].

mod apply;
mod cyclonedx;
mod openvex;
mod product;
mod time;

use std::fmt;

use serde_json::Value;
use stella_model::{Digest, VexState};

pub use apply::{apply, apply_to_image, ApplyReport};
pub use product::{ProductId, PurlPattern, Specificity, VexProduct};
pub use time::Timestamp;

/// Documents larger than this are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;
/// Statements (OpenVEX `statements`, CycloneDX `vulnerabilities`) per
/// document beyond this are refused.
pub const MAX_STATEMENTS: usize = 100_000;
/// Products and subcomponents per statement beyond this are refused.
pub const MAX_PRODUCTS: usize = 10_000;

/// artifactType (and layer media type) of OpenVEX referrers.
pub const OPENVEX_MEDIA_TYPE: &str = "application/vnd.openvex+json";
/// artifactType of CycloneDX referrers, SBOM and VEX alike.
pub const CYCLONEDX_MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// The two VEX formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VexFormat {
    OpenVex,
    CycloneDx,
}

impl VexFormat {
    /// As [`stella_model::VexDecision::format`] records it.
    pub fn as_str(self) -> &'static str {
        match self {
            VexFormat::OpenVex => "openvex",
            VexFormat::CycloneDx => "cyclonedx",
        }
    }

    /// The artifactType a document of this format is attached with.
    pub fn media_type(self) -> &'static str {
        match self {
            VexFormat::OpenVex => OPENVEX_MEDIA_TYPE,
            VexFormat::CycloneDx => CYCLONEDX_MEDIA_TYPE,
        }
    }
}

impl fmt::Display for VexFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VexFormat::OpenVex => "OpenVEX",
            VexFormat::CycloneDx => "CycloneDX VEX",
        })
    }
}

/// A parsed VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexDocument {
    pub format: VexFormat,
    /// `sha256:` of the document's bytes: what findings cite.
    pub digest: Digest,
    /// OpenVEX `@id`, CycloneDX `serialNumber`.
    pub id: Option<String>,
    /// The document's own timestamp (OpenVEX `timestamp`, CycloneDX
    /// `metadata.timestamp`).
    pub timestamp: Option<Timestamp>,
    /// The statements that passed validation, in document order.
    pub statements: Vec<VexStatement>,
    /// Statements skipped and identifiers ignored, with why.
    pub warnings: Vec<VexWarning>,
}

impl VexDocument {
    /// True when some statement breaks the format's rules (and was skipped).
    pub fn has_invalid_statements(&self) -> bool {
        self.warnings.iter().any(|w| w.kind == WarningKind::Invalid)
    }
}

/// One statement: a vulnerability's status in some products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    /// Position in the document (OpenVEX `statements[i]`, CycloneDX
    /// `vulnerabilities[i]`), for messages and ordering.
    pub index: usize,
    /// The vulnerability's main id.
    pub vulnerability: String,
    /// Other ids of the same vulnerability (OpenVEX `aliases`, CycloneDX
    /// `references[].id`).
    pub aliases: Vec<String>,
    pub products: Vec<VexProduct>,
    pub state: VexState,
    /// OpenVEX `justification`, CycloneDX `analysis.justification`, as written.
    pub justification: Option<String>,
    /// OpenVEX `impact_statement`, CycloneDX `analysis.detail`.
    pub impact_statement: Option<String>,
    /// OpenVEX `action_statement`, CycloneDX `recommendation`.
    pub action_statement: Option<String>,
    /// When the statement was made (inherited from the document when the
    /// statement has none); `None` sorts before every time.
    pub timestamp: Option<Timestamp>,
}

/// A note about part of a document that was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexWarning {
    /// The statement it is about (`None`: the document).
    pub statement: Option<usize>,
    pub kind: WarningKind,
    pub message: String,
}

/// What a [`VexWarning`] says of its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningKind {
    /// The statement breaks the format's rules: skipped.
    Invalid,
    /// The statement is valid but names no product Stella can match (only
    /// CPEs, a component without purl): skipped.
    Unmatchable,
    /// Part of a kept statement was ignored, or a remark.
    Note,
}

impl fmt::Display for VexWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.statement {
            write!(f, "statement {i}: ")?;
        }
        match self.kind {
            WarningKind::Invalid => f.write_str("invalid, skipped: ")?,
            WarningKind::Unmatchable => f.write_str("skipped: ")?,
            WarningKind::Note => {}
        }
        f.write_str(&self.message)
    }
}

/// Why bytes are not a usable VEX document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VexError {
    #[error("VEX document of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("VEX document is not JSON: {0}")]
    NotJson(String),
    #[error("not a VEX document: {0}")]
    UnknownFormat(String),
    #[error("invalid {format} document: {reason}")]
    Invalid { format: VexFormat, reason: String },
}

/// Parses an OpenVEX or CycloneDX VEX document; the format is detected from
/// `@context` (`https://openvex.dev/ns…`) or `bomFormat` (`CycloneDX`).
pub fn parse(bytes: &[u8]) -> Result<VexDocument, VexError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(VexError::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| VexError::NotJson(e.to_string()))?;
    let Value::Object(root) = &value else {
        return Err(VexError::UnknownFormat(format!(
            "the top level is {}, not an object",
            kind_of(&value)
        )));
    };
    let digest = Digest::sha256_of(bytes);
    if let Some(context) = root.get("@context") {
        return match context.as_str() {
            Some(c) if c.starts_with(openvex::CONTEXT_PREFIX) => openvex::parse(root, digest),
            _ => Err(VexError::UnknownFormat(format!(
                "@context is {}, not an OpenVEX context ({}…)",
                short(context),
                openvex::CONTEXT_PREFIX
            ))),
        };
    }
    if let Some(bom_format) = root.get("bomFormat") {
        return match bom_format.as_str() {
            Some("CycloneDX") => cyclonedx::parse(root, digest),
            _ => Err(VexError::UnknownFormat(format!(
                "bomFormat is {}, not \"CycloneDX\"",
                short(bom_format)
            ))),
        };
    }
    Err(VexError::UnknownFormat(
        "neither an OpenVEX document (@context) nor a CycloneDX BOM (bomFormat)".into(),
    ))
}

/// A JSON value's kind, for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value shortened for a message (hostile documents can hold
/// megabyte strings).
pub(crate) fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}…")
    }
}

/// A string shortened for a message.
pub(crate) fn short_str(s: &str) -> String {
    short(&Value::String(s.to_string()))
}

/// Vulnerability ids as statements and findings are compared: CVE and
/// GHSA ids case-folded (their spelling varies between sources), others
/// exactly as written.
pub(crate) fn vulnerability_key(id: &str) -> String {
    let id = id.trim();
    let prefix: String = id.chars().take(5).collect::<String>().to_ascii_lowercase();
    if prefix.starts_with("cve-") || prefix == "ghsa-" {
        id.to_ascii_uppercase()
    } else {
        id.to_string()
    }
}

impl VexDocument {
    /// Records the outcome of reading statement `index`: kept when valid
    /// and matchable, else a warning saying why; then its notes.
    pub(crate) fn keep(
        &mut self,
        index: usize,
        result: Result<VexStatement, String>,
        notes: Vec<String>,
    ) {
        let warn = |kind, message| VexWarning {
            statement: Some(index),
            kind,
            message,
        };
        match result {
            Ok(s) if s.products.is_empty() => self.warnings.push(warn(
                WarningKind::Unmatchable,
                format!(
                    "{}: no product with a purl or an image digest",
                    s.vulnerability
                ),
            )),
            Ok(s) => self.statements.push(s),
            Err(why) => self.warnings.push(warn(WarningKind::Invalid, why)),
        }
        self.warnings
            .extend(notes.into_iter().map(|m| warn(WarningKind::Note, m)));
    }
}
