//! Offline verification of real Rekor log entries from public Sigstore
//! bundles (attest/tests/fixtures/transparency/SOURCE.md), and one test per
//! check showing it rejects a tampered entry with its own reason.
//!
//! Oracle: the entries were accepted by the public-good Rekor (and staging)
//! and are verified by sigstore-python's test suite; independently, their
//! proofs and signatures were checked with openssl (see SOURCE.md). The log
//! keys' SHA-256 equals the entries' log IDs.

use base64::Engine as _;
use serde_json::Value;
use stella_attest::transparency::{
    checkpoint::CheckpointError, BindingError, EntryParseError, EntryVerifyError, LogEntry, LogKey,
    LogKeyError, ProofError, SignedCheckpoint, TrustedLog,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transparency")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn prod_log() -> TrustedLog {
    let pem = String::from_utf8(fixture("rekor.sigstore.dev.pub")).unwrap();
    TrustedLog::new(LogKey::from_spki_pem(&pem).unwrap(), "rekor.sigstore.dev")
}

fn staging_log() -> TrustedLog {
    let pem = String::from_utf8(fixture("rekor.sigstage.dev.pub")).unwrap();
    TrustedLog::new(LogKey::from_spki_pem(&pem).unwrap(), "rekor.sigstage.dev")
}

/// The first tlog entry of a bundle fixture as JSON, to tamper with.
fn entry_json(name: &str) -> Value {
    let bundle: Value = serde_json::from_slice(&fixture(name)).unwrap();
    bundle["verificationMaterial"]["tlogEntries"][0].clone()
}

fn parse(v: &Value) -> LogEntry {
    LogEntry::from_bundle_tlog_entry(v).unwrap()
}

fn flip_b64(s: &str, byte: usize) -> String {
    let mut raw = B64.decode(s).unwrap();
    raw[byte] ^= 0x01;
    B64.encode(raw)
}

#[test]
fn log_ids_are_the_sha256_of_the_keys() {
    assert_eq!(
        hex::encode(prod_log().key.log_id()),
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );
    assert_eq!(
        B64.encode(staging_log().key.log_id()),
        "0y8wo8MtY5wrdiIFohx7sHeI5oKDpK5vQhGHI6G+pJY="
    );
}

#[test]
fn real_bundle_entries_verify_offline() {
    for (name, log, kind, index, size) in [
        (
            "prod-hashedrekord.bundle-v0.2.json",
            prod_log(),
            "hashedrekord",
            79_605_083,
            75_441_653,
        ),
        (
            "prod-intoto.bundle-v0.2.json",
            prod_log(),
            "intoto",
            168_704_762,
            46_800_506,
        ),
        (
            "staging-hashedrekord.bundle-v0.3.json",
            staging_log(),
            "hashedrekord",
            25_915_997,
            25_901_179,
        ),
    ] {
        let entries = LogEntry::parse_bundle_tlog_entries(&fixture(name)).unwrap();
        assert_eq!(entries.len(), 1, "{name}");
        let e = &entries[0];
        assert_eq!(e.kind_version.as_ref().map(|k| k.0.as_str()), Some(kind));
        let v = e.verify(&log).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(v.log_index, index, "{name}");
        assert_eq!(v.tree_size, size, "{name}");
        assert!(v.set_verified, "{name}");
    }
}

#[test]
fn rest_api_shape_of_the_same_entry_verifies() {
    // The REST API carries the same data with hex hashes and JSON numbers.
    let b = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let p = &b["inclusionProof"];
    let hexes: Vec<String> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::encode(B64.decode(h.as_str().unwrap()).unwrap()))
        .collect();
    let body = b["canonicalizedBody"].as_str().unwrap();
    let uuid = {
        use sha2::Digest;
        let mut d = sha2::Sha256::new();
        d.update([0u8]);
        d.update(B64.decode(body).unwrap());
        hex::encode(d.finalize())
    };
    let rest = serde_json::json!({ uuid.clone(): {
        "body": body,
        "integratedTime": 1710888076,
        "logID": hex::encode(B64.decode(b["logId"]["keyId"].as_str().unwrap()).unwrap()),
        "logIndex": 79605083,
        "verification": {
            "inclusionProof": {
                "logIndex": 75441652,
                "rootHash": hex::encode(B64.decode(p["rootHash"].as_str().unwrap()).unwrap()),
                "treeSize": 75441653,
                "hashes": hexes,
                "checkpoint": p["checkpoint"]["envelope"],
            },
            "signedEntryTimestamp": b["inclusionPromise"]["signedEntryTimestamp"],
        }
    }});
    let entries = LogEntry::parse_rekor_response(rest.to_string().as_bytes()).unwrap();
    assert_eq!(entries[0].uuid.as_deref(), Some(uuid.as_str()));
    assert_eq!(entries[0].leaf_uuid(), uuid);
    entries[0].verify(&prod_log()).unwrap();
}

