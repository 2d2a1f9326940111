//! A small RFC 6962 **test log** for tests of the transparency client.
//! It is not Rekor and not a fake of it: a Merkle-tree log of its own that
//! answers just enough of the Rekor v1 REST shape for a client's
//! submission path, on 127.0.0.1 in-process:
//!
//! * `POST /api/v1/log/entries`: accepts a proposed entry of kind
//!   `hashedrekord`, `dsse` or `intoto` (checked for shape only; the test
//!   log does not verify the submitter's signature), stores it as Rekor
//!   does in shape (payload hashes instead of payloads for `dsse`/`intoto`,
//!   see `stored_body`) in canonical JSON (sorted keys, no whitespace) as the leaf and answers 201 with the
//!   entry, an inclusion proof, a signed checkpoint and a signed entry
//!   timestamp (SET); a duplicate gets 409 with the existing entry's Location;
//! * `GET /api/v1/log/entries/{uuid}`, `GET /api/v1/log/entries?logIndex=N`:
//!   the entry with a proof against the current tree;
//! * `GET /api/v1/log/publicKey` (PEM), `GET /api/v1/log` (size, root and
//!   signed checkpoint), `GET /api/v1/log/proof?firstSize=M&lastSize=N`
//!   (RFC 6962 consistency proof).
//!
//! The Merkle tree is computed with RFC 6962 §2.1's recursive definitions
//! (MTH and PATH), independent of the iterative verifier in
//! `stella_attest::transparency::merkle`. Keys are fixed test keys
//! (Ed25519 or ECDSA P-256). Options inject faults for the batch sweep:
//! a per-entry sequencing delay and a cap on concurrent submissions above
//! which the log answers 503.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use ed25519_dalek::Signer as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The name the test log signs checkpoints with.
pub const CHECKPOINT_NAME: &str = "stella-rfc6962-test-log";
/// The checkpoint origin line.
pub const ORIGIN: &str = "stella-rfc6962-test-log - 1";

/// Which fixed key the test log signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestLogKeyType {
    Ed25519,
    EcdsaP256,
}

/// Test log settings.
#[derive(Debug, Clone)]
pub struct TestLogOptions {
    pub key: TestLogKeyType,
    /// `integratedTime` of every entry (a fixed clock keeps tests reproducible).
    pub integrated_time: i64,
    /// Time the log takes to sequence one submission.
    pub sequencing_delay: Duration,
    /// Submissions in flight above this many get 503 (retryable).
    pub max_in_flight: Option<usize>,
}

impl Default for TestLogOptions {
    fn default() -> Self {
        TestLogOptions {
            key: TestLogKeyType::EcdsaP256,
            integrated_time: 1_700_000_000,
            sequencing_delay: Duration::ZERO,
            max_in_flight: None,
        }
    }
}

enum Key {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl Key {
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Key::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            Key::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, msg);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
    fn spki_der(&self) -> Vec<u8> {
        let der = match self {
            Key::Ed25519(k) => k.verifying_key().to_public_key_der(),
            Key::P256(k) => p256::pkcs8::EncodePublicKey::to_public_key_der(k.verifying_key()),
        };
        der.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }
    fn spki_pem(&self) -> String {
        let der = self.spki_der();
        let b64 = B64.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }
    /// The note key hash: Rekor's log-ID prefix for ECDSA, the Go note
    /// format's hash for Ed25519.
    fn note_key_hash(&self) -> [u8; 4] {
        let h: [u8; 32] = match self {
            Key::Ed25519(k) => {
                let mut d = Sha256::new();
                d.update(CHECKPOINT_NAME.as_bytes());
                d.update(b"\n");
                d.update([1u8]);
                d.update(k.verifying_key().as_bytes());
                d.finalize().into()
            }
            Key::P256(_) => Sha256::digest(self.spki_der()).into(),
        };
        [h[0], h[1], h[2], h[3]]
    }
}

struct Tree {
    leaves: Vec<Vec<u8>>,
    leaf_hashes: Vec<[u8; 32]>,
    by_uuid: HashMap<String, usize>,
}

struct Shared {
    key: Key,
    log_id_hex: String,
    opts: TestLogOptions,
    tree: Mutex<Tree>,
    in_flight: AtomicUsize,
}

