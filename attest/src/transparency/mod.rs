//! Transparency log support: RFC 6962 Merkle proofs ([`merkle`]), signed
//! checkpoints in the signed-note format ([`checkpoint`]), Rekor v1 log
//! entries verified offline ([`entry`]) and tied to the envelope they
//! log ([`binding`]), a blocking Rekor v1 REST client
//! ([`client`]) and the DSSE batch-size sweep ([`sweep`]).
//!
//! Offline verification needs only the log's public key (for the
//! public-good Rekor: ECDSA P-256, log ID
//! `c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d`).

pub mod binding;
pub mod checkpoint;
pub mod client;
pub mod entry;
pub mod log_key;
pub mod merkle;
pub mod sweep;

pub use binding::{BindingError, EnvelopeEntryError};
pub use checkpoint::{CheckpointError, NoteVerifier, SignedCheckpoint, SignedNote};
pub use entry::{
    EntryParseError, EntryVerifyError, InclusionProof, LogEntry, TrustedLog, VerifiedEntry,
};
pub use log_key::{LogKey, LogKeyError};
pub use merkle::{leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash, ProofError};

/// Lower-case hex, as logs write log IDs and hashes (for callers without
/// a hex crate of their own).
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
