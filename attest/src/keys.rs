//! Signing and verifying keys: ECDSA P-256 and Ed25519.
//!
//! Private keys load from PKCS#8 PEM (`PRIVATE KEY`), SEC1 PEM
//! (`EC PRIVATE KEY`, P-256 only) or cosign's encrypted PEM
//! (see [`crate::cosign_key`]); public keys from SPKI PEM (`PUBLIC KEY`).
//! The algorithm is read from the key itself, never guessed from a name.
//!
//! A key id ([`VerifyingKey::key_id`]) is the lowercase hex SHA-256 of the
//! public key's SPKI DER encoding — the same bytes as `openssl pkey -pubin
//! -outform DER | sha256sum` — shown to users and put in DSSE `keyid`
//! hints; verification never relies on it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::pkcs8::der::pem;
use p256::pkcs8::spki::SubjectPublicKeyInfoRef;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, ObjectIdentifier,
    PrivateKeyInfo,
};
use sha2::{Digest, Sha256};

/// id-ecPublicKey (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// id-Ed25519 (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The signature algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA over NIST P-256 with SHA-256, ASN.1 DER signatures.
    EcdsaP256Sha256,
    /// Pure Ed25519 (RFC 8032) over the message.
    Ed25519,
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

/// A private key that can sign.
#[derive(Clone)]
pub enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A public key that can verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for SigningKey {
    // Never print secret material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({}, {})",
            self.algorithm(),
            self.verifying_key().key_id()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM document: {0}")]
    Pem(String),
    #[error("unexpected PEM label {found:?} (expected {expected})")]
    Label {
        found: String,
        expected: &'static str,
    },
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("unsupported key algorithm {oid} (supported: ECDSA P-256, Ed25519)")]
    UnsupportedAlgorithm { oid: String },
    #[error("EC key is not on curve P-256: {0}")]
    UnsupportedCurve(String),
    #[error(
        "password-encrypted PKCS#8 (ENCRYPTED PRIVATE KEY) is not supported: \
         decrypt it with `openssl pkey`, or convert it to cosign's format"
    )]
    EncryptedPkcs8,
    #[error("cosign key: {0}")]
    Cosign(#[from] crate::cosign_key::CosignKeyError),
}

/// Decode the first PEM block. Text before `-----BEGIN` (as `openssl -text`
/// or hand-written notes leave) is skipped; CRLF line ends are accepted.
fn decode_pem(text: &[u8]) -> Result<(String, Vec<u8>), KeyError> {
    let start = text
        .windows(b"-----BEGIN ".len())
        .position(|w| w == b"-----BEGIN ")
        .ok_or_else(|| KeyError::Pem("no -----BEGIN line".to_string()))?;
    let text = &text[start..];
    let (label, der) = pem::decode_vec(text).map_err(|e| KeyError::Pem(e.to_string()))?;
    Ok((label.to_string(), der))
}

impl SigningKey {
    /// Load a private key from PEM: PKCS#8, SEC1 (P-256) or cosign's
    /// encrypted format (then `password` is needed; `None` is an error).
    pub fn from_pem(text: &[u8], password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        let (label, der) = decode_pem(text)?;
        match label.as_str() {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(|k| SigningKey::P256(k.into()))
                .map_err(|e| KeyError::UnsupportedCurve(e.to_string())),
            crate::cosign_key::LABEL_SIGSTORE | crate::cosign_key::LABEL_COSIGN => {
                let password = password.ok_or(crate::cosign_key::CosignKeyError::NoPassword)?;
                let pkcs8 = crate::cosign_key::decrypt(&der, password)?;
                SigningKey::from_pkcs8_der(&pkcs8)
            }
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::EncryptedPkcs8),
            _ => Err(KeyError::Label {
                found: label,
                expected: "PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY",
            }),
        }
    }

    /// Load an unencrypted PKCS#8 private key (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let info = PrivateKeyInfo::try_from(der).map_err(|e| KeyError::Malformed {
            what: "PKCS#8 private key",
            detail: e.to_string(),
        })?;
        let oid = info.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::P256)
                .map_err(|e| KeyError::UnsupportedCurve(e.to_string()))
        } else if oid == OID_ED25519 {
            ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::Ed25519)
                .map_err(|e| KeyError::Malformed {
                    what: "Ed25519 private key",
                    detail: e.to_string(),
                })
        } else {
            Err(KeyError::UnsupportedAlgorithm {
                oid: oid.to_string(),
            })
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::P256(_) => Algorithm::EcdsaP256Sha256,
            SigningKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Unencrypted PKCS#8 DER (secret material: handle with care). For
    /// Ed25519 byte-identical to `openssl genpkey`'s (checked in tests).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            SigningKey::P256(k) => k.to_pkcs8_der(),
            // PKCS#8 v1 (no embedded public key), as openssl and Go write
            // it: OpenSSL 3.0 cannot read the v2 form ed25519-dalek emits.
            SigningKey::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|e| KeyError::Malformed {
                what: "private key encoding",
                detail: e.to_string(),
            })
    }

    /// cosign's encrypted PEM (`cosign.key`) for this key, so cosign can
    /// sign with a key that came from elsewhere (e.g. `openssl genpkey`).
    pub fn to_cosign_pem(&self, password: &[u8]) -> Result<String, KeyError> {
        Ok(crate::cosign_key::encrypt(&self.to_pkcs8_der()?, password)?)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
        }
    }
}

impl VerifyingKey {
    /// Load a public key from SPKI PEM (`PUBLIC KEY`, as in `cosign.pub`).
    pub fn from_pem(text: &[u8]) -> Result<VerifyingKey, KeyError> {
        let (label, der) = decode_pem(text)?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Label {
                found: label,
                expected: "PUBLIC KEY",
            });
        }
        VerifyingKey::from_spki_der(&der)
    }

    /// Load a public key from SPKI DER.
    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey, KeyError> {
        let info = SubjectPublicKeyInfoRef::try_from(der).map_err(|e| KeyError::Malformed {
            what: "SPKI public key",
            detail: e.to_string(),
        })?;
        let oid = info.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::P256)
                .map_err(|e| KeyError::UnsupportedCurve(e.to_string()))
        } else if oid == OID_ED25519 {
            ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(VerifyingKey::Ed25519)
                .map_err(|e| KeyError::Malformed {
                    what: "Ed25519 public key",
                    detail: e.to_string(),
                })
        } else {
            Err(KeyError::UnsupportedAlgorithm {
                oid: oid.to_string(),
            })
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::P256(_) => Algorithm::EcdsaP256Sha256,
            VerifyingKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// SPKI DER encoding of the key.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let doc = match self {
            VerifyingKey::P256(k) => k.to_public_key_der(),
            VerifyingKey::Ed25519(k) => k.to_public_key_der(),
        };
        // Encoding a valid in-memory key cannot fail.
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// SPKI PEM (`PUBLIC KEY`), interchangeable with `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode_string("PUBLIC KEY", pem::LineEnding::LF, &self.to_spki_der())
            .unwrap_or_default()
    }

    /// cosign's `verificationMaterial.publicKey.hint` in Sigstore bundles:
    /// standard base64 of the SHA-256 of the SPKI DER (same digest as
    /// [`VerifyingKey::key_id`], other spelling).
    pub fn bundle_hint(&self) -> String {
        STANDARD.encode(Sha256::digest(self.to_spki_der()))
    }

    /// Lowercase hex SHA-256 of the SPKI DER (see the module doc).
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.to_spki_der()))
    }
}
