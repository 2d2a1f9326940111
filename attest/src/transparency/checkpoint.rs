//! Signed checkpoints in the signed-note format Rekor and other tlog
//! implementations publish:
//!
//! ```text
//! <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n...]
//! \n
//! — <signer name> <base64(key hash (4 bytes) || signature)>\n
//! ```
//!
//! The signature covers the note text up to and including the newline
//! before the blank line. The 4-byte key hash says which key signed: for
//! Ed25519 note keys it is the first 4 bytes of
//! `SHA-256(name || "\n" || 0x01 || public key)` (the Go note format); for
//! Rekor's ECDSA key it is the first 4 bytes of the log ID (SHA-256 of the
//! SPKI DER).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::log_key::{LogKey, LogKeyError};
use super::merkle::Hash;
use crate::keys::VerifyingKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The em dash and space every signature line starts with.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("checkpoint has no signature by {name} with key hash {key_hash}")]
    NoSignatureFromKey { name: String, key_hash: String },
    #[error("checkpoint signature by {name} does not verify: {source}")]
    BadSignature { name: String, source: LogKeyError },
}

/// The signed body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// First line: the log's origin (Rekor: `rekor.sigstore.dev - <tree id>`).
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    /// Further lines before the blank line (opaque extension data).
    pub extensions: Vec<String>,
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hash: [u8; 4],
    pub signature: Vec<u8>,
}

/// A checkpoint together with its signatures and the exact signed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub signatures: Vec<NoteSignature>,
    signed_text: String,
}

/// A key that signs notes under a name.
#[derive(Debug, Clone)]
pub struct NoteVerifier {
    pub name: String,
    pub key_hash: [u8; 4],
    pub key: LogKey,
    /// Accept this key's signature under any signer name (see
    /// [`NoteVerifier::for_key`]); `name` is then unused.
    pub any_name: bool,
}

impl NoteVerifier {
    /// The verifier for a Rekor (v1) log: ECDSA keys are named by the first
    /// 4 bytes of the log ID; Ed25519 keys by the Go note key hash.
    pub fn for_log(name: &str, key: LogKey) -> Self {
        let key_hash = match key.key() {
            VerifyingKey::P256(_) => first4(&key.log_id()),
            VerifyingKey::Ed25519(k) => ed25519_note_key_hash(name, k.as_bytes()),
        };
        NoteVerifier {
            name: name.to_string(),
            key_hash,
            key,
            any_name: false,
        }
    }

    /// The verifier for a log known only by its key (`--rekor-key`): a
    /// signature line under any name counts when its key hash is this
    /// key's. Rekor's own verifier does not check the name either; for
    /// Ed25519 the key hash covers the name, so it is computed with each
    /// line's own name.
    pub fn for_key(key: LogKey) -> Self {
        let mut verifier = NoteVerifier::for_log("", key);
        verifier.any_name = true;
        verifier
    }

    /// Whether a signature line is this key's (name and key hash).
    fn matches(&self, sig: &NoteSignature) -> bool {
        if !self.any_name {
            return sig.name == self.name && sig.key_hash == self.key_hash;
        }
        match self.key.key() {
            VerifyingKey::Ed25519(k) => {
                sig.key_hash == ed25519_note_key_hash(&sig.name, k.as_bytes())
            }
            VerifyingKey::P256(_) => sig.key_hash == self.key_hash,
        }
    }

    /// The name reported in errors.
    fn display_name(&self) -> String {
        if self.any_name {
            "the log key (any name)".to_string()
        } else {
            self.name.clone()
        }
    }
}

impl NoteVerifier {
    /// Parses a Go note verifier key `<name>+<hex key hash>+<base64(0x01 || Ed25519 key)>`
    /// and checks its key hash.
    pub fn from_ed25519_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let bad = |m: &str| CheckpointError::Malformed(format!("verifier key: {m}"));
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+hash+key"));
        };
        let raw = B64.decode(b64).map_err(|_| bad("key is not base64"))?;
        let (&alg, key) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if alg != 1 {
            return Err(bad("algorithm is not Ed25519 (1)"));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let key_hash = ed25519_note_key_hash(name, &key);
        if hex::encode(key_hash) != hash_hex {
            return Err(bad("key hash does not match the key"));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| bad("not an Ed25519 point"))?;
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash,
            key: LogKey::from(VerifyingKey::Ed25519(key)),
            any_name: false,
        })
    }
}

