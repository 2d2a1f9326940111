//! Does a log entry log *this* attestation? A valid inclusion proof only
//! says the entry's body is in the log; these checks tie the body to the
//! envelope or signature the caller holds (a bundle could otherwise carry
//! a genuine entry for some other artifact).
//!
//! Body shapes (as Rekor canonicalizes them):
//! * `intoto` 0.0.2: `spec.content.payloadHash.value` = hex SHA-256 of the
//!   DSSE payload; `spec.content.envelope.signatures[].sig` = base64 of the
//!   envelope's base64 signature text;
//! * `dsse` 0.0.1: `spec.payloadHash.value`; `spec.signatures[].signature`
//!   = base64 of the signature bytes;
//! * `hashedrekord` 0.0.1: `spec.data.hash.value` = hex SHA-256 of the
//!   artifact; `spec.signature.content` = base64 of the signature.

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::entry::{EntryParseError, EntryVerifyError, LogEntry, TrustedLog, VerifiedEntry};
use crate::dsse::Envelope;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why an entry does not log the caller's attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("entry body is not JSON")]
    BodyNotJson,
    #[error("entry kind {kind} {version} cannot be bound to a DSSE envelope / signature here")]
    UnsupportedKind { kind: String, version: String },
    #[error("entry body has no `{0}`")]
    MissingField(&'static str),
    #[error("entry logs payload sha256 {in_log}, the envelope's payload has sha256 {actual}")]
    PayloadHashMismatch { in_log: String, actual: String },
    #[error("entry logs artifact sha256 {in_log}, the artifact has sha256 {actual}")]
    ArtifactDigestMismatch { in_log: String, actual: String },
    #[error("none of the envelope's signatures is the one the entry logs")]
    SignatureNotInLog,
}

fn text<'a>(body: &'a Value, pointer: &'static str) -> Result<&'a str, BindingError> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or(BindingError::MissingField(pointer))
}

fn kind(body: &Value) -> (String, String) {
    let s = |k| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("kind"), s("apiVersion"))
}

impl LogEntry {
    fn body_json(&self) -> Result<Value, BindingError> {
        serde_json::from_slice(&self.body).map_err(|_| BindingError::BodyNotJson)
    }

    /// Checks an `intoto` 0.0.2 or `dsse` 0.0.1 entry logs this DSSE
    /// payload and one of these signatures (raw signature bytes).
    pub fn verify_dsse_binding(
        &self,
        payload: &[u8],
        signatures: &[Vec<u8>],
    ) -> Result<(), BindingError> {
        let body = self.body_json()?;
        let (k, v) = kind(&body);
        let (hash_ptr, sigs_ptr, sig_field, double_b64) = match (k.as_str(), v.as_str()) {
            ("intoto", "0.0.2") => (
                "/spec/content/payloadHash/value",
                "/spec/content/envelope/signatures",
                "sig",
                true,
            ),
            ("dsse", "0.0.1") => (
                "/spec/payloadHash/value",
                "/spec/signatures",
                "signature",
                false,
            ),
            _ => {
                return Err(BindingError::UnsupportedKind {
                    kind: k,
                    version: v,
                })
            }
        };
        let in_log = text(&body, hash_ptr)?;
        let actual = hex::encode(Sha256::digest(payload));
        if !in_log.eq_ignore_ascii_case(&actual) {
            return Err(BindingError::PayloadHashMismatch {
                in_log: in_log.to_string(),
                actual,
            });
        }
        let logged: Vec<Vec<u8>> = body
            .pointer(sigs_ptr)
            .and_then(Value::as_array)
            .ok_or(BindingError::MissingField("signatures"))?
            .iter()
            .filter_map(|s| s.get(sig_field).and_then(Value::as_str))
            .filter_map(|s| B64.decode(s).ok())
            // intoto 0.0.2 stores the envelope's base64 text as bytes.
            .filter_map(|b| {
                if double_b64 {
                    B64.decode(b).ok()
                } else {
                    Some(b)
                }
            })
            .collect();
        if signatures.iter().any(|s| logged.contains(s)) {
            Ok(())
        } else {
            Err(BindingError::SignatureNotInLog)
        }
    }

