//! Rekor v1 log entries, parsed from either shape they travel in and
//! verified offline against a trusted log key:
//!
//! * the REST API's answer: `{"<uuid>": {body, integratedTime, logID,
//!   logIndex, verification: {inclusionProof{…, checkpoint}, signedEntryTimestamp}}}`
//!   (hex hashes, numbers, base64 body);
//! * a Sigstore bundle's `verificationMaterial.tlogEntries[]`
//!   (`logIndex`, `logId.keyId`, `kindVersion`, `integratedTime`,
//!   `inclusionPromise`, `inclusionProof{…, checkpoint.envelope}`,
//!   `canonicalizedBody`; base64 hashes, 64-bit integers as strings).
//!
//! Verification checks, each with its own error: the entry names the
//! trusted log; the leaf hash of the canonicalized body is included under
//! the proof's root; the checkpoint is signed by the log and commits to
//! the same root and size; the signed entry timestamp (SET) verifies.

use base64::Engine as _;
use serde_json::Value;

use super::checkpoint::{CheckpointError, NoteVerifier, SignedCheckpoint};
use super::log_key::{LogKey, LogKeyError};
use super::merkle::{leaf_hash, verify_inclusion, Hash, ProofError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why log entry JSON could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryParseError {
    #[error("log entry JSON is not valid: {0}")]
    Json(String),
    #[error("log entry field `{field}` is missing or has the wrong type")]
    MissingField { field: &'static str },
    #[error("log entry field `{field}` is not valid {encoding}: {reason}")]
    BadEncoding {
        field: &'static str,
        encoding: &'static str,
        reason: String,
    },
}

/// Why a log entry did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryVerifyError {
    #[error("entry is from log {entry_log_id}, not the trusted log {trusted_log_id}")]
    UnknownLog {
        entry_log_id: String,
        trusted_log_id: String,
    },
    #[error("entry has no inclusion proof")]
    NoInclusionProof,
    #[error("inclusion proof does not verify: {0}")]
    InclusionProof(ProofError),
    #[error("inclusion proof has no checkpoint")]
    NoCheckpoint,
    #[error("checkpoint rejected: {0}")]
    Checkpoint(CheckpointError),
    #[error("checkpoint commits to size {checkpoint_size} root {checkpoint_root}, the proof to size {proof_size} root {proof_root}")]
    CheckpointMismatch {
        checkpoint_size: u64,
        checkpoint_root: String,
        proof_size: u64,
        proof_root: String,
    },
    #[error("entry has no signed entry timestamp")]
    NoSignedEntryTimestamp,
    #[error("signed entry timestamp does not verify: {0}")]
    SignedEntryTimestamp(LogKeyError),
    #[error("body is kind {body} but the entry says {declared}")]
    KindMismatch { body: String, declared: String },
}

/// An inclusion proof as Rekor returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the leaf in the (shard's) tree the proof is for.
    pub log_index: u64,
    pub root_hash: Hash,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, when the log sent one.
    pub checkpoint: Option<String>,
}

/// One transparency log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The entry UUID (REST API shape only).
    pub uuid: Option<String>,
    /// The canonicalized body: the bytes the Merkle leaf hashes.
    pub body: Vec<u8>,
    pub integrated_time: i64,
    pub log_id: [u8; 32],
    /// Global log index (what the SET signs).
    pub log_index: u64,
    /// `(kind, version)` from a bundle's `kindVersion`.
    pub kind_version: Option<(String, String)>,
    pub inclusion_proof: Option<InclusionProof>,
    pub signed_entry_timestamp: Option<Vec<u8>>,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub integrated_time: i64,
    /// Whether `integrated_time` is vouched for by a verified SET.
    pub set_verified: bool,
    /// Whether an inclusion proof and checkpoint were verified (false for
    /// a promise-only check, [`LogEntry::verify_promise`]; `tree_size` and
    /// `root_hash` are then zero).
    pub inclusion_verified: bool,
}

/// The log an entry must come from: its key and the name it signs
/// checkpoints with (`rekor.sigstore.dev` for the public-good Rekor).
#[derive(Debug, Clone)]
pub struct TrustedLog {
    pub key: LogKey,
    pub checkpoint_signer: NoteVerifier,
    /// Reject entries without a SET (bundles v0.3 may omit the promise
    /// when they carry an inclusion proof).
    pub require_set: bool,
}