/// A running test log; stops when dropped.
pub struct TestLog {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestLog {
    /// Starts the log on an ephemeral 127.0.0.1 port.
    pub fn start(opts: TestLogOptions) -> std::io::Result<TestLog> {
        let key = match opts.key {
            TestLogKeyType::Ed25519 => {
                Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[0x42; 32]))
            }
            TestLogKeyType::EcdsaP256 => Key::P256(
                p256::ecdsa::SigningKey::from_slice(&[0x17; 32])
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            ),
        };
        let log_id_hex = hex::encode(Sha256::digest(key.spki_der()));
        let shared = Arc::new(Shared {
            key,
            log_id_hex,
            opts,
            tree: Mutex::new(Tree {
                leaves: Vec::new(),
                leaf_hashes: Vec::new(),
                by_uuid: HashMap::new(),
            }),
            in_flight: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/api/v1/log/entries", get(get_by_index).post(create_entry))
            .route("/api/v1/log/entries/{uuid}", get(get_by_uuid))
            .route("/api/v1/log/publicKey", get(public_key))
            .route("/api/v1/log", get(log_info))
            .route("/api/v1/log/proof", get(consistency_proof))
            .with_state(shared.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        Ok(TestLog {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The log's public key (SubjectPublicKeyInfo PEM).
    pub fn public_key_pem(&self) -> String {
        self.shared.key.spki_pem()
    }

    /// The log ID (hex SHA-256 of the SPKI DER).
    pub fn log_id_hex(&self) -> String {
        self.shared.log_id_hex.clone()
    }

    /// Number of entries in the log.
    pub fn size(&self) -> usize {
        self.shared.tree.lock().map(|t| t.leaves.len()).unwrap_or(0)
    }
}

impl Drop for TestLog {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- RFC 6962 §2.1, recursive -------------------------------------------

fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// Largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH over already-hashed leaves.
fn mth(hashes: &[[u8; 32]]) -> [u8; 32] {
    match hashes.len() {
        0 => Sha256::digest([]).into(),
        1 => hashes[0],
        n => {
            let k = split(n);
            node(&mth(&hashes[..k]), &mth(&hashes[k..]))
        }
    }
}

/// PATH(m, D[n]): the audit path of leaf m.
fn path(m: usize, hashes: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = hashes.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &hashes[..k]);
        p.push(mth(&hashes[k..]));
        p
    } else {
        let mut p = path(m - k, &hashes[k..]);
        p.push(mth(&hashes[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2.
fn subproof(m: usize, hashes: &[[u8; 32]], complete: bool) -> Vec<[u8; 32]> {
    let n = hashes.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(hashes)]
        };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &hashes[..k], complete);
        p.push(mth(&hashes[k..]));
        p
    } else {
        let mut p = subproof(m - k, &hashes[k..], false);
        p.push(mth(&hashes[..k]));
        p
    }
}

// ---- canonical JSON (sorted keys, compact) ------------------------------

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical_json(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

// ---- handlers -------------------------------------------------------------

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"code": status.as_u16(), "message": message}).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The signed checkpoint for the tree's current size.
fn checkpoint(shared: &Shared, tree: &Tree) -> String {
    let size = tree.leaf_hashes.len();
    let root = mth(&tree.leaf_hashes);
    let text = format!("{ORIGIN}\n{size}\n{}\n", B64.encode(root));
    let mut sig = shared.key.note_key_hash().to_vec();
    sig.extend(shared.key.sign(text.as_bytes()));
    format!("{text}\n\u{2014} {CHECKPOINT_NAME} {}\n", B64.encode(sig))
}

/// The JSON of entry `index` with a proof against the tree's current size.
fn entry_json(shared: &Shared, tree: &Tree, index: usize) -> String {
    let size = tree.leaf_hashes.len();
    let root = mth(&tree.leaf_hashes);
    let proof: Vec<String> = path(index, &tree.leaf_hashes)
        .iter()
        .map(hex::encode)
        .collect();
    let checkpoint = checkpoint(shared, tree);
    let body_b64 = B64.encode(&tree.leaves[index]);
    let t = shared.opts.integrated_time;
    let set_payload = format!(
        "{{\"body\":\"{body_b64}\",\"integratedTime\":{t},\"logID\":\"{}\",\"logIndex\":{index}}}",
        shared.log_id_hex
    );
    let set = B64.encode(shared.key.sign(set_payload.as_bytes()));
    let uuid = hex::encode(tree.leaf_hashes[index]);
    json!({
        uuid: {
            "body": body_b64,
            "integratedTime": t,
            "logID": shared.log_id_hex,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "logIndex": index,
                    "rootHash": hex::encode(root),
                    "treeSize": size,
                    "hashes": proof,
                    "checkpoint": checkpoint,
                },
                "signedEntryTimestamp": set,
            }
        }
    })
    .to_string()
}

fn json_ok(status: StatusCode, body: String, location: Option<String>) -> Response {
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

/// Checks the proposed entry's shape for its kind.
fn check_proposed(v: &Value) -> Result<(), String> {
    let kind = v.get("kind").and_then(Value::as_str).ok_or("no kind")?;
    v.get("apiVersion")
        .and_then(Value::as_str)
        .ok_or("no apiVersion")?;
    let spec = v
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or("no spec object")?;
    match kind {
        "hashedrekord" => {
            spec.pointer("/data/hash/value")
                .and_then(Value::as_str)
                .ok_or("hashedrekord: no data.hash.value")?;
            spec.pointer("/signature/content")
                .and_then(Value::as_str)
                .ok_or("hashedrekord: no signature.content")?;
            spec.pointer("/signature/publicKey/content")
                .and_then(Value::as_str)
                .ok_or("hashedrekord: no publicKey")?;
        }
        "dsse" => {
            let env = spec
                .pointer("/proposedContent/envelope")
                .and_then(Value::as_str)
                .ok_or("dsse: no proposedContent.envelope")?;
            let env: Value = serde_json::from_str(env)
                .map_err(|e| format!("dsse: envelope is not JSON: {e}"))?;
            env.get("signatures")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty())
                .ok_or("dsse: envelope has no signatures")?;
            spec.pointer("/proposedContent/verifiers")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty())
                .ok_or("dsse: no verifiers")?;
        }
        "intoto" => {
            spec.pointer("/content/envelope/payload")
                .and_then(Value::as_str)
                .ok_or("intoto: no content.envelope.payload")?;
            spec.pointer("/content/envelope/signatures")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty())
                .ok_or("intoto: no signatures")?;
        }
        other => return Err(format!("kind {other:?} is not supported by the test log")),
    }
    Ok(())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// What the log stores for a proposed entry. Like Rekor, `dsse` and
/// `intoto` entries keep hashes of the payload instead of the payload:
/// `dsse`: `{envelopeHash, payloadHash, signatures[{signature, verifier}]}`;
/// `intoto` 0.0.2: the envelope without `payload`, plus `hash` and
/// `payloadHash`. (The test log's `envelopeHash`/`hash` are SHA-256 of the
/// envelope JSON as submitted; Rekor's exact inputs are not reproduced.)
/// `hashedrekord` is stored as proposed.
fn stored_body(v: &Value) -> Result<Value, String> {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = v.get("apiVersion").cloned().unwrap_or(Value::Null);
    match kind {
        "dsse" => {
            let env_text = v
                .pointer("/spec/proposedContent/envelope")
                .and_then(Value::as_str)
                .unwrap_or("");
            let env: Value = serde_json::from_str(env_text).map_err(|e| e.to_string())?;
            let payload = B64
                .decode(env.get("payload").and_then(Value::as_str).unwrap_or(""))
                .map_err(|e| format!("dsse: payload is not base64: {e}"))?;
            let verifier = v
                .pointer("/spec/proposedContent/verifiers/0")
                .cloned()
                .unwrap_or(Value::Null);
            let sigs: Vec<Value> = env
                .get("signatures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| json!({"signature": s.get("sig").cloned().unwrap_or(Value::Null), "verifier": verifier}))
                .collect();
            Ok(json!({"apiVersion": api, "kind": "dsse", "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": sha256_hex(env_text.as_bytes())},
                "payloadHash": {"algorithm": "sha256", "value": sha256_hex(&payload)},
                "signatures": sigs,
            }}))
        }
        "intoto" => {
            let mut env = v
                .pointer("/spec/content/envelope")
                .cloned()
                .ok_or("intoto: no envelope")?;
            let twice = env.get("payload").and_then(Value::as_str).unwrap_or("");
            let payload = B64
                .decode(twice)
                .ok()
                .and_then(|once| B64.decode(once).ok())
                .ok_or("intoto: payload is not base64 of base64")?;
            let env_hash = sha256_hex(env.to_string().as_bytes());
            if let Some(o) = env.as_object_mut() {
                o.remove("payload");
            }
            Ok(
                json!({"apiVersion": api, "kind": "intoto", "spec": {"content": {
                    "envelope": env,
                    "hash": {"algorithm": "sha256", "value": env_hash},
                    "payloadHash": {"algorithm": "sha256", "value": sha256_hex(&payload)},
                }}}),
            )
        }
        _ => Ok(v.clone()),
    }
}

