//! A blocking client for the Rekor v1 REST API: create an entry
//! (`POST /api/v1/log/entries`) of kind `hashedrekord`, `dsse` or `intoto`,
//! fetch one by UUID or log index, read its inclusion proof, and the log's
//! public key. Transient failures (connection errors, timeouts, 429, 5xx)
//! are retried with exponential backoff; everything else fails at once with
//! a typed error.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::entry::{EntryParseError, InclusionProof, LogEntry};
use super::merkle::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a request to the log failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("log URL {url:?} is not an http(s) URL")]
    InvalidUrl { url: String },
    #[error("entry UUID {0:?} is not 64 or 80 hex digits")]
    InvalidUuid(String),
    #[error("could not build the HTTP client: {0}")]
    Setup(String),
    #[error("{method} {url} failed after {attempts} attempt(s): {reason}")]
    Transport {
        method: &'static str,
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("{method} {url} answered HTTP {status} after {attempts} attempt(s): {message}")]
    Http {
        method: &'static str,
        url: String,
        status: u16,
        attempts: u32,
        message: String,
    },
    #[error("log answered 409 Conflict without a Location for the existing entry")]
    ConflictWithoutLocation,
    #[error("log answer is not a log entry: {0}")]
    Response(EntryParseError),
    #[error("log answered with {0} entries where one was expected")]
    EntryCount(usize),
    #[error("entry has no inclusion proof")]
    NoInclusionProof,
    #[error("DSSE envelope is not usable for an intoto entry: {0}")]
    InvalidEnvelope(String),
}

/// Client settings. `max_retries` counts retries after the first attempt.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
    /// First backoff; doubled per retry.
    pub initial_backoff: Duration,
}

impl ClientConfig {
    pub fn new(base_url: &str) -> Self {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
        }
    }
}

/// The result of submitting an entry.
#[derive(Debug, Clone)]
pub struct Submission {
    pub entry: LogEntry,
    /// Retries spent (0 when the first attempt succeeded).
    pub retries: u32,
    /// The log already held this entry (409) and returned the existing one.
    pub already_existed: bool,
}

/// The log's current state (`GET /api/v1/log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    pub tree_size: u64,
    pub root_hash: Hash,
    /// The signed checkpoint for this size, when the log sends one.
    pub signed_tree_head: Option<String>,
}

/// A consistency proof between two tree sizes (`GET /api/v1/log/proof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub first_size: u64,
    pub last_size: u64,
    /// Root of the tree at `last_size`.
    pub root_hash: Hash,
    pub hashes: Vec<Hash>,
}

/// A Rekor v1 client.
#[derive(Debug, Clone)]
pub struct RekorClient {
    http: reqwest::blocking::Client,
    config: ClientConfig,
}

/// A proposed `hashedrekord` 0.0.1 entry: a signature over an artifact
/// digest and the public key (PEM) that verifies it.
pub fn hashedrekord_entry(
    artifact_sha256: &[u8; 32],
    signature: &[u8],
    public_key_pem: &str,
) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(artifact_sha256)}},
            "signature": {
                "content": B64.encode(signature),
                "publicKey": {"content": B64.encode(public_key_pem.as_bytes())}
            }
        }
    })
}

/// A proposed `dsse` 0.0.1 entry: the envelope JSON as a string and the
/// PEM public keys that verify its signatures.
pub fn dsse_entry(envelope_json: &[u8], verifier_pems: &[&str]) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": String::from_utf8_lossy(envelope_json),
                "verifiers": verifier_pems.iter().map(|p| B64.encode(p.as_bytes())).collect::<Vec<_>>()
            }
        }
    })
}

