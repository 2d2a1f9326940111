//! cosign's registry layout for attestations (`--cosign-compat`), as
//! cosign 2.5 writes and reads it; pure bytes, no registry I/O.
//!
//! Measured with `cosign attest --tlog-upload=false` against a local
//! distribution registry: for image manifest `sha256:<hex>` cosign writes
//! an OCI image manifest tagged `sha256-<hex>.att` whose layers are DSSE
//! envelopes (`application/vnd.dsse.envelope.v1+json`, annotations
//! `dev.cosignproject.cosign/signature: ""` and `predicateType`), one layer
//! per attestation (a new attestation appends a layer), and whose config is
//! an image config with zero timestamps listing the layers as `diff_ids`.
//! The statement subject is `registry/repository` with the manifest digest.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::dsse::ENVELOPE_MEDIA_TYPE;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The zero time cosign writes into the config (deterministic).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("not a sha256 manifest digest: {0:?}")]
    BadDigest(String),
    #[error("attestation manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("attestation manifest field {0} is missing or has the wrong type")]
    Field(String),
    #[error("blob digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Check fetched bytes against the digest that named them.
pub fn verify_blob_digest(bytes: &[u8], expected: &str) -> Result<(), LayoutError> {
    let actual = sha256_digest(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(LayoutError::DigestMismatch {
            expected: expected.to_string(),
            actual,
        })
    }
}

/// The tag cosign stores attestations of `manifest_digest` under.
pub fn attestation_tag(manifest_digest: &str) -> Result<String, LayoutError> {
    let hex = manifest_digest
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .ok_or_else(|| LayoutError::BadDigest(manifest_digest.to_string()))?;
    Ok(format!("sha256-{hex}.att"))
}

/// One attestation layer to write: the envelope JSON and its predicate type.
#[derive(Debug, Clone)]
pub struct AttestationLayer {
    pub envelope_json: Vec<u8>,
    pub predicate_type: String,
}

/// Everything to push for a `.att` tag: blobs first (config, layers), then
/// the manifest bytes exactly as given (their digest is `manifest_digest`).
#[derive(Debug, Clone)]
pub struct AttestationImage {
    pub config: Vec<u8>,
    pub config_digest: String,
    /// (digest, bytes) per layer, in manifest order.
    pub layers: Vec<(String, Vec<u8>)>,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
}

/// Build the `.att` image for these attestations (order kept).
pub fn attestation_image(layers: &[AttestationLayer]) -> AttestationImage {
    let layer_digests: Vec<String> = layers
        .iter()
        .map(|l| sha256_digest(&l.envelope_json))
        .collect();
    let config = json!({
        "architecture": "",
        "created": ZERO_TIME,
        "history": layers.iter().map(|_| json!({"created": ZERO_TIME})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": layer_digests},
        "config": {},
    });
    // Values built from strings and numbers always serialize.
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let config_digest = sha256_digest(&config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": config.len(), "digest": config_digest},
        "layers": layers.iter().zip(&layer_digests).map(|(l, digest)| json!({
            "mediaType": ENVELOPE_MEDIA_TYPE,
            "size": l.envelope_json.len(),
            "digest": digest,
            "annotations": {
                SIGNATURE_ANNOTATION: "",
                PREDICATE_TYPE_ANNOTATION: l.predicate_type,
            },
        })).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    AttestationImage {
        manifest_digest: sha256_digest(&manifest),
        config,
        config_digest,
        layers: layer_digests
            .into_iter()
            .zip(layers.iter().map(|l| l.envelope_json.clone()))
            .collect(),
        manifest,
    }
}

/// A DSSE layer found in a `.att` manifest (fetch it by digest, check it
/// with [`verify_blob_digest`], then verify the envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLayer {
    pub digest: String,
    pub size: u64,
    /// The `predicateType` annotation: a hint for filtering only; the
    /// signed statement is what counts.
    pub predicate_type: Option<String>,
}

/// The DSSE envelope layers of a `.att` manifest, in order.
pub fn attestation_layers(manifest: &[u8]) -> Result<Vec<FoundLayer>, LayoutError> {
    let manifest: Value = serde_json::from_slice(manifest)?;
    let layers = manifest
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| LayoutError::Field("layers".into()))?;
    let mut found = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        if layer.get("mediaType").and_then(Value::as_str) != Some(ENVELOPE_MEDIA_TYPE) {
            continue;
        }
        let digest = layer
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| LayoutError::Field(format!("layers[{i}].digest")))?;
        let size = layer
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| LayoutError::Field(format!("layers[{i}].size")))?;
        let predicate_type = layer
            .get("annotations")
            .and_then(|a| a.get(PREDICATE_TYPE_ANNOTATION))
            .and_then(Value::as_str)
            .map(str::to_string);
        found.push(FoundLayer {
            digest: digest.to_string(),
            size,
            predicate_type,
        });
    }
    Ok(found)
}