#[test]
fn flipped_proof_hash_is_rejected_by_the_inclusion_check() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let h = v["inclusionProof"]["hashes"][3]
        .as_str()
        .unwrap()
        .to_string();
    v["inclusionProof"]["hashes"][3] = Value::String(flip_b64(&h, 7));
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    assert!(
        matches!(
            err,
            EntryVerifyError::InclusionProof(ProofError::RootMismatch { .. })
        ),
        "{err}"
    );
}

#[test]
fn dropped_proof_hash_is_rejected_for_its_length() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v["inclusionProof"]["hashes"].as_array_mut().unwrap().pop();
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    assert_eq!(
        err,
        EntryVerifyError::InclusionProof(ProofError::WrongProofLength { got: 15, want: 16 })
    );
}

#[test]
fn flipped_root_is_rejected_by_the_inclusion_check() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let r = v["inclusionProof"]["rootHash"]
        .as_str()
        .unwrap()
        .to_string();
    v["inclusionProof"]["rootHash"] = Value::String(flip_b64(&r, 0));
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    let EntryVerifyError::InclusionProof(ProofError::RootMismatch { computed, expected }) = err
    else {
        panic!("{err}")
    };
    // The proof still leads to the real root, which the checkpoint signs.
    assert_eq!(
        computed,
        hex::encode(
            B64.decode("uAqI3id6JHPMMNUltHIKHuX1kVHpm5y7jSfnbaRO+E4=")
                .unwrap()
        )
    );
    assert_ne!(computed, expected);
}