/// A proposed `intoto` 0.0.2 entry. Its schema types `payload` and `sig`
/// as bytes holding the envelope's base64 text, so both are base64 encoded
/// a second time; each signature carries the PEM key that verifies it.
pub fn intoto_entry(envelope_json: &[u8], public_key_pem: &str) -> Result<Value, ClientError> {
    let env: Value = serde_json::from_slice(envelope_json)
        .map_err(|e| ClientError::InvalidEnvelope(e.to_string()))?;
    let text = |v: &Value, f: &str| {
        v.get(f)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ClientError::InvalidEnvelope(format!("no string field `{f}`")))
    };
    let sigs = env
        .get("signatures")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ClientError::InvalidEnvelope("no signatures".into()))?;
    let signatures = sigs
        .iter()
        .map(|s| {
            Ok(json!({
                "keyid": s.get("keyid").and_then(Value::as_str).unwrap_or(""),
                "sig": B64.encode(text(s, "sig")?.as_bytes()),
                "publicKey": B64.encode(public_key_pem.as_bytes()),
            }))
        })
        .collect::<Result<Vec<_>, ClientError>>()?;
    Ok(json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {"envelope": {
            "payloadType": text(&env, "payloadType")?,
            "payload": B64.encode(text(&env, "payload")?.as_bytes()),
            "signatures": signatures,
        }}}
    }))
}

