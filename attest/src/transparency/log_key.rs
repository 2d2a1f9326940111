//! Public keys of transparency logs: ECDSA P-256 (Rekor's key type) and
//! Ed25519, loaded from SPKI (PEM or DER), and the log ID Rekor derives
//! from them (SHA-256 of the SPKI DER).

use sha2::{Digest, Sha256};

use crate::keys::VerifyingKey;
use crate::sign::verify_bytes;

/// Why a log key could not be loaded or a signature by it did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogKeyError {
    #[error("not an ECDSA P-256 or Ed25519 SubjectPublicKeyInfo: {0}")]
    UnsupportedKey(String),
    #[error("signature is not well formed for a {alg} key: {reason}")]
    MalformedSignature { alg: &'static str, reason: String },
    #[error("{alg} signature does not verify under the log key")]
    SignatureMismatch { alg: &'static str },
}

/// A transparency log's public key: the same keys (and the same signature
/// checks) as attestation signers, [`VerifyingKey`], with typed failures
/// and the log ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey(VerifyingKey);

impl From<VerifyingKey> for LogKey {
    fn from(key: VerifyingKey) -> LogKey {
        LogKey(key)
    }
}

impl LogKey {
    /// Loads a `PUBLIC KEY` PEM (SubjectPublicKeyInfo).
    pub fn from_spki_pem(pem: &str) -> Result<Self, LogKeyError> {
        VerifyingKey::from_pem(pem.as_bytes())
            .map(LogKey)
            .map_err(|e| LogKeyError::UnsupportedKey(e.to_string()))
    }

    /// Loads a DER SubjectPublicKeyInfo (what a trusted root's `rawBytes` holds).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, LogKeyError> {
        VerifyingKey::from_spki_der(der)
            .map(LogKey)
            .map_err(|e| LogKeyError::UnsupportedKey(e.to_string()))
    }

    /// The key itself.
    pub fn key(&self) -> &VerifyingKey {
        &self.0
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn spki_der(&self) -> Vec<u8> {
        self.0.to_spki_der()
    }

    /// Rekor's log ID: SHA-256 of the SPKI DER.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.spki_der()).into()
    }

    pub fn algorithm(&self) -> &'static str {
        match self.0 {
            VerifyingKey::P256(_) => "ECDSA P-256",
            VerifyingKey::Ed25519(_) => "Ed25519",
        }
    }

    /// Verifies `sig` over `message`: ECDSA with SHA-256 and an ASN.1 DER
    /// signature (what Rekor writes), or plain Ed25519 (64 bytes).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), LogKeyError> {
        let alg = self.algorithm();
        let malformed = |reason: String| LogKeyError::MalformedSignature { alg, reason };
        match self.0 {
            VerifyingKey::P256(_) => p256::ecdsa::DerSignature::from_bytes(sig)
                .map(drop)
                .map_err(|e| malformed(e.to_string()))?,
            VerifyingKey::Ed25519(_) => ed25519_dalek::Signature::from_slice(sig)
                .map(drop)
                .map_err(|e| malformed(e.to_string()))?,
        }
        if verify_bytes(message, sig, &self.0) {
            Ok(())
        } else {
            Err(LogKeyError::SignatureMismatch { alg })
        }
    }
}
