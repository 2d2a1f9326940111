//! Predicate bodies Stella defines itself and statement helpers for images.
//!
//! CycloneDX and SPDX predicates are the SBOM documents themselves (as
//! cosign does); the verdict predicate is the policy crate's verdict JSON,
//! passed through as a value. The BOM-Index is binary, so its predicate
//! refers to the blob by OCI descriptor (digest + size) instead of
//! embedding it.

use serde::{Deserialize, Serialize};

use crate::statement::{Statement, PREDICATE_BOM_INDEX};

/// Media type of the `bom-index@1` blob (DESIGN.md §3).
pub const BOM_INDEX_MEDIA_TYPE: &str = "application/vnd.stellaops.bom-index.v1+binary";

/// Predicate of `https://stella-ops.org/attestations/bom-index/v1`: the
/// BOM-Index blob by descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BomIndexPredicate {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// `sha256:<hex>` of the BOM-Index blob.
    pub digest: String,
    pub size: u64,
}

impl BomIndexPredicate {
    pub fn new(digest: impl Into<String>, size: u64) -> BomIndexPredicate {
        BomIndexPredicate {
            media_type: BOM_INDEX_MEDIA_TYPE.to_string(),
            digest: digest.into(),
            size,
        }
    }
}

/// A v1 statement about an image manifest, as cosign writes one for an
/// image: subject name = repository (no tag/digest), digest = the manifest
/// digest (`sha256:<hex>` or bare hex).
pub fn image_statement(
    repository: &str,
    manifest_digest: &str,
    predicate_type: &str,
    predicate: serde_json::Value,
) -> Statement {
    let hex = manifest_digest
        .strip_prefix("sha256:")
        .unwrap_or(manifest_digest);
    Statement::new(
        repository,
        hex.to_ascii_lowercase(),
        predicate_type,
        predicate,
    )
}

/// A BOM-Index statement about an image.
pub fn bom_index_statement(
    repository: &str,
    manifest_digest: &str,
    bom_index: &BomIndexPredicate,
) -> Result<Statement, serde_json::Error> {
    Ok(image_statement(
        repository,
        manifest_digest,
        PREDICATE_BOM_INDEX,
        serde_json::to_value(bom_index)?,
    ))
}