impl TrustedLog {
    pub fn new(key: LogKey, checkpoint_name: &str) -> Self {
        TrustedLog {
            checkpoint_signer: NoteVerifier::for_log(checkpoint_name, key.clone()),
            key,
            require_set: false,
        }
    }

    /// A log known only by its public key (`--rekor-key`): checkpoints
    /// signed with this key count under any signer name
    /// ([`NoteVerifier::for_key`]).
    pub fn for_key(key: LogKey) -> Self {
        TrustedLog {
            checkpoint_signer: NoteVerifier::for_key(key.clone()),
            key,
            require_set: false,
        }
    }
}

fn field<'a>(v: &'a Value, name: &'static str) -> Result<&'a Value, EntryParseError> {
    v.get(name)
        .ok_or(EntryParseError::MissingField { field: name })
}

fn str_field<'a>(v: &'a Value, name: &'static str) -> Result<&'a str, EntryParseError> {
    field(v, name)?
        .as_str()
        .ok_or(EntryParseError::MissingField { field: name })
}

/// A 64-bit integer written as a JSON number (REST API) or a string (bundle).
fn int_field(v: &Value, name: &'static str) -> Result<i64, EntryParseError> {
    let f = field(v, name)?;
    if let Some(n) = f.as_i64() {
        return Ok(n);
    }
    f.as_str()
        .and_then(|s| s.parse().ok())
        .ok_or(EntryParseError::MissingField { field: name })
}

fn uint_field(v: &Value, name: &'static str) -> Result<u64, EntryParseError> {
    let n = int_field(v, name)?;
    u64::try_from(n).map_err(|_| EntryParseError::BadEncoding {
        field: name,
        encoding: "non-negative integer",
        reason: n.to_string(),
    })
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, EntryParseError> {
    B64.decode(s).map_err(|e| EntryParseError::BadEncoding {
        field,
        encoding: "base64",
        reason: e.to_string(),
    })
}

fn hash32(field: &'static str, bytes: Vec<u8>) -> Result<Hash, EntryParseError> {
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| EntryParseError::BadEncoding {
            field,
            encoding: "32-byte hash",
            reason: format!("{} bytes", bytes.len()),
        })
}

/// An inclusion proof's `hashes`, each decoded by `decode` (hex in REST
/// answers, base64 in bundles).
fn proof_hashes(
    proof: &Value,
    decode: impl Fn(&str) -> Result<Hash, EntryParseError>,
) -> Result<Vec<Hash>, EntryParseError> {
    let missing = EntryParseError::MissingField { field: "hashes" };
    field(proof, "hashes")?
        .as_array()
        .ok_or(missing.clone())?
        .iter()
        .map(|h| h.as_str().ok_or(missing.clone()).and_then(&decode))
        .collect()
}

fn hex32(field: &'static str, s: &str) -> Result<Hash, EntryParseError> {
    let bytes = hex::decode(s).map_err(|e| EntryParseError::BadEncoding {
        field,
        encoding: "hex",
        reason: e.to_string(),
    })?;
    hash32(field, bytes)
}

impl LogEntry {
    /// Parses the REST API's answer to create / get entry: a map from
    /// UUID to entry. Entries come back sorted by UUID.
    pub fn parse_rekor_response(json: &[u8]) -> Result<Vec<LogEntry>, EntryParseError> {
        let v: Value =
            serde_json::from_slice(json).map_err(|e| EntryParseError::Json(e.to_string()))?;
        let map = v.as_object().ok_or(EntryParseError::Json(
            "expected an object keyed by entry UUID".into(),
        ))?;
        let mut out = Vec::with_capacity(map.len());
        for (uuid, e) in map {
            let mut entry = LogEntry::from_rekor_entry(e)?;
            entry.uuid = Some(uuid.clone());
            out.push(entry);
        }
        Ok(out)
    }