fn valid_uuid(uuid: &str) -> bool {
    (uuid.len() == 64 || uuid.len() == 80) && uuid.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A failed attempt: retry or give up.
enum Attempt {
    Retry(String, Option<u16>),
    Fatal(ClientError),
}

impl RekorClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(ClientError::InvalidUrl {
                url: config.base_url,
            });
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(RekorClient { http, config })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends a request, retrying transient failures; returns the status, the
    /// `Location` header, the body and the retries spent.
    fn send(
        &self,
        method: &'static str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Option<String>, Vec<u8>, u32), ClientError> {
        let mut backoff = self.config.initial_backoff;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.send_once(method, url, body);
            let (reason, status) = match outcome {
                Ok(ok) => return Ok((ok.0, ok.1, ok.2, attempt - 1)),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(reason, status)) => (reason, status),
            };
            if attempt > self.config.max_retries {
                return Err(match status {
                    Some(status) => ClientError::Http {
                        method,
                        url: url.to_string(),
                        status,
                        attempts: attempt,
                        message: reason,
                    },
                    None => ClientError::Transport {
                        method,
                        url: url.to_string(),
                        attempts: attempt,
                        reason,
                    },
                });
            }
            std::thread::sleep(backoff);
            backoff = backoff.saturating_mul(2);
        }
    }

    fn send_once(
        &self,
        method: &'static str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Option<String>, Vec<u8>), Attempt> {
        let req = match body {
            Some(b) => self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(b.to_vec()),
            None => self.http.get(url),
        };
        let resp = req
            .header("Accept", "application/json")
            .send()
            .map_err(|e| Attempt::Retry(error_chain(&e), None))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .bytes()
            .map_err(|e| Attempt::Retry(error_chain(&e), None))?
            .to_vec();
        match status {
            200..=299 | 409 => Ok((status, location, bytes)),
            429 | 500..=599 => Err(Attempt::Retry(error_message(&bytes), Some(status))),
            _ => Err(Attempt::Fatal(ClientError::Http {
                method,
                url: url.to_string(),
                status,
                attempts: 1,
                message: error_message(&bytes),
            })),
        }
    }

    fn single_entry(bytes: &[u8]) -> Result<LogEntry, ClientError> {
        let mut entries = LogEntry::parse_rekor_response(bytes).map_err(ClientError::Response)?;
        if entries.len() != 1 {
            return Err(ClientError::EntryCount(entries.len()));
        }
        Ok(entries.remove(0))
    }

    /// Submits a proposed entry. A 409 Conflict (the log already has it)
    /// is answered with the existing entry, fetched from its Location.
    pub fn create_entry(&self, proposed: &Value) -> Result<Submission, ClientError> {
        let url = format!("{}/api/v1/log/entries", self.config.base_url);
        let body = serde_json::to_vec(proposed).unwrap_or_default();
        let (status, location, bytes, retries) = self.send("POST", &url, Some(&body))?;
        if status == 409 {
            let location = location.ok_or(ClientError::ConflictWithoutLocation)?;
            let uuid = location.rsplit('/').next().unwrap_or("").to_string();
            let entry = self.get_entry_by_uuid(&uuid)?;
            return Ok(Submission {
                entry,
                retries,
                already_existed: true,
            });
        }
        Ok(Submission {
            entry: Self::single_entry(&bytes)?,
            retries,
            already_existed: false,
        })
    }

    /// `GET /api/v1/log/entries/{uuid}`.
    pub fn get_entry_by_uuid(&self, uuid: &str) -> Result<LogEntry, ClientError> {
        if !valid_uuid(uuid) {
            return Err(ClientError::InvalidUuid(uuid.to_string()));
        }
        let url = format!("{}/api/v1/log/entries/{uuid}", self.config.base_url);
        let (_, _, bytes, _) = self.send("GET", &url, None)?;
        Self::single_entry(&bytes)
    }

    /// `GET /api/v1/log/entries?logIndex=N`.
    pub fn get_entry_by_index(&self, log_index: u64) -> Result<LogEntry, ClientError> {
        let url = format!(
            "{}/api/v1/log/entries?logIndex={log_index}",
            self.config.base_url
        );
        let (_, _, bytes, _) = self.send("GET", &url, None)?;
        Self::single_entry(&bytes)
    }

    /// The entry's current inclusion proof (Rekor v1 returns it with the entry).
    pub fn inclusion_proof(&self, uuid: &str) -> Result<InclusionProof, ClientError> {
        self.get_entry_by_uuid(uuid)?
            .inclusion_proof
            .ok_or(ClientError::NoInclusionProof)
    }

    /// `GET /api/v1/log`: tree size, root and signed checkpoint.
    pub fn log_info(&self) -> Result<LogInfo, ClientError> {
        let url = format!("{}/api/v1/log", self.config.base_url);
        let (_, _, bytes, _) = self.send("GET", &url, None)?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Response(EntryParseError::Json(e.to_string())))?;
        Ok(LogInfo {
            tree_size: v
                .get("treeSize")
                .and_then(Value::as_u64)
                .ok_or(ClientError::Response(EntryParseError::MissingField {
                    field: "treeSize",
                }))?,
            root_hash: hex_hash(v.get("rootHash"), "rootHash")?,
            signed_tree_head: v
                .get("signedTreeHead")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// `GET /api/v1/log/proof?firstSize=M&lastSize=N`: the consistency proof
    /// between two tree sizes; check it with [`super::merkle::verify_consistency`].
    pub fn consistency_proof(
        &self,
        first_size: u64,
        last_size: u64,
    ) -> Result<ConsistencyProof, ClientError> {
        let url = format!(
            "{}/api/v1/log/proof?firstSize={first_size}&lastSize={last_size}",
            self.config.base_url
        );
        let (_, _, bytes, _) = self.send("GET", &url, None)?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Response(EntryParseError::Json(e.to_string())))?;
        let hashes = v
            .get("hashes")
            .and_then(Value::as_array)
            .ok_or(ClientError::Response(EntryParseError::MissingField {
                field: "hashes",
            }))?
            .iter()
            .map(|h| hex_hash(Some(h), "hashes"))
            .collect::<Result<_, _>>()?;
        Ok(ConsistencyProof {
            first_size,
            last_size,
            root_hash: hex_hash(v.get("rootHash"), "rootHash")?,
            hashes,
        })
    }

    /// `GET /api/v1/log/publicKey`: the log's PEM key. Fetching a key is
    /// trust on first use; pin the key you verify with.
    pub fn public_key_pem(&self) -> Result<String, ClientError> {
        let url = format!("{}/api/v1/log/publicKey", self.config.base_url);
        let (_, _, bytes, _) = self.send("GET", &url, None)?;
        String::from_utf8(bytes).map_err(|_| {
            ClientError::Response(EntryParseError::Json("public key is not UTF-8".into()))
        })
    }
}

fn hex_hash(v: Option<&Value>, field: &'static str) -> Result<Hash, ClientError> {
    let s =
        v.and_then(Value::as_str)
            .ok_or(ClientError::Response(EntryParseError::MissingField {
                field,
            }))?;
    let bytes = hex::decode(s).map_err(|e| {
        ClientError::Response(EntryParseError::BadEncoding {
            field,
            encoding: "hex",
            reason: e.to_string(),
        })
    })?;
    bytes.as_slice().try_into().map_err(|_| {
        ClientError::Response(EntryParseError::BadEncoding {
            field,
            encoding: "32-byte hash",
            reason: format!("{} bytes", bytes.len()),
        })
    })
}

/// Rekor errors are `{"code": N, "message": "..."}`; fall back to the text.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
