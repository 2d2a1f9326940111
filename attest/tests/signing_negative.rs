//! Every way an envelope, key or statement can be wrong gets its own typed
//! error, never a panic.

mod common;

use common::*;
use stella_attest::bundle::{Bundle, BundleError};
use stella_attest::cosign_key::CosignKeyError;
use stella_attest::dsse::{Envelope, EnvelopeError};
use stella_attest::keys::{KeyError, SigningKey, VerifyingKey};
use stella_attest::sign::{sign_payload, sign_statement, verify, verify_json, VerifyError};
use stella_attest::statement::{self, verify_subject, Statement, StatementError};

fn signed() -> (Envelope, VerifyingKey) {
    let blob = read_fixture("blob.txt");
    let statement = Statement::new(
        "blob.txt",
        sha256_hex(&blob),
        statement::PREDICATE_VERDICT,
        serde_json::json!({"verdict": "pass"}),
    );
    let key = signing_key("p256.pkcs8.pem");
    (
        sign_statement(&statement, &key).unwrap(),
        key.verifying_key(),
    )
}

fn wire(envelope: &Envelope) -> serde_json::Value {
    serde_json::from_slice(&envelope.to_json()).unwrap()
}

#[test]
fn tampered_payload_byte_is_rejected() {
    let (envelope, key) = signed();
    for i in [0, envelope.payload.len() / 2, envelope.payload.len() - 1] {
        let mut bad = envelope.clone();
        bad.payload[i] ^= 0x01;
        assert!(
            matches!(
                verify(&bad, std::slice::from_ref(&key)),
                Err(VerifyError::NoValidSignature { signatures: 1, .. })
            ),
            "payload byte {i}"
        );
    }
}

#[test]
fn tampered_payload_type_is_rejected() {
    let (mut envelope, key) = signed();
    envelope.payload_type = "application/vnd.in-toto+json ".into();
    assert!(
        matches!(verify(&envelope, &[key]), Err(VerifyError::WrongPayloadType { found }) if found.ends_with(' '))
    );
}

#[test]
fn tampered_signature_byte_is_rejected() {
    let (envelope, key) = signed();
    for i in [0, 8, envelope.signatures[0].sig.len() - 1] {
        let mut bad = envelope.clone();
        bad.signatures[0].sig[i] ^= 0x80;
        assert!(
            matches!(
                verify(&bad, std::slice::from_ref(&key)),
                Err(VerifyError::NoValidSignature { .. })
            ),
            "sig byte {i}"
        );
    }
}

#[test]
fn keyid_is_only_a_hint() {
    let (mut envelope, key) = signed();
    envelope.signatures[0].keyid = "somebody-else".into();
    verify(&envelope, std::slice::from_ref(&key)).unwrap();
    envelope.signatures[0].keyid.clear();
    verify(&envelope, &[key]).unwrap();
}

#[test]
fn missing_signatures_are_rejected() {
    let (envelope, key) = signed();
    let mut json = wire(&envelope);
    json["signatures"] = serde_json::json!([]);
    let bytes = serde_json::to_vec(&json).unwrap();
    assert!(matches!(
        verify_json(&bytes, std::slice::from_ref(&key)),
        Err(VerifyError::NoSignatures)
    ));
    json.as_object_mut().unwrap().remove("signatures");
    let bytes = serde_json::to_vec(&json).unwrap();
    assert!(matches!(
        verify_json(&bytes, std::slice::from_ref(&key)),
        Err(VerifyError::NoSignatures)
    ));
    assert!(matches!(verify(&envelope, &[]), Err(VerifyError::NoKeys)));
}

#[test]
fn broken_base64_names_the_field() {
    let (envelope, key) = signed();
    let mut json = wire(&envelope);
    json["payload"] = serde_json::json!("not*base64");
    let err = verify_json(
        &serde_json::to_vec(&json).unwrap(),
        std::slice::from_ref(&key),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::Envelope(EnvelopeError::Base64 { field }) if field == "payload"),
        "{err}"
    );

    let mut json = wire(&envelope);
    json["signatures"][0]["sig"] = serde_json::json!("%%%");
    let err = verify_json(&serde_json::to_vec(&json).unwrap(), &[key]).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Envelope(EnvelopeError::Base64 { field }) if field == "signatures[0].sig"),
        "{err}"
    );
}

