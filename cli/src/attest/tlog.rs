//! The transparency log in `stella attest` and `stella verify`.
//!
//! * `stella attest --rekor-url URL [--rekor-key PUB]`: the signed envelope
//!   is submitted to a Rekor v1 log (a `dsse` 0.0.1 entry, what cosign 2.5's
//!   `attest` uploads by default; `intoto` 0.0.2 on request), the answer is
//!   verified offline (log ID, inclusion proof, signed checkpoint, SET, and
//!   that the entry logs this envelope) before anything is written, and
//!   kept in the Sigstore bundle's `verificationMaterial.tlogEntries`.
//!   Without `--rekor-key` the log's key is fetched from the log itself:
//!   trust on first use, said so in the report and on stderr.
//! * `stella verify --rekor-key PUB [--require-tlog]`: every log entry an
//!   attestation carries is verified offline the same way; the outcome per
//!   attestation is `verified`, `absent` or `rejected` with a reason.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;
use stella_attest::dsse::Envelope;
use stella_attest::keys::VerifyingKey;
use stella_attest::transparency::client::{dsse_entry, intoto_entry, ClientConfig, RekorClient};
use stella_attest::transparency::{LogEntry, LogKey, TrustedLog};

/// Entry kind submitted to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntryType {
    /// `dsse` 0.0.1 (cosign 2.5's default for `attest`).
    Dsse,
    /// `intoto` 0.0.2.
    Intoto,
}

/// Where the log key used to check the entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    /// `--rekor-key`: pinned by the caller.
    Pinned,
    /// `GET /api/v1/log/publicKey`: whatever the log said its key is.
    TrustOnFirstUse,
}

/// What `stella attest` logged, for its report.
#[derive(Debug, Serialize)]
pub struct Logged {
    pub url: String,
    /// `dsse 0.0.1` / `intoto 0.0.2`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    /// Hex SHA-256 of the log key's SPKI DER.
    #[serde(rename = "logId")]
    pub log_id: String,
    #[serde(rename = "integratedTime")]
    pub integrated_time: i64,
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    /// The log already held this envelope (409) and returned that entry.
    #[serde(rename = "alreadyLogged")]
    pub already_logged: bool,
    #[serde(rename = "logKey")]
    pub log_key: KeySource,
    #[serde(rename = "logKeyFile", skip_serializing_if = "Option::is_none")]
    pub log_key_file: Option<String>,
}

/// Reads a log's SPKI PEM public key.
pub fn load_log_key(path: &Path) -> anyhow::Result<LogKey> {
    let pem = super::read_key_file(path)?;
    let text = String::from_utf8(pem)
        .with_context(|| format!("log key {}: not a PEM text file", path.display()))?;
    LogKey::from_spki_pem(&text).with_context(|| format!("log key {}", path.display()))
}

/// Submits `envelope` to the log at `url`, verifies the answer offline and
/// returns the entry with what the report says about it. Fails (nothing
/// written yet) when the log is unreachable or its answer does not verify.
pub fn submit(
    url: &str,
    log_key_file: Option<&PathBuf>,
    entry_type: EntryType,
    envelope: &Envelope,
    envelope_json: &[u8],
    signer: &VerifyingKey,
) -> anyhow::Result<(LogEntry, Logged)> {
    let client =
        RekorClient::new(ClientConfig::new(url)).with_context(|| format!("--rekor-url {url}"))?;
    let (log_key, source) = match log_key_file {
        Some(path) => (load_log_key(path)?, KeySource::Pinned),
        None => {
            let pem = client
                .public_key_pem()
                .with_context(|| format!("fetching the public key of the log at {url}"))?;
            let key = LogKey::from_spki_pem(&pem)
                .with_context(|| format!("the public key the log at {url} sent"))?;
            eprintln!(
                "stella: WARNING: trusting the log key {url} sent (log ID {}) on first use; \
                 pass --rekor-key to pin it",
                stella_attest::transparency::to_hex(&key.log_id())
            );
            (key, KeySource::TrustOnFirstUse)
        }
    };
    let signer_pem = signer.to_pem();
    let proposed = match entry_type {
        EntryType::Dsse => dsse_entry(envelope_json, &[signer_pem.as_str()]),
        EntryType::Intoto => intoto_entry(envelope_json, &signer_pem)?,
    };
    let submission = client
        .create_entry(&proposed)
        .with_context(|| format!("submitting the envelope to the log at {url}"))?;
    let entry = submission.entry;
    let mut trusted = TrustedLog::for_key(log_key);
    trusted.require_set = true;
    let verified = entry
        .verify_for_envelope(&trusted, envelope)
        .with_context(|| {
            format!(
                "the log at {url} answered with an entry (index {}) that does not verify",
                entry.log_index
            )
        })?;
    let (kind, version) = entry.body_kind_version();
    let logged = Logged {
        url: url.to_string(),
        kind: format!("{kind} {version}"),
        uuid: entry.uuid.clone(),
        log_index: entry.log_index,
        log_id: stella_attest::transparency::to_hex(&entry.log_id),
        integrated_time: entry.integrated_time,
        tree_size: verified.tree_size,
        root_hash: stella_attest::transparency::to_hex(&verified.root_hash),
        already_logged: submission.already_existed,
        log_key: source,
        log_key_file: log_key_file.map(|p| p.display().to_string()),
    };
    Ok((entry, logged))
}