struct InFlight<'a>(&'a AtomicUsize);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn create_entry(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&shared.in_flight);
    if shared.opts.max_in_flight.is_some_and(|max| now > max) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "test log over capacity");
    }
    let proposed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
    };
    if let Err(m) = check_proposed(&proposed) {
        return error(StatusCode::BAD_REQUEST, &m);
    }
    if !shared.opts.sequencing_delay.is_zero() {
        tokio::time::sleep(shared.opts.sequencing_delay).await;
    }
    let stored = match stored_body(&proposed) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let mut canonical = String::new();
    canonical_json(&stored, &mut canonical);
    let leaf = canonical.into_bytes();
    let uuid = hex::encode(leaf_hash(&leaf));
    let Ok(mut tree) = shared.tree.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "log state poisoned");
    };
    if tree.by_uuid.contains_key(&uuid) {
        let loc = format!("/api/v1/log/entries/{uuid}");
        return json_ok(
            StatusCode::CONFLICT,
            json!({"code": 409, "message": "an equivalent entry already exists in the transparency log"}).to_string(),
            Some(loc),
        );
    }
    let index = tree.leaves.len();
    tree.leaf_hashes.push(leaf_hash(&leaf));
    tree.leaves.push(leaf);
    tree.by_uuid.insert(uuid.clone(), index);
    let body = entry_json(&shared, &tree, index);
    json_ok(
        StatusCode::CREATED,
        body,
        Some(format!("/api/v1/log/entries/{uuid}")),
    )
}