#[test]
fn malformed_envelope_json_is_a_typed_error() {
    let key = verifying_key("p256.pub.pem");
    for bad in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"payload\":\"\"}",
        b"{\"payloadType\":1,\"payload\":\"\"}",
        b"\xff\xfe",
    ] {
        assert!(
            matches!(
                verify_json(bad, std::slice::from_ref(&key)),
                Err(VerifyError::Envelope(EnvelopeError::Json(_)))
            ),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn wrong_key_and_wrong_algorithm_key_are_rejected() {
    let (envelope, _) = signed();
    // Another P-256 key (cosign's).
    let err = verify(&envelope, &[verifying_key("cosign.pub")]).unwrap_err();
    assert!(
        matches!(&err, VerifyError::NoValidSignature { key_ids, .. } if key_ids.len() == 1),
        "{err}"
    );
    // An Ed25519 key cannot verify an ECDSA signature: a mismatch, not a crash.
    assert!(matches!(
        verify(&envelope, &[verifying_key("ed25519.pub.pem")]),
        Err(VerifyError::NoValidSignature { .. })
    ));
    // And the other way round.
    let ed = sign_statement(
        &Statement::from_json(&envelope.payload).unwrap(),
        &signing_key("ed25519.pkcs8.pem"),
    )
    .unwrap();
    assert!(matches!(
        verify(&ed, &[verifying_key("p256.pub.pem")]),
        Err(VerifyError::NoValidSignature { .. })
    ));
}

#[test]
fn signed_payload_that_is_not_a_statement_v1_is_rejected() {
    let key = signing_key("p256.pkcs8.pem");
    let pubkey = key.verifying_key();
    let hex = sha256_hex(b"x");
    type Check = fn(&StatementError) -> bool;
    let cases: Vec<(Vec<u8>, Check)> = vec![
        (b"not json".to_vec(), |e| matches!(e, StatementError::NotAStatement(_))),
        (
            format!(r#"{{"_type":"https://in-toto.io/Statement/v2","subject":[{{"name":"x","digest":{{"sha256":"{hex}"}}}}],"predicateType":"p","predicate":{{}}}}"#).into_bytes(),
            |e| matches!(e, StatementError::WrongType { found } if found.ends_with("v2")),
        ),
        (
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p","predicate":{}}"#.to_vec(),
            |e| matches!(e, StatementError::NoSubject),
        ),
        (
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"abc"}}],"predicateType":"p"}"#.to_vec(),
            |e| matches!(e, StatementError::BadDigest { index: 0, .. }),
        ),
        (
            br#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}"#.to_vec(),
            |e| matches!(e, StatementError::NotAStatement(_)),
        ),
    ];
    for (payload, check) in cases {
        // Correctly signed, so only the statement check can fail.
        let envelope = sign_payload(
            stella_attest::dsse::IN_TOTO_PAYLOAD_TYPE,
            payload.clone(),
            &key,
        );
        match verify(&envelope, std::slice::from_ref(&pubkey)) {
            Err(VerifyError::Statement(e)) => {
                assert!(check(&e), "{e} for {}", String::from_utf8_lossy(&payload))
            }
            other => panic!("{other:?} for {}", String::from_utf8_lossy(&payload)),
        }
    }
}

#[test]
fn subject_digest_mismatch_is_rejected() {
    let (envelope, key) = signed();
    let verified = verify(&envelope, &[key]).unwrap();
    let other = sha256_hex(b"another blob");
    let err = verify_subject(&verified.statement, &other).unwrap_err();
    assert!(
        matches!(&err, StatementError::SubjectMismatch { expected, found } if *expected == other && found.len() == 1),
        "{err}"
    );
}

#[test]
fn cosign_key_wrong_or_missing_password() {
    let pem = read_fixture("cosign.key");
    assert!(matches!(
        SigningKey::from_pem(&pem, Some(b"wrong")),
        Err(KeyError::Cosign(CosignKeyError::Decrypt))
    ));
    assert!(matches!(
        SigningKey::from_pem(&pem, None),
        Err(KeyError::Cosign(CosignKeyError::NoPassword))
    ));
}

