//! The Rekor v1 client against the in-process RFC 6962 test log of
//! stella-testkit (a test log, not Rekor: no Rekor is reachable here).
//! Submissions come back with inclusion proofs, checkpoints and SETs that
//! our offline verifier checks; the test log builds its tree with RFC
//! 6962's recursive definitions, the verifier uses RFC 9162's iterative
//! algorithm, so the two are independent.

use std::time::Duration;

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::json;
use stella_attest::transparency::client::{
    dsse_entry, hashedrekord_entry, intoto_entry, ClientConfig, ClientError, RekorClient,
};
use stella_attest::transparency::{EntryVerifyError, LogKey, TrustedLog};
use stella_testkit::rfc6962_log::{TestLog, TestLogKeyType, TestLogOptions, CHECKPOINT_NAME};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A DSSE envelope signed with a fixed P-256 key, and the key's PEM.
fn envelope(i: usize) -> (Vec<u8>, String) {
    let key = p256::ecdsa::SigningKey::from_slice(&[0x21; 32]).unwrap();
    let payload = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"r{i}","digest":{{"sha256":"{}"}}}}],"predicateType":"https://stella-ops.org/attestations/verdict/v1","predicate":{{}}}}"#,
        "ab".repeat(32)
    );
    let ptype = "application/vnd.in-toto+json";
    let pae = format!("DSSEv1 {} {ptype} {} {payload}", ptype.len(), payload.len());
    let sig: p256::ecdsa::Signature = key.sign(pae.as_bytes());
    let env = json!({
        "payloadType": ptype,
        "payload": B64.encode(payload.as_bytes()),
        "signatures": [{"keyid": "", "sig": B64.encode(sig.to_der().as_bytes())}]
    });
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    (serde_json::to_vec(&env).unwrap(), pem)
}

fn client(url: &str) -> RekorClient {
    let mut c = ClientConfig::new(url);
    c.timeout = Duration::from_secs(5);
    c.initial_backoff = Duration::from_millis(10);
    RekorClient::new(c).unwrap()
}

fn trusted(log: &TestLog) -> TrustedLog {
    let mut t = TrustedLog::new(
        LogKey::from_spki_pem(&log.public_key_pem()).unwrap(),
        CHECKPOINT_NAME,
    );
    t.require_set = true;
    t
}