/// `SHA-256(name || "\n" || 0x01 || key)[..4]`, the Go note format's key hash
/// for Ed25519 (algorithm byte 1).
pub fn ed25519_note_key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([1u8]);
    h.update(public_key);
    first4(&h.finalize().into())
}

fn first4(h: &[u8; 32]) -> [u8; 4] {
    [h[0], h[1], h[2], h[3]]
}

/// A signed note: text (ending in a newline), a blank line, signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, including its final newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Splits a note into its text and signature lines.
    pub fn parse(note: &str) -> Result<Self, CheckpointError> {
        let bad = |m: &str| CheckpointError::Malformed(m.to_string());
        let split = note
            .find("\n\n")
            .ok_or_else(|| bad("no blank line between the text and the signatures"))?;
        let text = &note[..split + 1];
        let sig_block = &note[split + 2..];
        if !sig_block.ends_with('\n') {
            return Err(bad("signature block does not end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in sig_block.lines() {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
                CheckpointError::Malformed(format!(
                    "signature line {line:?} does not start with an em dash"
                ))
            })?;
            let (name, b64) = rest
                .rsplit_once(' ')
                .ok_or_else(|| bad("signature line has no name"))?;
            let raw = B64.decode(b64).map_err(|e| {
                CheckpointError::Malformed(format!("signature of {name} is not base64: {e}"))
            })?;
            if raw.len() < 5 {
                return Err(CheckpointError::Malformed(format!(
                    "signature of {name} is too short"
                )));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_hash: [raw[0], raw[1], raw[2], raw[3]],
                signature: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(bad("no signature lines"));
        }
        Ok(SignedNote {
            text: text.to_string(),
            signatures,
        })
    }

    /// Checks that a signature by `verifier` (same name and key hash) is
    /// present and valid. Other signers' lines are ignored, as in the note
    /// format (cosigners).
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), CheckpointError> {
        let sig = self
            .signatures
            .iter()
            .find(|s| verifier.matches(s))
            .ok_or_else(|| CheckpointError::NoSignatureFromKey {
                name: verifier.display_name(),
                key_hash: hex::encode(verifier.key_hash),
            })?;
        verifier
            .key
            .verify(self.text.as_bytes(), &sig.signature)
            .map_err(|source| CheckpointError::BadSignature {
                name: sig.name.clone(),
                source,
            })
    }
}

impl SignedCheckpoint {
    /// Parses a signed note holding a checkpoint.
    pub fn parse(note: &str) -> Result<Self, CheckpointError> {
        let bad = |m: &str| CheckpointError::Malformed(m.to_string());
        let note = SignedNote::parse(note)?;
        let mut lines = note.text.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("empty origin line"))?;
        let size_line = lines.next().ok_or_else(|| bad("no tree size line"))?;
        let tree_size: u64 = size_line.parse().map_err(|_| {
            CheckpointError::Malformed(format!("tree size {size_line:?} is not a number"))
        })?;
        let root_line = lines.next().ok_or_else(|| bad("no root hash line"))?;
        let root = B64
            .decode(root_line)
            .map_err(|e| CheckpointError::Malformed(format!("root hash is not base64: {e}")))?;
        let root_hash: Hash = root.as_slice().try_into().map_err(|_| {
            CheckpointError::Malformed(format!("root hash has {} bytes, not 32", root.len()))
        })?;
        let extensions = lines.map(str::to_string).collect();
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: origin.to_string(),
                tree_size,
                root_hash,
                extensions,
            },
            signatures: note.signatures,
            signed_text: note.text,
        })
    }

    /// The bytes the signatures cover.
    pub fn signed_text(&self) -> &str {
        &self.signed_text
    }

    /// Checks the checkpoint carries a valid signature by `verifier`.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), CheckpointError> {
        SignedNote {
            text: self.signed_text.clone(),
            signatures: self.signatures.clone(),
        }
        .verify(verifier)
    }
}