/// `stella verify`'s log settings.
pub struct TlogPolicy {
    pub log: TrustedLog,
    /// `--require-tlog`: no verified entry = rejected.
    pub require: bool,
}

impl TlogPolicy {
    pub fn load(path: &Path, require: bool) -> anyhow::Result<TlogPolicy> {
        Ok(TlogPolicy {
            log: TrustedLog::for_key(load_log_key(path)?),
            require,
        })
    }
}

/// What the log entries of one attestation showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlogState {
    Verified,
    Absent,
    Rejected,
}

/// `tlog` of one attestation in `stella verify`'s report.
#[derive(Debug, Clone, Serialize)]
pub struct TlogStatus {
    pub status: TlogState,
    /// Why (for rejected: which entry and which check; `-` style text).
    pub reason: String,
    /// For rejected: a short stable name of the failed check
    /// (`inclusion-proof`, `set-signature`, `other-envelope`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
    #[serde(rename = "logIndex", skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    #[serde(rename = "integratedTime", skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<i64>,
    /// Whether an inclusion proof and signed checkpoint were verified (not
    /// for cosign's `.att` annotation, which carries only the SET).
    #[serde(rename = "inclusionVerified")]
    pub inclusion_verified: bool,
}

impl TlogStatus {
    /// `verified`, `absent` or `rejected(CHECK)` for the table.
    pub fn short(&self) -> String {
        match (self.status, self.check) {
            (TlogState::Verified, _) if !self.inclusion_verified => "verified(set-only)".into(),
            (TlogState::Verified, _) => "verified".into(),
            (TlogState::Absent, _) => "absent".into(),
            (TlogState::Rejected, Some(check)) => format!("rejected({check})"),
            (TlogState::Rejected, None) => "rejected".into(),
        }
    }
}

/// What an attestation carries as transparency log evidence.
pub struct Evidence {
    /// A Sigstore bundle's `tlogEntries` (full entries with proofs).
    pub entries: Vec<Value>,
    /// cosign's `.att` layer annotation (SET only).
    pub cosign_bundle: Option<String>,
}

/// Checks every log entry an attestation carries against the trusted log
/// and `envelope`: all must verify (a bundle is not allowed to carry a bad
/// entry next to a good one); none is `absent`. Bundle entries need their
/// inclusion proof and checkpoint; cosign's `.att` annotation has only the
/// SET (the log's signed promise), which is what is checked then.
pub fn check_entries(
    entries: &[Value],
    cosign_bundle: Option<&str>,
    envelope: &Envelope,
    log: &TrustedLog,
) -> TlogStatus {
    if entries.is_empty() {
        if let Some(annotation) = cosign_bundle {
            return check_cosign_annotation(annotation, envelope, log);
        }
    }
    let mut first = None;
    for (i, value) in entries.iter().enumerate() {
        let outcome = LogEntry::from_bundle_tlog_entry(value)
            .map_err(stella_attest::transparency::EnvelopeEntryError::from)
            .and_then(|entry| entry.verify_for_envelope(log, envelope));
        match outcome {
            Ok(verified) => {
                first.get_or_insert(verified);
            }
            Err(e) => {
                return TlogStatus {
                    status: TlogState::Rejected,
                    reason: format!("log entry {i}: {e}"),
                    check: Some(e.code()),
                    log_index: None,
                    integrated_time: None,
                    inclusion_verified: false,
                }
            }
        }
    }
    let Some(verified) = first else {
        return absent();
    };
    TlogStatus {
        status: TlogState::Verified,
        reason: format!(
            "{} entr{} verified: log index {}, tree size {}, integrated {}{}",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" },
            verified.log_index,
            verified.tree_size,
            verified.integrated_time,
            if verified.set_verified {
                " (SET verified)"
            } else {
                ""
            }
        ),
        check: None,
        log_index: Some(verified.log_index),
        integrated_time: Some(verified.integrated_time),
        inclusion_verified: true,
    }
}

/// cosign's `dev.sigstore.cosign/bundle` annotation: log ID, SET, binding.
fn check_cosign_annotation(annotation: &str, envelope: &Envelope, log: &TrustedLog) -> TlogStatus {
    let outcome = LogEntry::from_cosign_bundle_annotation(annotation.as_bytes())
        .map_err(stella_attest::transparency::EnvelopeEntryError::from)
        .and_then(|entry| entry.verify_promise_for_envelope(log, envelope));
    match outcome {
        Ok(verified) => TlogStatus {
            status: TlogState::Verified,
            reason: format!(
                "cosign log bundle verified: log index {}, integrated {}, SET verified \
                 (no inclusion proof in this format)",
                verified.log_index, verified.integrated_time
            ),
            check: None,
            log_index: Some(verified.log_index),
            integrated_time: Some(verified.integrated_time),
            inclusion_verified: false,
        },
        Err(e) => TlogStatus {
            status: TlogState::Rejected,
            reason: format!("cosign log bundle annotation: {e}"),
            check: Some(e.code()),
            log_index: None,
            integrated_time: None,
            inclusion_verified: false,
        },
    }
}

/// No log entry at all.
pub fn absent() -> TlogStatus {
    TlogStatus {
        status: TlogState::Absent,
        reason: "the attestation carries no transparency log entry".into(),
        check: None,
        log_index: None,
        integrated_time: None,
        inclusion_verified: false,
    }
}