#[test]
fn create_fetch_and_verify_with_both_key_types() {
    for key in [TestLogKeyType::EcdsaP256, TestLogKeyType::Ed25519] {
        let log = TestLog::start(TestLogOptions {
            key,
            ..Default::default()
        })
        .unwrap();
        let c = client(&log.url());
        let pinned = trusted(&log);
        assert_eq!(hex::encode(pinned.key.log_id()), log.log_id_hex());
        // The key the log serves is the one we pin.
        assert_eq!(
            LogKey::from_spki_pem(&c.public_key_pem().unwrap()).unwrap(),
            pinned.key
        );

        let mut uuids = Vec::new();
        for i in 0..7 {
            let (env, pem) = envelope(i);
            let proposed = match i % 3 {
                0 => dsse_entry(&env, &[&pem]),
                1 => intoto_entry(&env, &pem).unwrap(),
                _ => hashedrekord_entry(&[i as u8; 32], b"sig", &pem),
            };
            let sub = c.create_entry(&proposed).unwrap();
            assert!(!sub.already_existed);
            assert_eq!(sub.retries, 0);
            assert_eq!(sub.entry.log_index, i as u64);
            let v = sub
                .entry
                .verify(&pinned)
                .unwrap_or_else(|e| panic!("{key:?} entry {i}: {e}"));
            assert_eq!(v.tree_size, i as u64 + 1);
            assert!(v.set_verified);
            // The entry logs this envelope (payload hash and signature).
            let body: serde_json::Value = serde_json::from_slice(&sub.entry.body).unwrap();
            if i % 3 == 2 {
                assert_eq!(body, proposed);
                sub.entry
                    .verify_hashedrekord_binding(&[i as u8; 32], b"sig")
                    .unwrap();
            } else {
                let env: serde_json::Value = serde_json::from_slice(&env).unwrap();
                let payload = B64.decode(env["payload"].as_str().unwrap()).unwrap();
                let sig = B64
                    .decode(env["signatures"][0]["sig"].as_str().unwrap())
                    .unwrap();
                sub.entry
                    .verify_dsse_binding(&payload, std::slice::from_ref(&sig))
                    .unwrap();
                assert!(sub.entry.verify_dsse_binding(b"other", &[sig]).is_err());
            }
            uuids.push(sub.entry.uuid.clone().unwrap());
        }
        assert_eq!(log.size(), 7);
        // Fetched later, each entry proves inclusion in the grown tree.
        for (i, uuid) in uuids.iter().enumerate() {
            let by_uuid = c.get_entry_by_uuid(uuid).unwrap();
            let by_index = c.get_entry_by_index(i as u64).unwrap();
            assert_eq!(by_uuid, by_index);
            // Rekor's 80-hex form: a 16-hex tree ID before the leaf hash.
            let with_tree_id = c.get_entry_by_uuid(&format!("{:016x}{uuid}", 1)).unwrap();
            assert_eq!(with_tree_id.log_index, i as u64);
            assert_eq!(&by_uuid.leaf_uuid(), uuid);
            let v = by_uuid.verify(&pinned).unwrap();
            assert_eq!(v.tree_size, 7);
            let proof = c.inclusion_proof(uuid).unwrap();
            assert_eq!(proof.tree_size, 7);
        }
        // Another log's key does not verify these entries.
        let other = TestLog::start(TestLogOptions {
            key: if key == TestLogKeyType::Ed25519 {
                TestLogKeyType::EcdsaP256
            } else {
                TestLogKeyType::Ed25519
            },
            ..Default::default()
        })
        .unwrap();
        let e = c.get_entry_by_index(0).unwrap();
        assert!(matches!(
            e.verify(&trusted(&other)),
            Err(EntryVerifyError::UnknownLog { .. })
        ));
    }
}

#[test]
fn duplicate_submission_returns_the_existing_entry() {
    let log = TestLog::start(TestLogOptions::default()).unwrap();
    let c = client(&log.url());
    let (env, pem) = envelope(1);
    let first = c.create_entry(&dsse_entry(&env, &[&pem])).unwrap();
    let again = c.create_entry(&dsse_entry(&env, &[&pem])).unwrap();
    assert!(again.already_existed);
    assert_eq!(again.entry.log_index, first.entry.log_index);
    assert_eq!(log.size(), 1);
}

#[test]
fn rejected_entry_is_a_typed_http_error_without_retries() {
    let log = TestLog::start(TestLogOptions::default()).unwrap();
    let c = client(&log.url());
    let err = c
        .create_entry(&json!({"apiVersion": "0.0.1", "kind": "rekord", "spec": {}}))
        .unwrap_err();
    let ClientError::Http {
        status,
        attempts,
        message,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((status, attempts), (400, 1));
    assert!(message.contains("rekord"), "{message}");
    let err = c.get_entry_by_index(99).unwrap_err();
    assert!(
        matches!(err, ClientError::Http { status: 404, .. }),
        "{err}"
    );
    let err = c.get_entry_by_uuid("../../etc/passwd").unwrap_err();
    assert!(matches!(err, ClientError::InvalidUuid(_)), "{err}");
}

#[test]
fn overloaded_log_is_retried_until_it_accepts() {
    let log = TestLog::start(TestLogOptions {
        max_in_flight: Some(1),
        // Long enough that the three threads overlap even on a loaded machine.
        sequencing_delay: Duration::from_millis(300),
        ..Default::default()
    })
    .unwrap();
    // Backoff 50, 100, 200, 400, 800 ms: enough for three 300 ms sequencings.
    let mut cfg = ClientConfig::new(&log.url());
    cfg.max_retries = 5;
    cfg.initial_backoff = Duration::from_millis(50);
    let c = RekorClient::new(cfg).unwrap();
    let subs: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let c = &c;
                s.spawn(move || {
                    let (env, pem) = envelope(i);
                    c.create_entry(&dsse_entry(&env, &[&pem]))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut retries = 0;
    for s in subs {
        retries += s.unwrap().retries;
    }
    assert!(
        retries > 0,
        "three concurrent submissions to a one-at-a-time log needed no retry"
    );
    assert_eq!(log.size(), 3);
}

#[test]
fn unreachable_log_fails_after_the_configured_retries() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = ClientConfig::new(&format!("http://127.0.0.1:{port}"));
    cfg.max_retries = 2;
    cfg.initial_backoff = Duration::from_millis(1);
    let err = RekorClient::new(cfg)
        .unwrap()
        .get_entry_by_index(0)
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Transport { attempts: 3, .. }),
        "{err}"
    );
    let err = RekorClient::new(ClientConfig::new("ftp://x")).unwrap_err();
    assert!(matches!(err, ClientError::InvalidUrl { .. }));
}

