//! Signing statements into DSSE envelopes and verifying them.
//!
//! Signatures cover `PAE(payloadType, payload)`. ECDSA P-256 signs the
//! SHA-256 of it with an RFC 6979 deterministic nonce and writes ASN.1 DER
//! (as cosign does); Ed25519 signs it directly. Both are deterministic, so
//! the same statement and key always give byte-identical envelopes.

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;

use crate::dsse::{Envelope, Signature, IN_TOTO_PAYLOAD_TYPE};
use crate::keys::{SigningKey, VerifyingKey};
use crate::statement::{Statement, StatementError};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("statement cannot be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Envelope(#[from] crate::dsse::EnvelopeError),
    #[error("payloadType is {found:?}, expected {IN_TOTO_PAYLOAD_TYPE}")]
    WrongPayloadType { found: String },
    #[error("envelope has no signatures")]
    NoSignatures,
    #[error("no public key given to verify with")]
    NoKeys,
    #[error("none of the {signatures} signature(s) verifies with the given key(s) {key_ids:?}")]
    NoValidSignature {
        signatures: usize,
        key_ids: Vec<String>,
    },
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error("predicateType is {found:?}, expected {expected:?}")]
    WrongPredicateType { expected: String, found: String },
}

/// A verified envelope: its statement and which signature/key matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub statement: Statement,
    /// Index into the `keys` given to [`verify`].
    pub key_index: usize,
    /// Index into the envelope's signatures.
    pub signature_index: usize,
}

/// Sign raw bytes over PAE into a one-signature envelope.
///
/// `keyid` is left empty, as cosign writes it: sigstore-go (cosign 2.5
/// `--new-bundle-format` verification) skips every signature whose
/// non-empty keyid differs from its own notion of the key's id, and
/// rejected our envelopes when it carried [`VerifyingKey::key_id`] or the
/// bundle hint (measured, see `tests/cosign_interop.rs`). Show the key id
/// from the key instead.
pub fn sign_payload(payload_type: &str, payload: Vec<u8>, key: &SigningKey) -> Envelope {
    let mut envelope = Envelope::new(payload_type, payload);
    let sig = sign_bytes(&envelope.pae(), key);
    envelope.signatures.push(Signature {
        keyid: String::new(),
        sig,
    });
    envelope
}

/// Sign an in-toto statement into a one-signature DSSE envelope.
pub fn sign_statement(statement: &Statement, key: &SigningKey) -> Result<Envelope, SignError> {
    Ok(sign_payload(
        IN_TOTO_PAYLOAD_TYPE,
        statement.to_json()?,
        key,
    ))
}

/// Sign raw bytes (no PAE): ECDSA P-256 → DER over SHA-256, Ed25519 → 64 bytes.
pub fn sign_bytes(message: &[u8], key: &SigningKey) -> Vec<u8> {
    match key {
        SigningKey::P256(k) => {
            // RFC 6979 nonce; SHA-256 of the message; DER like cosign.
            let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
            sig.to_der().as_bytes().to_vec()
        }
        SigningKey::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
    }
}

/// Does `sig` verify `message` under `key`? Malformed signatures are just
/// "no": a signature made for another key type must not be an error.
pub fn verify_bytes(message: &[u8], sig: &[u8], key: &VerifyingKey) -> bool {
    match key {
        VerifyingKey::P256(k) => {
            p256::ecdsa::DerSignature::from_bytes(sig).is_ok_and(|s| k.verify(message, &s).is_ok())
        }
        VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
    }
}

/// Verify an envelope against trusted keys: payloadType must be in-toto,
/// some signature must verify over PAE with some key (keyid hints are
/// ignored), and only then is the payload parsed as a Statement.
pub fn verify(envelope: &Envelope, keys: &[VerifyingKey]) -> Result<Verified, VerifyError> {
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(VerifyError::WrongPayloadType {
            found: envelope.payload_type.clone(),
        });
    }
    if envelope.signatures.is_empty() {
        return Err(VerifyError::NoSignatures);
    }
    if keys.is_empty() {
        return Err(VerifyError::NoKeys);
    }
    let message = envelope.pae();
    let matched = envelope.signatures.iter().enumerate().find_map(|(si, s)| {
        keys.iter()
            .position(|k| verify_bytes(&message, &s.sig, k))
            .map(|ki| (si, ki))
    });
    let Some((signature_index, key_index)) = matched else {
        return Err(VerifyError::NoValidSignature {
            signatures: envelope.signatures.len(),
            key_ids: keys.iter().map(VerifyingKey::key_id).collect(),
        });
    };
    let statement = Statement::from_json(&envelope.payload)?;
    Ok(Verified {
        statement,
        key_index,
        signature_index,
    })
}

/// [`verify`] for envelope JSON bytes (bad JSON / base64 become errors).
pub fn verify_json(envelope_json: &[u8], keys: &[VerifyingKey]) -> Result<Verified, VerifyError> {
    verify(&Envelope::from_json(envelope_json)?, keys)
}

/// What `stella verify` checks beyond the signature: the predicate type
/// (already resolved, e.g. by [`crate::statement::predicate_type_for`]) and
/// the artifact's sha256 the statement must be about.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    pub predicate_type: Option<&'a str>,
    pub subject_sha256: Option<&'a str>,
}

/// Verify envelope JSON as an attestation: [`verify_json`], then the
/// expected predicate type, then [`crate::statement::verify_subject`].
/// Checks run in that order, so the error names the first thing wrong.
pub fn verify_attestation(
    envelope_json: &[u8],
    keys: &[VerifyingKey],
    expect: &Expect<'_>,
) -> Result<Verified, VerifyError> {
    let verified = verify_json(envelope_json, keys)?;
    if let Some(expected) = expect.predicate_type {
        if verified.statement.predicate_type != expected {
            return Err(VerifyError::WrongPredicateType {
                expected: expected.to_string(),
                found: verified.statement.predicate_type,
            });
        }
    }
    if let Some(sha256) = expect.subject_sha256 {
        crate::statement::verify_subject(&verified.statement, sha256)?;
    }
    Ok(verified)
}
