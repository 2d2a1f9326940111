//! cosign's encrypted private key format (`cosign.key`).
//!
//! The PEM body (label `ENCRYPTED SIGSTORE PRIVATE KEY`, or the older
//! `ENCRYPTED COSIGN PRIVATE KEY`) is JSON:
//! `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},
//!   "cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}` with base64
//! byte fields. The 32-byte secretbox key is scrypt(password, salt, N, r, p);
//! XSalsa20-Poly1305 opens the ciphertext to a PKCS#8 DER private key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crypto_secretbox::aead::rand_core::RngCore;
use crypto_secretbox::aead::{Aead, KeyInit, OsRng};
use crypto_secretbox::XSalsa20Poly1305;
use p256::pkcs8::der::pem;
use serde::{Deserialize, Serialize};

pub const LABEL_SIGSTORE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
pub const LABEL_COSIGN: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// Refuse scrypt costs far above cosign's own (N = 2^16, r = 8: 64 MiB):
/// a hostile key file must not make us allocate gigabytes or spin for
/// minutes. Memory is 128·r·N bytes; p multiplies time only.
const MAX_SCRYPT_MEMORY: u64 = 256 << 20;
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum CosignKeyError {
    #[error("encrypted key needs a password (COSIGN_PASSWORD) and none was given")]
    NoPassword,
    #[error("encrypted key body is not the expected JSON: {0}")]
    Json(String),
    #[error("unsupported {what} {found:?} (expected {expected})")]
    Unsupported {
        what: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("field {0} is not valid base64")]
    Base64(&'static str),
    #[error("scrypt parameters out of range: N={n}, r={r}, p={p}")]
    ScryptParams { n: u64, r: u32, p: u32 },
    #[error("nonce must be 24 bytes, found {0}")]
    NonceLength(usize),
    #[error("decryption failed: wrong password or corrupted key")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// cosign's own scrypt cost (N = 2^16, r = 8, p = 1).
const COSIGN_LOG_N: u8 = 16;

/// Encrypt a PKCS#8 DER private key into a cosign PEM (label
/// [`LABEL_SIGSTORE`]) with a fresh random salt and nonce.
pub fn encrypt(pkcs8_der: &[u8], password: &[u8]) -> Result<String, CosignKeyError> {
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    encrypt_with(pkcs8_der, password, &salt, &nonce)
}

/// [`encrypt`] with caller-chosen salt and nonce (tests, reproducibility).
/// Never reuse a nonce with the same password and salt.
pub fn encrypt_with(
    pkcs8_der: &[u8],
    password: &[u8],
    salt: &[u8; 32],
    nonce: &[u8; 24],
) -> Result<String, CosignKeyError> {
    let (n, r, p) = (1u64 << COSIGN_LOG_N, 8, 1);
    let params = scrypt::Params::new(COSIGN_LOG_N, r, p, 32)
        .map_err(|_| CosignKeyError::ScryptParams { n, r, p })?;
    let mut box_key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut box_key)
        .map_err(|_| CosignKeyError::ScryptParams { n, r, p })?;
    let ciphertext = XSalsa20Poly1305::new(&box_key.into())
        .encrypt(nonce.into(), pkcs8_der)
        .map_err(|_| CosignKeyError::Encrypt)?;
    let body = EncryptedKey {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams { n, r, p },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    let json = serde_json::to_vec(&body).map_err(|e| CosignKeyError::Json(e.to_string()))?;
    pem::encode_string(LABEL_SIGSTORE, pem::LineEnding::LF, &json)
        .map_err(|_| CosignKeyError::Encrypt)
}

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Decrypt the DER body of a cosign PEM to PKCS#8 DER.
pub fn decrypt(pem_body: &[u8], password: &[u8]) -> Result<Vec<u8>, CosignKeyError> {
    let key: EncryptedKey =
        serde_json::from_slice(pem_body).map_err(|e| CosignKeyError::Json(e.to_string()))?;
    if key.kdf.name != "scrypt" {
        return Err(CosignKeyError::Unsupported {
            what: "kdf",
            found: key.kdf.name,
            expected: "scrypt",
        });
    }
    if key.cipher.name != "nacl/secretbox" {
        return Err(CosignKeyError::Unsupported {
            what: "cipher",
            found: key.cipher.name,
            expected: "nacl/secretbox",
        });
    }
    let salt = STANDARD
        .decode(&key.kdf.salt)
        .map_err(|_| CosignKeyError::Base64("kdf.salt"))?;
    let nonce = STANDARD
        .decode(&key.cipher.nonce)
        .map_err(|_| CosignKeyError::Base64("cipher.nonce"))?;
    let ciphertext = STANDARD
        .decode(&key.ciphertext)
        .map_err(|_| CosignKeyError::Base64("ciphertext"))?;

    let ScryptParams { n, r, p } = key.kdf.params;
    let out_of_range = CosignKeyError::ScryptParams { n, r, p };
    if !n.is_power_of_two() || n < 2 || r == 0 || r > MAX_R || p == 0 || p > MAX_P {
        return Err(out_of_range);
    }
    let log_n = n.trailing_zeros() as u8;
    if log_n > MAX_LOG_N || 128 * u64::from(r) * n > MAX_SCRYPT_MEMORY {
        return Err(out_of_range);
    }
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|_| out_of_range)?;
    let mut box_key = [0u8; 32];
    scrypt::scrypt(password, &salt, &params, &mut box_key)
        .map_err(|_| CosignKeyError::ScryptParams { n, r, p })?;

    if nonce.len() != 24 {
        return Err(CosignKeyError::NonceLength(nonce.len()));
    }
    let cipher = XSalsa20Poly1305::new(&box_key.into());
    cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map_err(|_| CosignKeyError::Decrypt)
}