#[test]
fn intoto_entry_double_encodes_payload_and_signature() {
    let (env, pem) = envelope(3);
    let e = intoto_entry(&env, &pem).unwrap();
    let orig: serde_json::Value = serde_json::from_slice(&env).unwrap();
    let payload = e["spec"]["content"]["envelope"]["payload"]
        .as_str()
        .unwrap();
    assert_eq!(
        B64.decode(payload).unwrap(),
        orig["payload"].as_str().unwrap().as_bytes()
    );
    assert!(matches!(
        intoto_entry(b"{\"payloadType\":\"x\",\"payload\":\"\"}", &pem),
        Err(ClientError::InvalidEnvelope(_))
    ));
}

#[test]
fn log_growth_is_proven_consistent_and_checkpoints_verify() {
    use stella_attest::transparency::{verify_consistency, SignedCheckpoint};
    let log = TestLog::start(TestLogOptions {
        key: TestLogKeyType::Ed25519,
        ..Default::default()
    })
    .unwrap();
    let c = client(&log.url());
    let pinned = trusted(&log);
    let mut heads = Vec::new();
    for i in 0..13 {
        let (env, pem) = envelope(i);
        c.create_entry(&dsse_entry(&env, &[&pem])).unwrap();
        let info = c.log_info().unwrap();
        let sth = SignedCheckpoint::parse(info.signed_tree_head.as_deref().unwrap()).unwrap();
        sth.verify(&pinned.checkpoint_signer).unwrap();
        assert_eq!(
            (sth.checkpoint.tree_size, sth.checkpoint.root_hash),
            (info.tree_size, info.root_hash)
        );
        heads.push(info);
    }
    for old in &heads {
        for new in heads.iter().filter(|n| n.tree_size >= old.tree_size) {
            let p = c.consistency_proof(old.tree_size, new.tree_size).unwrap();
            assert_eq!(p.root_hash, new.root_hash);
            verify_consistency(
                old.tree_size,
                new.tree_size,
                &old.root_hash,
                &new.root_hash,
                &p.hashes,
            )
            .unwrap_or_else(|e| panic!("{} -> {}: {e}", old.tree_size, new.tree_size));
            if let Some(h) = p.hashes.first() {
                let mut bad = p.hashes.clone();
                bad[0] = [h[0] ^ 1; 32];
                assert!(verify_consistency(
                    old.tree_size,
                    new.tree_size,
                    &old.root_hash,
                    &new.root_hash,
                    &bad
                )
                .is_err());
            }
        }
    }
    // A forked history (another log's root at the same size) is not consistent.
    let other = TestLog::start(TestLogOptions::default()).unwrap();
    let oc = client(&other.url());
    let (env, pem) = envelope(99);
    oc.create_entry(&dsse_entry(&env, &[&pem])).unwrap();
    let fork_root = oc.log_info().unwrap().root_hash;
    let p = c.consistency_proof(1, 13).unwrap();
    assert!(verify_consistency(1, 13, &fork_root, &heads[12].root_hash, &p.hashes).is_err());
}
