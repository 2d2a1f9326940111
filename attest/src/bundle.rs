//! Sigstore bundle v0.3 holding a DSSE envelope signed with a plain key.
//!
//! Only what a keyed (non-keyless) bundle needs: `mediaType`,
//! `verificationMaterial.publicKey.hint`, `verificationMaterial.tlogEntries`
//! (kept as opaque JSON so the transparency module can interpret them), an
//! optional `timestampVerificationData` (opaque), and `dsseEnvelope`.
//! Certificates (`certificate`, `x509CertificateChain`) are rejected with a
//! typed error rather than silently ignored.

use serde_json::{json, Map, Value};

use crate::dsse::{Envelope, EnvelopeError};

pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// Hint naming the verifying key; Stella writes
    /// [`crate::keys::VerifyingKey::bundle_hint`], as cosign does.
    pub public_key_hint: String,
    /// Transparency log entries, uninterpreted.
    pub tlog_entries: Vec<Value>,
    /// `timestampVerificationData`, uninterpreted.
    pub timestamp_verification_data: Option<Value>,
    pub envelope: Envelope,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("bundle mediaType is {found:?}, expected {BUNDLE_V03_MEDIA_TYPE}")]
    MediaType { found: String },
    #[error("bundle field {0} is missing or has the wrong JSON type")]
    Field(&'static str),
    #[error("bundle verification material is {0}; only publicKey bundles are supported")]
    UnsupportedMaterial(String),
    #[error("bundle has a messageSignature, not a dsseEnvelope")]
    NotDsse,
    #[error("bundle dsseEnvelope: {0}")]
    Envelope(#[from] EnvelopeError),
}

impl Bundle {
    pub fn new(envelope: Envelope, public_key_hint: impl Into<String>) -> Bundle {
        Bundle {
            public_key_hint: public_key_hint.into(),
            tlog_entries: Vec::new(),
            timestamp_verification_data: None,
            envelope,
        }
    }

    /// Bundle JSON (compact; keys sorted by serde_json's map).
    pub fn to_json(&self) -> Vec<u8> {
        let mut material = Map::new();
        material.insert("publicKey".into(), json!({ "hint": self.public_key_hint }));
        // Empty repeated fields are omitted, as protobuf JSON (and cosign) do.
        if !self.tlog_entries.is_empty() {
            material.insert(
                "tlogEntries".into(),
                Value::Array(self.tlog_entries.clone()),
            );
        }
        if let Some(ts) = &self.timestamp_verification_data {
            material.insert("timestampVerificationData".into(), ts.clone());
        }
        let bundle = json!({
            "mediaType": BUNDLE_V03_MEDIA_TYPE,
            "verificationMaterial": material,
            "dsseEnvelope": self.envelope.to_wire_value(),
        });
        serde_json::to_vec(&bundle).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let mut root: Value = serde_json::from_slice(bytes)?;
        let media_type = root
            .get("mediaType")
            .and_then(Value::as_str)
            .ok_or(BundleError::Field("mediaType"))?;
        if media_type != BUNDLE_V03_MEDIA_TYPE {
            return Err(BundleError::MediaType {
                found: media_type.to_string(),
            });
        }
        let material = root
            .get_mut("verificationMaterial")
            .and_then(Value::as_object_mut)
            .ok_or(BundleError::Field("verificationMaterial"))?;
        for other in ["certificate", "x509CertificateChain"] {
            if material.contains_key(other) {
                return Err(BundleError::UnsupportedMaterial(other.to_string()));
            }
        }
        let public_key_hint = material
            .get("publicKey")
            .and_then(|p| p.get("hint"))
            .and_then(Value::as_str)
            .ok_or(BundleError::Field("verificationMaterial.publicKey.hint"))?
            .to_string();
        let tlog_entries = match material.remove("tlogEntries") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(BundleError::Field("verificationMaterial.tlogEntries")),
        };
        let timestamp_verification_data = material.remove("timestampVerificationData");
        let envelope = match root.get_mut("dsseEnvelope").map(Value::take) {
            Some(value) => Envelope::from_wire_value(value)?,
            None if root.get("messageSignature").is_some() => return Err(BundleError::NotDsse),
            None => return Err(BundleError::Field("dsseEnvelope")),
        };
        Ok(Bundle {
            public_key_hint,
            tlog_entries,
            timestamp_verification_data,
            envelope,
        })
    }
}
