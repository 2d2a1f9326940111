//! Public keys of transparency logs: ECDSA P-256 (Rekor's key type) and
//! Ed25519, loaded from SPKI (PEM or DER), and the log ID Rekor derives
//! from them (SHA-256 of the SPKI DER).

use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest, Sha256};

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

/// A transparency log's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl LogKey {
    /// Loads a `PUBLIC KEY` PEM (SubjectPublicKeyInfo).
    pub fn from_spki_pem(pem: &str) -> Result<Self, LogKeyError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(LogKey::EcdsaP256(k));
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(LogKey::Ed25519)
            .map_err(|e| LogKeyError::UnsupportedKey(e.to_string()))
    }

    /// Loads a DER SubjectPublicKeyInfo (what a trusted root's `rawBytes` holds).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, LogKeyError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(LogKey::EcdsaP256(k));
        }
        ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(LogKey::Ed25519)
            .map_err(|e| LogKeyError::UnsupportedKey(e.to_string()))
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn spki_der(&self) -> Vec<u8> {
        // Encoding a valid in-memory key cannot fail; an empty result would
        // only make log IDs mismatch, never verify something wrongly.
        match self {
            LogKey::EcdsaP256(k) => k
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            LogKey::Ed25519(k) => k
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Rekor's log ID: SHA-256 of the SPKI DER.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.spki_der()).into()
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            LogKey::EcdsaP256(_) => "ECDSA P-256",
            LogKey::Ed25519(_) => "Ed25519",
        }
    }

    /// Verifies `sig` over `message`: ECDSA with SHA-256 and an ASN.1 DER
    /// signature (what Rekor writes), or plain Ed25519 (64 bytes).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), LogKeyError> {
        let alg = self.algorithm();
        match self {
            LogKey::EcdsaP256(k) => {
                let s = p256::ecdsa::DerSignature::from_bytes(sig).map_err(|e| {
                    LogKeyError::MalformedSignature {
                        alg,
                        reason: e.to_string(),
                    }
                })?;
                k.verify(message, &s)
                    .map_err(|_| LogKeyError::SignatureMismatch { alg })
            }
            LogKey::Ed25519(k) => {
                let s = ed25519_dalek::Signature::from_slice(sig).map_err(|e| {
                    LogKeyError::MalformedSignature {
                        alg,
                        reason: e.to_string(),
                    }
                })?;
                k.verify_strict(message, &s)
                    .map_err(|_| LogKeyError::SignatureMismatch { alg })
            }
        }
    }
}