#[test]
fn cosign_key_with_damaged_body() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = String::from_utf8(read_fixture("cosign.key")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let json: serde_json::Value = serde_json::from_slice(&b64.decode(body).unwrap()).unwrap();
    let rewrap = |v: &serde_json::Value| {
        let der = serde_json::to_vec(v).unwrap();
        p256::pkcs8::der::pem::encode_string(
            "ENCRYPTED SIGSTORE PRIVATE KEY",
            p256::pkcs8::der::pem::LineEnding::LF,
            &der,
        )
        .unwrap()
    };
    let load =
        |v: &serde_json::Value| SigningKey::from_pem(rewrap(v).as_bytes(), Some(FIXTURE_PASSWORD));

    let mut v = json.clone();
    let ct = b64.decode(v["ciphertext"].as_str().unwrap()).unwrap();
    let mut flipped = ct.clone();
    flipped[10] ^= 1;
    v["ciphertext"] = b64.encode(&flipped).into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::Decrypt))
    ));

    let mut v = json.clone();
    v["kdf"]["name"] = "pbkdf2".into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::Unsupported {
            what: "kdf",
            ..
        }))
    ));

    let mut v = json.clone();
    v["cipher"]["name"] = "aes-gcm".into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::Unsupported {
            what: "cipher",
            ..
        }))
    ));

    let mut v = json.clone();
    v["kdf"]["params"]["N"] = (1u64 << 40).into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::ScryptParams { .. }))
    ));
    // 2^20 with r = 8 is 1 GiB of scrypt memory: refused before allocating.
    v["kdf"]["params"]["N"] = (1u64 << 20).into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::ScryptParams { .. }))
    ));
    v["kdf"]["params"]["N"] = 1000.into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::ScryptParams { .. }))
    ));

    let mut v = json.clone();
    v["cipher"]["nonce"] = b64.encode([0u8; 12]).into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::NonceLength(12)))
    ));

    let mut v = json.clone();
    v["kdf"]["salt"] = "***".into();
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::Base64("kdf.salt")))
    ));

    let mut v = json;
    v.as_object_mut().unwrap().remove("ciphertext");
    assert!(matches!(
        load(&v),
        Err(KeyError::Cosign(CosignKeyError::Json(_)))
    ));
}

