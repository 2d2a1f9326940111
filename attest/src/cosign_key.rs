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
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use serde::Deserialize;

pub const LABEL_SIGSTORE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
pub const LABEL_COSIGN: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// Refuse scrypt costs far above cosign's own (N = 2^16): a hostile key
/// file must not make us allocate gigabytes (memory is 128·r·N bytes).
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 16;

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
}

#[derive(Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
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
    if log_n > MAX_LOG_N {
        return Err(out_of_range);
    }
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|_| out_of_range)?;
    let mut box_key = [0u8; 32];
    scrypt::scrypt(password, &salt, &params, &mut box_key).map_err(|_| CosignKeyError::ScryptParams { n, r, p })?;

    if nonce.len() != 24 {
        return Err(CosignKeyError::NonceLength(nonce.len()));
    }
    let cipher = XSalsa20Poly1305::new(&box_key.into());
    cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map_err(|_| CosignKeyError::Decrypt)
}
