//! # stella-sbom
//!
//! Turns a Stella [`Inventory`] (what a scan found in an OCI image or a
//! directory) into a Software Bill of Materials in one of two standard JSON
//! formats:
//!
//! * [`cyclonedx_json`]: CycloneDX **1.6** JSON
//!   ([`cyclonedx_json_with_findings`]: with a `vulnerabilities` section);
//! * [`spdx_json`]: SPDX **2.3** JSON.
//!
//! and into the binary **BOM-Index** ([`bom_index`], `bom-index@1`): the
//! image's components by purl with the layers that hold them, small enough
//! to query thousands of images at once.
//!
//! ```no_run
//! # fn demo(inv: &stella_model::Inventory) -> Result<(), stella_sbom::SbomError> {
//! let opts = stella_sbom::SbomOptions {
//!     tool_version: "0.1.0".into(),
//!     timestamp: "2024-05-01T12:00:00Z".into(),
//! };
//! let cdx: Vec<u8> = stella_sbom::cyclonedx_json(inv, &opts)?;
//! let spdx: Vec<u8> = stella_sbom::spdx_json(inv, &opts)?;
//! # Ok(()) }
//! ```
//!
//! ## Guarantees
//!
//! * **Byte-identical output** for the same inventory and options: the
//!   writers never read the clock or a random source. The timestamp is the
//!   caller's; CycloneDX `serialNumber` and the SPDX `documentNamespace` are
//!   derived (UUIDv5 / digest) from the image identity and the tool version.
//!   Everything the writers build themselves (properties, references,
//!   relationships, extracted licenses) is sorted.
//! * **Schema-valid output**: the integration tests validate both documents
//!   with the official CycloneDX 1.6 JSON schema and with `spdx-tools`.
//! * Pretty-printed JSON, 2-space indent, trailing newline.
//!
//! The document structs are hand-written serde structs, because the published
//! crates stop at older spec versions (CycloneDX 1.5, SPDX 2.2). Every field
//! and property name we emit is documented in `docs/formats.md`.

pub mod bom_index;
mod cyclonedx;
mod ids;
mod license;
mod spdx_doc;
mod vulnerabilities;

use serde::Serialize;
use stella_model::Inventory;

pub use bom_index::{BomIndex, BomIndexError, Fleet, PurlQuery, BOM_INDEX_MEDIA_TYPE};
pub use ids::STELLA_UUID_NAMESPACE;
pub use license::{classify_license, LicenseClass};
pub use vulnerabilities::{analysis_justification, analysis_state};

/// Caller-decided inputs that are not part of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomOptions {
    /// Version of the Stella tool writing the document.
    pub tool_version: String,
    /// Creation time, RFC 3339 UTC with second precision:
    /// `YYYY-MM-DDTHH:MM:SSZ` (the only form SPDX 2.3 accepts).
    pub timestamp: String,
}

/// Why an SBOM could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("timestamp {0:?} is not of the form YYYY-MM-DDTHH:MM:SSZ")]
    BadTimestamp(String),
    #[error("tool version must not be empty")]
    EmptyToolVersion,
    #[error("finding {finding} is about {component}, which is not in the inventory")]
    UnknownComponent { finding: String, component: String },
    #[error("cannot serialize the SBOM")]
    Json(#[from] serde_json::Error),
}

/// A scan warning as one line of SBOM annotation text:
/// `stella warning: layer N: /path: message`.
pub(crate) fn warning_text(w: &stella_model::Warning) -> String {
    let mut text = String::from("stella warning: ");
    if let Some(layer) = w.layer {
        text.push_str(&format!("layer {layer}: "));
    }
    if let Some(path) = &w.path {
        text.push('/');
        text.push_str(path.trim_start_matches('/'));
        text.push_str(": ");
    }
    text.push_str(&w.message);
    text
}

/// Renders `inv` as a CycloneDX 1.6 JSON document.
pub fn cyclonedx_json(inv: &Inventory, opts: &SbomOptions) -> Result<Vec<u8>, SbomError> {
    check_options(opts)?;
    to_pretty_json(&cyclonedx::build(inv, opts))
}

/// [`cyclonedx_json`] with a `vulnerabilities` section: one entry per
/// finding, tied to its component's bom-ref (see the `vulnerabilities`
/// module docs for the mapping). With no findings the bytes equal
/// [`cyclonedx_json`]'s. A finding whose component is not in `inv` is an
/// error ([`SbomError::UnknownComponent`]).
pub fn cyclonedx_json_with_findings(
    inv: &Inventory,
    opts: &SbomOptions,
    findings: &[stella_model::Finding],
) -> Result<Vec<u8>, SbomError> {
    check_options(opts)?;
    to_pretty_json(&cyclonedx::build_with_findings(inv, opts, findings)?)
}

/// Renders `inv` as an SPDX 2.3 JSON document.
pub fn spdx_json(inv: &Inventory, opts: &SbomOptions) -> Result<Vec<u8>, SbomError> {
    spdx_json_with_files(inv, opts, &[])
}

/// A file to list in an SPDX document's `files[]` (SPDX 2.3 requires a
/// SHA1 checksum; SHA256 is added because SHA1 alone proves little).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpdxFile {
    /// Path in the scanned filesystem as SPDX wants it, `./`-rooted
    /// (`./var/lib/dpkg/status`; spdx-tools rejects `/…`).
    pub path: String,
    pub sha1_hex: String,
    pub sha256_hex: String,
}

/// [`spdx_json`] plus `files[]`: what BuildKit annotates with the layer
/// each file came from when it re-encodes a generator's `sbom.*` document.
pub fn spdx_json_with_files(
    inv: &Inventory,
    opts: &SbomOptions,
    files: &[SpdxFile],
) -> Result<Vec<u8>, SbomError> {
    check_options(opts)?;
    to_pretty_json(&spdx_doc::build_with_files(inv, opts, files))
}

fn check_options(opts: &SbomOptions) -> Result<(), SbomError> {
    if opts.tool_version.trim().is_empty() {
        return Err(SbomError::EmptyToolVersion);
    }
    if !is_utc_second_timestamp(&opts.timestamp) {
        return Err(SbomError::BadTimestamp(opts.timestamp.clone()));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with plausible field ranges. Checked here because
/// SPDX validators reject anything else (fractions, offsets) and a bad value
/// would otherwise surface only downstream.
fn is_utc_second_timestamp(ts: &str) -> bool {
    let b = ts.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z';
    shape
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) <= 23
        && num(14..16) <= 59
        && num(17..19) <= 60
}

/// serde_json's pretty printer uses a 2-space indent; we add the newline.
fn to_pretty_json<T: Serialize>(doc: &T) -> Result<Vec<u8>, SbomError> {
    let mut out = serde_json::to_vec_pretty(doc)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        assert!(is_utc_second_timestamp("2024-05-01T12:00:00Z"));
        assert!(!is_utc_second_timestamp("2024-05-01T12:00:00.123Z"));
        assert!(!is_utc_second_timestamp("2024-05-01T12:00:00+00:00"));
        assert!(!is_utc_second_timestamp("2024-13-01T12:00:00Z"));
        assert!(!is_utc_second_timestamp("2024-05-01 12:00:00Z"));
        assert!(!is_utc_second_timestamp(""));
    }
}