#[test]
fn root_changed_in_proof_and_checkpoint_breaks_the_checkpoint_signature() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    // Build a consistent fake: a different body whose one-leaf "tree" root
    // is put in both the proof and the checkpoint text.
    let fake_body = b"{}".to_vec();
    let fake_root = stella_attest::transparency::leaf_hash(&fake_body);
    v["canonicalizedBody"] = Value::String(B64.encode(&fake_body));
    v["inclusionProof"]["logIndex"] = "0".into();
    v["inclusionProof"]["treeSize"] = "1".into();
    v["inclusionProof"]["hashes"] = Value::Array(vec![]);
    v["inclusionProof"]["rootHash"] = Value::String(B64.encode(fake_root));
    let note = v["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let sigs = note.split_once("\n\n").unwrap().1;
    let forged = format!(
        "{}\n1\n{}\n\n{sigs}",
        SignedCheckpoint::parse(&note).unwrap().checkpoint.origin,
        B64.encode(fake_root)
    );
    v["inclusionProof"]["checkpoint"]["envelope"] = Value::String(forged);
    v["kindVersion"] = Value::Null;
    let forged_entry = parse(&v);
    forged_entry.verify_inclusion().unwrap();
    let err = forged_entry.verify(&prod_log()).unwrap_err();
    assert!(
        matches!(
            err,
            EntryVerifyError::Checkpoint(CheckpointError::BadSignature {
                source: LogKeyError::SignatureMismatch { .. },
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn flipped_checkpoint_signature_is_rejected() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let note = v["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let (text, sig_line) = note.split_once("\n\n").unwrap();
    let b64 = sig_line.trim_end().rsplit_once(' ').unwrap().1;
    // Byte 20 is inside the DER signature's r value (after the 4-byte key hash).
    let bad = sig_line.replace(b64, &flip_b64(b64, 20));
    v["inclusionProof"]["checkpoint"]["envelope"] = Value::String(format!("{text}\n\n{bad}"));
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    assert!(
        matches!(
            err,
            EntryVerifyError::Checkpoint(CheckpointError::BadSignature {
                source: LogKeyError::SignatureMismatch { .. },
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn checkpoint_signed_by_another_name_is_not_accepted() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let note = v["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    v["inclusionProof"]["checkpoint"]["envelope"] =
        Value::String(note.replace("\u{2014} rekor.sigstore.dev ", "\u{2014} evil.example "));
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    assert!(
        matches!(
            err,
            EntryVerifyError::Checkpoint(CheckpointError::NoSignatureFromKey { .. })
        ),
        "{err}"
    );
}

#[test]
fn validly_signed_checkpoint_for_another_tree_is_a_mismatch() {
    // The intoto entry's checkpoint is genuine but for a different tree size/root.
    let other = entry_json("prod-intoto.bundle-v0.2.json");
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v["inclusionProof"]["checkpoint"] = other["inclusionProof"]["checkpoint"].clone();
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    let EntryVerifyError::CheckpointMismatch {
        checkpoint_size,
        proof_size,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((checkpoint_size, proof_size), (46_800_506, 75_441_653));
}

#[test]
fn missing_checkpoint_is_its_own_error() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v["inclusionProof"]
        .as_object_mut()
        .unwrap()
        .remove("checkpoint");
    assert_eq!(
        parse(&v).verify(&prod_log()).unwrap_err(),
        EntryVerifyError::NoCheckpoint
    );
}

#[test]
fn flipped_set_is_rejected() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let set = v["inclusionPromise"]["signedEntryTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    v["inclusionPromise"]["signedEntryTimestamp"] = Value::String(flip_b64(&set, 10));
    let err = parse(&v).verify(&prod_log()).unwrap_err();
    assert_eq!(
        err,
        EntryVerifyError::SignedEntryTimestamp(LogKeyError::SignatureMismatch {
            alg: "ECDSA P-256"
        })
    );
}

#[test]
fn changed_integrated_time_breaks_only_the_set() {
    let mut v = entry_json("prod-intoto.bundle-v0.2.json");
    v["integratedTime"] = "1738701348".into();
    let e = parse(&v);
    e.verify_inclusion().unwrap();
    e.verify_checkpoint(&prod_log()).unwrap();
    assert!(matches!(
        e.verify(&prod_log()).unwrap_err(),
        EntryVerifyError::SignedEntryTimestamp(_)
    ));
}

#[test]
fn missing_set_is_accepted_unless_required() {
    let mut v = entry_json("staging-hashedrekord.bundle-v0.3.json");
    v.as_object_mut().unwrap().remove("inclusionPromise");
    let e = parse(&v);
    let mut log = staging_log();
    assert!(!e.verify(&log).unwrap().set_verified);
    log.require_set = true;
    assert_eq!(
        e.verify(&log).unwrap_err(),
        EntryVerifyError::NoSignedEntryTimestamp
    );
}

#[test]
fn changed_body_is_rejected_by_inclusion_and_by_the_set() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    let mut body: Value = serde_json::from_slice(
        &B64.decode(v["canonicalizedBody"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    body["spec"]["data"]["hash"]["value"] =
        "0000000000000000000000000000000000000000000000000000000000000000".into();
    v["canonicalizedBody"] = Value::String(B64.encode(serde_json::to_vec(&body).unwrap()));
    let e = parse(&v);
    assert!(matches!(
        e.verify(&prod_log()).unwrap_err(),
        EntryVerifyError::InclusionProof(ProofError::RootMismatch { .. })
    ));
    assert!(matches!(
        e.verify_set(&prod_log().key).unwrap_err(),
        EntryVerifyError::SignedEntryTimestamp(LogKeyError::SignatureMismatch { .. })
    ));
}

#[test]
fn entry_from_another_log_is_rejected() {
    let e = parse(&entry_json("prod-hashedrekord.bundle-v0.2.json"));
    assert!(matches!(
        e.verify(&staging_log()).unwrap_err(),
        EntryVerifyError::UnknownLog { .. }
    ));
}

#[test]
fn declared_kind_must_match_the_body() {
    let mut v = entry_json("prod-intoto.bundle-v0.2.json");
    v["kindVersion"]["kind"] = "dsse".into();
    assert!(matches!(
        parse(&v).verify(&prod_log()).unwrap_err(),
        EntryVerifyError::KindMismatch { .. }
    ));
}

#[test]
fn malformed_fields_are_typed_parse_errors() {
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v["inclusionProof"]["rootHash"] = "not base64!".into();
    assert!(matches!(
        LogEntry::from_bundle_tlog_entry(&v).unwrap_err(),
        EntryParseError::BadEncoding {
            field: "rootHash",
            ..
        }
    ));
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v["inclusionProof"]["hashes"][0] = Value::String(B64.encode([1u8; 31]));
    assert!(matches!(
        LogEntry::from_bundle_tlog_entry(&v).unwrap_err(),
        EntryParseError::BadEncoding {
            field: "hashes",
            ..
        }
    ));
    let mut v = entry_json("prod-hashedrekord.bundle-v0.2.json");
    v.as_object_mut().unwrap().remove("canonicalizedBody");
    assert_eq!(
        LogEntry::from_bundle_tlog_entry(&v).unwrap_err(),
        EntryParseError::MissingField {
            field: "canonicalizedBody"
        }
    );
    assert!(matches!(
        LogEntry::parse_rekor_response(b"[1,2]").unwrap_err(),
        EntryParseError::Json(_)
    ));
}

#[test]
fn malformed_checkpoints_are_typed_errors() {
    for (note, what) in [
        ("origin\n5\nAAAA\n", "no blank line"),
        (
            "origin\nfive\nAAAA\n\n\u{2014} n AAAAAAAA\n",
            "not a number",
        ),
        ("origin\n5\nAAAA\n\n\u{2014} n AAAAAAAA\n", "not 32"),
        (
            "origin\n5\nuAqI3id6JHPMMNUltHIKHuX1kVHpm5y7jSfnbaRO+E4=\n\n- n AAAAAAAA\n",
            "em dash",
        ),
    ] {
        let err = SignedCheckpoint::parse(note).unwrap_err();
        assert!(err.to_string().contains(what), "{note:?}: {err}");
    }
}

fn bundle(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

#[test]
fn intoto_entry_binds_the_bundles_dsse_envelope() {
    let b = bundle("prod-intoto.bundle-v0.2.json");
    let e = parse(&b["verificationMaterial"]["tlogEntries"][0]);
    let payload = B64
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let sig = B64
        .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    e.verify_dsse_binding(&payload, std::slice::from_ref(&sig))
        .unwrap();

    let mut other_payload = payload.clone();
    other_payload.push(b' ');
    assert!(matches!(
        e.verify_dsse_binding(&other_payload, std::slice::from_ref(&sig)),
        Err(BindingError::PayloadHashMismatch { .. })
    ));
    let mut other_sig = sig.clone();
    other_sig[10] ^= 1;
    assert_eq!(
        e.verify_dsse_binding(&payload, &[other_sig]),
        Err(BindingError::SignatureNotInLog)
    );
    assert!(matches!(
        e.verify_hashedrekord_binding(&[0; 32], &sig),
        Err(BindingError::UnsupportedKind { .. })
    ));
}

#[test]
fn hashedrekord_entry_binds_the_bundles_message_signature() {
    let b = bundle("prod-hashedrekord.bundle-v0.2.json");
    let e = parse(&b["verificationMaterial"]["tlogEntries"][0]);
    let digest: [u8; 32] = B64
        .decode(
            b["messageSignature"]["messageDigest"]["digest"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
        .try_into()
        .unwrap();
    let sig = B64
        .decode(b["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    e.verify_hashedrekord_binding(&digest, &sig).unwrap();
    let mut d2 = digest;
    d2[0] ^= 1;
    assert!(matches!(
        e.verify_hashedrekord_binding(&d2, &sig),
        Err(BindingError::ArtifactDigestMismatch { .. })
    ));
    assert_eq!(
        e.verify_hashedrekord_binding(&digest, b"other"),
        Err(BindingError::SignatureNotInLog)
    );
}

/// The Ed25519 signed-note example of Go's golang.org/x/mod/sumdb/note
/// documentation (BSD-3-Clause): the key hash in the verifier key and the
/// signature were made by Go's implementation.
#[test]
fn go_note_example_verifies_with_ed25519() {
    use stella_attest::transparency::{NoteVerifier, SignedNote};
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let msg = "If you think cryptography is the answer to your problem,\n\
               then you don't know what your problem is.\n\
               \n\
               \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let verifier = NoteVerifier::from_ed25519_vkey(vkey).unwrap();
    assert_eq!(hex::encode(verifier.key_hash), "c74f20a3");
    let note = SignedNote::parse(msg).unwrap();
    note.verify(&verifier).unwrap();
    let tampered = SignedNote::parse(&msg.replace("problem is", "problem was")).unwrap();
    assert!(matches!(
        tampered.verify(&verifier),
        Err(CheckpointError::BadSignature { .. })
    ));
    assert!(NoteVerifier::from_ed25519_vkey(&vkey.replace("c74f20a3", "c74f20a4")).is_err());
}