    /// Checks a `hashedrekord` 0.0.1 entry logs this artifact digest and signature.
    pub fn verify_hashedrekord_binding(
        &self,
        artifact_sha256: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), BindingError> {
        let body = self.body_json()?;
        let (k, v) = kind(&body);
        if (k.as_str(), v.as_str()) != ("hashedrekord", "0.0.1") {
            return Err(BindingError::UnsupportedKind {
                kind: k,
                version: v,
            });
        }
        let in_log = text(&body, "/spec/data/hash/value")?;
        let actual = hex::encode(artifact_sha256);
        if !in_log.eq_ignore_ascii_case(&actual) {
            return Err(BindingError::ArtifactDigestMismatch {
                in_log: in_log.to_string(),
                actual,
            });
        }
        let logged = B64
            .decode(text(&body, "/spec/signature/content")?)
            .map_err(|_| BindingError::MissingField("/spec/signature/content"))?;
        if logged == signature {
            Ok(())
        } else {
            Err(BindingError::SignatureNotInLog)
        }
    }
}

/// Why a log entry does not vouch for a DSSE envelope: the entry itself
/// does not verify against the trusted log, or it logs something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeEntryError {
    #[error("log entry JSON: {0}")]
    Parse(#[from] EntryParseError),
    #[error("{0}")]
    Entry(#[from] EntryVerifyError),
    #[error("entry does not log this envelope: {0}")]
    Binding(#[from] BindingError),
}

impl EnvelopeEntryError {
    /// A short stable name of what failed, for reports.
    pub fn code(&self) -> &'static str {
        use super::checkpoint::CheckpointError as C;
        match self {
            EnvelopeEntryError::Parse(_) => "malformed-entry",
            EnvelopeEntryError::Entry(e) => match e {
                EntryVerifyError::UnknownLog { .. } => "unknown-log",
                EntryVerifyError::KindMismatch { .. } => "kind-mismatch",
                EntryVerifyError::NoInclusionProof => "no-inclusion-proof",
                EntryVerifyError::InclusionProof(_) => "inclusion-proof",
                EntryVerifyError::NoCheckpoint => "no-checkpoint",
                EntryVerifyError::Checkpoint(C::Malformed(_)) => "malformed-checkpoint",
                EntryVerifyError::Checkpoint(_) => "checkpoint-signature",
                EntryVerifyError::CheckpointMismatch { .. } => "checkpoint-mismatch",
                EntryVerifyError::NoSignedEntryTimestamp => "no-set",
                EntryVerifyError::SignedEntryTimestamp(_) => "set-signature",
            },
            EnvelopeEntryError::Binding(_) => "other-envelope",
        }
    }
}

impl LogEntry {
    /// Everything that makes this entry a transparency-log record of
    /// `envelope`: the offline checks of [`LogEntry::verify`] (log ID, kind,
    /// inclusion, checkpoint, SET) and then the binding (the body logs this
    /// payload's hash and one of these signatures).
    pub fn verify_for_envelope(
        &self,
        log: &TrustedLog,
        envelope: &Envelope,
    ) -> Result<VerifiedEntry, EnvelopeEntryError> {
        let verified = self.verify(log)?;
        self.verify_dsse_binding(&envelope.payload, &signatures_of(envelope))?;
        Ok(verified)
    }

    /// [`LogEntry::verify_for_envelope`] for an entry without an inclusion
    /// proof (cosign's `.att` layer annotation): log ID, kind, SET, binding.
    pub fn verify_promise_for_envelope(
        &self,
        log: &TrustedLog,
        envelope: &Envelope,
    ) -> Result<VerifiedEntry, EnvelopeEntryError> {
        let verified = self.verify_promise(log)?;
        self.verify_dsse_binding(&envelope.payload, &signatures_of(envelope))?;
        Ok(verified)
    }
}

fn signatures_of(envelope: &Envelope) -> Vec<Vec<u8>> {
    envelope.signatures.iter().map(|s| s.sig.clone()).collect()
}