async fn get_by_uuid(State(shared): State<Arc<Shared>>, Path(uuid): Path<String>) -> Response {
    // Rekor accepts a 16-hex tree ID prefix before the 64-hex leaf hash.
    let key = match uuid.get(16..) {
        Some(leaf) if uuid.len() == 80 => leaf,
        _ => uuid.as_str(),
    };
    let Ok(tree) = shared.tree.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "log state poisoned");
    };
    match tree.by_uuid.get(key) {
        Some(&i) => json_ok(StatusCode::OK, entry_json(&shared, &tree, i), None),
        None => error(StatusCode::NOT_FOUND, "entry not found"),
    }
}

async fn get_by_index(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let index = q
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("logIndex="))
        .and_then(|v| v.parse::<usize>().ok());
    let Some(index) = index else {
        return error(
            StatusCode::BAD_REQUEST,
            "logIndex query parameter missing or invalid",
        );
    };
    let Ok(tree) = shared.tree.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "log state poisoned");
    };
    if index >= tree.leaves.len() {
        return error(StatusCode::NOT_FOUND, "entry not found");
    }
    json_ok(StatusCode::OK, entry_json(&shared, &tree, index), None)
}

async fn public_key(State(shared): State<Arc<Shared>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        shared.key.spki_pem(),
    )
        .into_response()
}

async fn log_info(State(shared): State<Arc<Shared>>) -> Response {
    let Ok(tree) = shared.tree.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "log state poisoned");
    };
    let body = json!({
        "rootHash": hex::encode(mth(&tree.leaf_hashes)),
        "treeSize": tree.leaves.len(),
        "treeID": "1",
        "signedTreeHead": checkpoint(&shared, &tree),
    });
    json_ok(StatusCode::OK, body.to_string(), None)
}

async fn consistency_proof(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    let param = |name: &str| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let Ok(tree) = shared.tree.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "log state poisoned");
    };
    let size = tree.leaf_hashes.len();
    let first = param("firstSize").unwrap_or(1);
    let last = param("lastSize").unwrap_or(size);
    if first == 0 || first > last || last > size {
        return error(StatusCode::BAD_REQUEST, "firstSize/lastSize out of range");
    }
    let hashes = &tree.leaf_hashes[..last];
    let proof: Vec<String> = subproof(first, hashes, true)
        .iter()
        .map(hex::encode)
        .collect();
    let body = json!({"rootHash": hex::encode(mth(hashes)), "hashes": proof});
    json_ok(StatusCode::OK, body.to_string(), None)
}