    /// Parses one REST API entry object (the value under its UUID).
    pub fn from_rekor_entry(e: &Value) -> Result<LogEntry, EntryParseError> {
        let body = b64("body", str_field(e, "body")?)?;
        let log_id = hex32("logID", str_field(e, "logID")?)?;
        let verification = e.get("verification");
        let inclusion_proof = match verification.and_then(|v| v.get("inclusionProof")) {
            None | Some(Value::Null) => None,
            Some(p) => Some(InclusionProof {
                log_index: uint_field(p, "logIndex")?,
                root_hash: hex32("rootHash", str_field(p, "rootHash")?)?,
                tree_size: uint_field(p, "treeSize")?,
                hashes: proof_hashes(p, |s| hex32("hashes", s))?,
                checkpoint: p
                    .get("checkpoint")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
        };
        let signed_entry_timestamp = match verification
            .and_then(|v| v.get("signedEntryTimestamp"))
            .and_then(Value::as_str)
        {
            Some(s) => Some(b64("signedEntryTimestamp", s)?),
            None => None,
        };
        Ok(LogEntry {
            uuid: None,
            body,
            integrated_time: int_field(e, "integratedTime")?,
            log_id,
            log_index: uint_field(e, "logIndex")?,
            kind_version: None,
            inclusion_proof,
            signed_entry_timestamp,
        })
    }

    /// Parses one element of a Sigstore bundle's
    /// `verificationMaterial.tlogEntries`.
    pub fn from_bundle_tlog_entry(e: &Value) -> Result<LogEntry, EntryParseError> {
        let log_id = hash32(
            "logId.keyId",
            b64("logId.keyId", str_field(field(e, "logId")?, "keyId")?)?,
        )?;
        let kind_version = match e.get("kindVersion").filter(|kv| !kv.is_null()) {
            Some(kv) => Some((
                str_field(kv, "kind")?.to_string(),
                str_field(kv, "version")?.to_string(),
            )),
            None => None,
        };
        let inclusion_proof = match e.get("inclusionProof") {
            None | Some(Value::Null) => None,
            Some(p) => Some(InclusionProof {
                log_index: uint_field(p, "logIndex")?,
                root_hash: hash32("rootHash", b64("rootHash", str_field(p, "rootHash")?)?)?,
                tree_size: uint_field(p, "treeSize")?,
                hashes: proof_hashes(p, |s| hash32("hashes", b64("hashes", s)?))?,
                checkpoint: p
                    .get("checkpoint")
                    .and_then(|c| c.get("envelope"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
        };
        let signed_entry_timestamp = match e
            .get("inclusionPromise")
            .and_then(|p| p.get("signedEntryTimestamp"))
            .and_then(Value::as_str)
        {
            Some(s) => Some(b64("inclusionPromise.signedEntryTimestamp", s)?),
            None => None,
        };
        Ok(LogEntry {
            uuid: None,
            body: b64("canonicalizedBody", str_field(e, "canonicalizedBody")?)?,
            integrated_time: int_field(e, "integratedTime")?,
            log_id,
            log_index: uint_field(e, "logIndex")?,
            kind_version,
            inclusion_proof,
            signed_entry_timestamp,
        })
    }

    /// All `verificationMaterial.tlogEntries` of a Sigstore bundle (any
    /// version from v0.1 to v0.3: the entry shape is the same).
    pub fn parse_bundle_tlog_entries(bundle_json: &[u8]) -> Result<Vec<LogEntry>, EntryParseError> {
        let v: Value = serde_json::from_slice(bundle_json)
            .map_err(|e| EntryParseError::Json(e.to_string()))?;
        field(field(&v, "verificationMaterial")?, "tlogEntries")?
            .as_array()
            .ok_or(EntryParseError::MissingField {
                field: "tlogEntries",
            })?
            .iter()
            .map(LogEntry::from_bundle_tlog_entry)
            .collect()
    }

    /// `(kind, apiVersion)` the canonicalized body states (empty strings
    /// when the body is not JSON or does not say).
    pub fn body_kind_version(&self) -> (String, String) {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        (text("kind"), text("apiVersion"))
    }

    /// This entry as an element of a Sigstore bundle's
    /// `verificationMaterial.tlogEntries` (protobuf JSON: 64-bit integers
    /// as strings, bytes in base64; `kindVersion` from the body), the shape
    /// [`LogEntry::from_bundle_tlog_entry`] reads back.
    pub fn to_bundle_tlog_entry(&self) -> Value {
        let (kind, version) = match &self.kind_version {
            Some(kv) => kv.clone(),
            None => self.body_kind_version(),
        };
        let mut entry = serde_json::json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": B64.encode(self.log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": self.integrated_time.to_string(),
            "canonicalizedBody": B64.encode(&self.body),
        });
        if let Some(set) = &self.signed_entry_timestamp {
            entry["inclusionPromise"] =
                serde_json::json!({"signedEntryTimestamp": B64.encode(set)});
        }
        if let Some(p) = &self.inclusion_proof {
            let mut proof = serde_json::json!({
                "logIndex": p.log_index.to_string(),
                "rootHash": B64.encode(p.root_hash),
                "treeSize": p.tree_size.to_string(),
                "hashes": p.hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
            });
            if let Some(cp) = &p.checkpoint {
                proof["checkpoint"] = serde_json::json!({ "envelope": cp });
            }
            entry["inclusionProof"] = proof;
        }
        entry
    }

    /// The leaf hash of this entry in the log's Merkle tree.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.body)
    }

    /// The entry UUID Rekor derives from the leaf: its hex leaf hash.
    pub fn leaf_uuid(&self) -> String {
        hex::encode(self.leaf_hash())
    }

    /// The bytes the SET signs: the canonical JSON (sorted keys, no
    /// whitespace, RFC 8785) of `{body, integratedTime, logID, logIndex}`
    /// with the body in base64 and the log ID in hex.
    pub fn set_payload(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct SetPayload<'a> {
            body: &'a str,
            #[serde(rename = "integratedTime")]
            integrated_time: i64,
            #[serde(rename = "logID")]
            log_id: &'a str,
            #[serde(rename = "logIndex")]
            log_index: u64,
        }
        let body = B64.encode(&self.body);
        let log_id = hex::encode(self.log_id);
        // Field order above is the sorted order; serde_json writes compactly.
        serde_json::to_vec(&SetPayload {
            body: &body,
            integrated_time: self.integrated_time,
            log_id: &log_id,
            log_index: self.log_index,
        })
        .unwrap_or_default()
    }

    /// Checks the leaf is included under the proof's root.
    pub fn verify_inclusion(&self) -> Result<&InclusionProof, EntryVerifyError> {
        let proof = self
            .inclusion_proof
            .as_ref()
            .ok_or(EntryVerifyError::NoInclusionProof)?;
        verify_inclusion(
            proof.log_index,
            proof.tree_size,
            &self.leaf_hash(),
            &proof.hashes,
            &proof.root_hash,
        )
        .map_err(EntryVerifyError::InclusionProof)?;
        Ok(proof)
    }

    /// Checks the proof's checkpoint is signed by the log and names the
    /// proof's root and size.
    pub fn verify_checkpoint(&self, log: &TrustedLog) -> Result<(), EntryVerifyError> {
        let proof = self
            .inclusion_proof
            .as_ref()
            .ok_or(EntryVerifyError::NoInclusionProof)?;
        let note = proof
            .checkpoint
            .as_deref()
            .ok_or(EntryVerifyError::NoCheckpoint)?;
        let cp = SignedCheckpoint::parse(note).map_err(EntryVerifyError::Checkpoint)?;
        cp.verify(&log.checkpoint_signer)
            .map_err(EntryVerifyError::Checkpoint)?;
        if cp.checkpoint.tree_size != proof.tree_size || cp.checkpoint.root_hash != proof.root_hash
        {
            return Err(EntryVerifyError::CheckpointMismatch {
                checkpoint_size: cp.checkpoint.tree_size,
                checkpoint_root: hex::encode(cp.checkpoint.root_hash),
                proof_size: proof.tree_size,
                proof_root: hex::encode(proof.root_hash),
            });
        }
        Ok(())
    }

    /// Checks the SET over the entry's fields.
    pub fn verify_set(&self, key: &LogKey) -> Result<(), EntryVerifyError> {
        let set = self
            .signed_entry_timestamp
            .as_ref()
            .ok_or(EntryVerifyError::NoSignedEntryTimestamp)?;
        key.verify(&self.set_payload(), set)
            .map_err(EntryVerifyError::SignedEntryTimestamp)
    }

    /// Checks the body's `kind`/`apiVersion` against the declared `kindVersion`.
    fn verify_kind(&self) -> Result<(), EntryVerifyError> {
        let Some((kind, version)) = &self.kind_version else {
            return Ok(());
        };
        let (body_kind, body_version) = self.body_kind_version();
        if body_kind != *kind || body_version != *version {
            return Err(EntryVerifyError::KindMismatch {
                body: format!("{body_kind} {body_version}"),
                declared: format!("{kind} {version}"),
            });
        }
        Ok(())
    }

    /// All offline checks, in order: log ID, kind, inclusion, checkpoint,
    /// SET (when present, or always with `require_set`).
    pub fn verify(&self, log: &TrustedLog) -> Result<VerifiedEntry, EntryVerifyError> {
        let trusted = log.key.log_id();
        if self.log_id != trusted {
            return Err(EntryVerifyError::UnknownLog {
                entry_log_id: hex::encode(self.log_id),
                trusted_log_id: hex::encode(trusted),
            });
        }
        self.verify_kind()?;
        let proof = self.verify_inclusion()?;
        self.verify_checkpoint(log)?;
        let set_verified = if self.signed_entry_timestamp.is_some() || log.require_set {
            self.verify_set(&log.key)?;
            true
        } else {
            false
        };
        Ok(VerifiedEntry {
            log_index: self.log_index,
            tree_size: proof.tree_size,
            root_hash: proof.root_hash,
            integrated_time: self.integrated_time,
            set_verified,
            inclusion_verified: true,
        })
    }

    /// The checks possible without an inclusion proof: the entry names the
    /// trusted log and its SET (the log's promise to include the entry)
    /// verifies. What cosign's `.att` layers carry (see
    /// [`LogEntry::from_cosign_bundle_annotation`]).
    pub fn verify_promise(&self, log: &TrustedLog) -> Result<VerifiedEntry, EntryVerifyError> {
        let trusted = log.key.log_id();
        if self.log_id != trusted {
            return Err(EntryVerifyError::UnknownLog {
                entry_log_id: hex::encode(self.log_id),
                trusted_log_id: hex::encode(trusted),
            });
        }
        self.verify_kind()?;
        self.verify_set(&log.key)?;
        Ok(VerifiedEntry {
            log_index: self.log_index,
            tree_size: 0,
            root_hash: [0; 32],
            integrated_time: self.integrated_time,
            set_verified: true,
            inclusion_verified: false,
        })
    }

    /// Parses cosign's `dev.sigstore.cosign/bundle` layer annotation:
    /// `{"SignedEntryTimestamp": <base64>, "Payload": {"body": <base64>,
    /// "integratedTime": N, "logIndex": N, "logID": <hex>}}` (no inclusion
    /// proof).
    pub fn from_cosign_bundle_annotation(json: &[u8]) -> Result<LogEntry, EntryParseError> {
        let v: Value =
            serde_json::from_slice(json).map_err(|e| EntryParseError::Json(e.to_string()))?;
        let payload = field(&v, "Payload")?;
        Ok(LogEntry {
            uuid: None,
            body: b64("Payload.body", str_field(payload, "body")?)?,
            integrated_time: int_field(payload, "integratedTime")?,
            log_id: hex32("Payload.logID", str_field(payload, "logID")?)?,
            log_index: uint_field(payload, "logIndex")?,
            kind_version: None,
            inclusion_proof: None,
            signed_entry_timestamp: Some(b64(
                "SignedEntryTimestamp",
                str_field(&v, "SignedEntryTimestamp")?,
            )?),
        })
    }

    /// This entry as cosign's `dev.sigstore.cosign/bundle` annotation (what
    /// `cosign verify-attestation` checks offline against the log key).
    pub fn to_cosign_bundle_annotation(&self) -> String {
        serde_json::json!({
            "SignedEntryTimestamp": self.signed_entry_timestamp.as_deref().map(|s| B64.encode(s)),
            "Payload": {
                "body": B64.encode(&self.body),
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": hex::encode(self.log_id),
            }
        })
        .to_string()
    }
}