#[test]
fn malformed_and_unsupported_keys() {
    // Not PEM at all / truncated PEM.
    assert!(matches!(
        SigningKey::from_pem(b"hello", None),
        Err(KeyError::Pem(_))
    ));
    let pem = read_fixture("p256.pkcs8.pem");
    assert!(matches!(
        SigningKey::from_pem(&pem[..pem.len() / 2], None),
        Err(KeyError::Pem(_))
    ));
    // A public key where a private key is expected, and vice versa.
    assert!(matches!(
        SigningKey::from_pem(&read_fixture("p256.pub.pem"), None),
        Err(KeyError::Label { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_pem(&pem),
        Err(KeyError::Label { .. })
    ));
    // Valid PEM, garbage DER.
    let garbage = p256::pkcs8::der::pem::encode_string(
        "PRIVATE KEY",
        p256::pkcs8::der::pem::LineEnding::LF,
        b"\x30\x03\x02\x01",
    )
    .unwrap();
    assert!(matches!(
        SigningKey::from_pem(garbage.as_bytes(), None),
        Err(KeyError::Malformed { .. })
    ));
    // RSA: parsed, named, refused.
    assert!(matches!(
        SigningKey::from_pem(&read_fixture("rsa.pkcs8.pem"), None),
        Err(KeyError::UnsupportedAlgorithm { oid }) if oid == "1.2.840.113549.1.1.1"
    ));
    assert!(matches!(
        VerifyingKey::from_pem(&read_fixture("rsa.pub.pem")),
        Err(KeyError::UnsupportedAlgorithm { .. })
    ));
    // openssl's password-encrypted PKCS#8.
    let encrypted = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-passout", "pass:x", "-in"])
        .arg(fixture("p256.pkcs8.pem"))
        .output()
        .unwrap()
        .stdout;
    assert!(matches!(
        SigningKey::from_pem(&encrypted, Some(b"x")),
        Err(KeyError::EncryptedPkcs8)
    ));
    // EC, but P-384.
    assert!(matches!(
        SigningKey::from_pem(&read_fixture("p384.pkcs8.pem"), None),
        Err(KeyError::UnsupportedCurve(_))
    ));
}

#[test]
fn malformed_bundles() {
    let (envelope, key) = signed();
    let good = Bundle::new(envelope, key.bundle_hint()).to_json();
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    assert!(matches!(
        Bundle::from_json(b"nope"),
        Err(BundleError::Json(_))
    ));

    let mut m = v.clone();
    m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into();
    assert!(matches!(
        Bundle::from_json(&serde_json::to_vec(&m).unwrap()),
        Err(BundleError::MediaType { .. })
    ));

    let mut m = v.clone();
    m["verificationMaterial"]["certificate"] = serde_json::json!({"rawBytes": ""});
    assert!(matches!(
        Bundle::from_json(&serde_json::to_vec(&m).unwrap()),
        Err(BundleError::UnsupportedMaterial(_))
    ));

    let mut m = v.clone();
    m["dsseEnvelope"]["payload"] = "@@".into();
    assert!(matches!(
        Bundle::from_json(&serde_json::to_vec(&m).unwrap()),
        Err(BundleError::Envelope(EnvelopeError::Base64 { .. }))
    ));

    let mut m = v.clone();
    m.as_object_mut().unwrap().remove("dsseEnvelope");
    m["messageSignature"] = serde_json::json!({});
    assert!(matches!(
        Bundle::from_json(&serde_json::to_vec(&m).unwrap()),
        Err(BundleError::NotDsse)
    ));

    v["verificationMaterial"]["tlogEntries"] = serde_json::json!("x");
    assert!(matches!(
        Bundle::from_json(&serde_json::to_vec(&v).unwrap()),
        Err(BundleError::Field(_))
    ));
}

#[test]
fn verify_attestation_checks_type_then_subject() {
    use stella_attest::sign::{verify_attestation, Expect};
    let (envelope, key) = signed();
    let json = envelope.to_json();
    let blob = sha256_hex(&read_fixture("blob.txt"));
    let keys = std::slice::from_ref(&key);
    let ok = Expect {
        predicate_type: Some(statement::PREDICATE_VERDICT),
        subject_sha256: Some(&blob),
    };
    verify_attestation(&json, keys, &ok).unwrap();
    let wrong_type = Expect {
        predicate_type: Some(statement::PREDICATE_CYCLONEDX),
        ..ok.clone()
    };
    assert!(matches!(
        verify_attestation(&json, keys, &wrong_type),
        Err(VerifyError::WrongPredicateType { found, .. }) if found == statement::PREDICATE_VERDICT
    ));
    let other = sha256_hex(b"other");
    let wrong_subject = Expect {
        subject_sha256: Some(&other),
        ..ok.clone()
    };
    assert!(matches!(
        verify_attestation(&json, keys, &wrong_subject),
        Err(VerifyError::Statement(
            StatementError::SubjectMismatch { .. }
        ))
    ));
    // A bad signature is reported before anything about the statement.
    let mut bad = envelope.clone();
    bad.signatures[0].sig[3] ^= 1;
    assert!(matches!(
        verify_attestation(&bad.to_json(), keys, &wrong_subject),
        Err(VerifyError::NoValidSignature { .. })
    ));
}

#[test]
fn pem_with_leading_text_and_crlf_loads() {
    let pem = String::from_utf8(read_fixture("p256.pub.pem")).unwrap();
    let noisy = format!(
        "Public-Key: (256 bit)\nnotes\n{}",
        pem.replace('\n', "\r\n")
    );
    assert_eq!(
        VerifyingKey::from_pem(noisy.as_bytes()).unwrap(),
        verifying_key("p256.pub.pem")
    );
    assert!(matches!(
        VerifyingKey::from_pem(b"Public-Key: none here"),
        Err(KeyError::Pem(_))
    ));
}
