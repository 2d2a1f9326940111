//! Round trips per key type, determinism, and openssl as an independent
//! oracle for key parsing and for signatures over DSSE PAE.

mod common;

use std::process::Command;

use common::*;
use stella_attest::dsse::{pae, Envelope, Signature, IN_TOTO_PAYLOAD_TYPE};
use stella_attest::keys::{Algorithm, SigningKey, VerifyingKey};
use stella_attest::sign::{sign_bytes, sign_statement, verify, verify_json};
use stella_attest::statement::{self, verify_subject, Statement};

fn sbom_statement() -> Statement {
    let blob = read_fixture("blob.txt");
    Statement::new(
        "blob.txt",
        sha256_hex(&blob),
        statement::PREDICATE_CYCLONEDX,
        serde_json::from_slice(&read_fixture("predicate.cdx.json")).unwrap(),
    )
}

/// (private key fixture, public key fixture made by another tool, algorithm)
const KEY_PAIRS: &[(&str, &str, Algorithm)] = &[
    ("p256.pkcs8.pem", "p256.pub.pem", Algorithm::EcdsaP256Sha256),
    ("p256.sec1.pem", "p256.pub.pem", Algorithm::EcdsaP256Sha256),
    ("ed25519.pkcs8.pem", "ed25519.pub.pem", Algorithm::Ed25519),
    // cosign generate-key-pair (P-256) and cosign import-key-pair (Ed25519).
    ("cosign.key", "cosign.pub", Algorithm::EcdsaP256Sha256),
    (
        "imported-ed25519.key",
        "imported-ed25519.pub",
        Algorithm::Ed25519,
    ),
];

#[test]
fn round_trip_per_key_type() {
    let statement = sbom_statement();
    for (private, public, algorithm) in KEY_PAIRS {
        let key = signing_key(private);
        assert_eq!(key.algorithm(), *algorithm, "{private}");
        let public_key = verifying_key(public);
        // The public half we derive equals the one the other tool wrote.
        assert_eq!(key.verifying_key(), public_key, "{private} vs {public}");

        let envelope = sign_statement(&statement, &key).unwrap();
        let json = envelope.to_json();
        let verified = verify_json(&json, std::slice::from_ref(&public_key)).unwrap();
        assert_eq!(verified.statement, statement, "{private}");
        assert_eq!((verified.key_index, verified.signature_index), (0, 0));
        verify_subject(&verified.statement, &sha256_hex(&read_fixture("blob.txt"))).unwrap();

        // The right key is found among others, whatever its position.
        let other = verifying_key(if *algorithm == Algorithm::Ed25519 {
            "p256.pub.pem"
        } else {
            "ed25519.pub.pem"
        });
        let found = verify(&envelope, &[other, public_key]).unwrap();
        assert_eq!(found.key_index, 1, "{private}");
    }
}

#[test]
fn same_statement_and_key_give_identical_envelope_bytes() {
    let statement = sbom_statement();
    for (private, _, _) in KEY_PAIRS {
        let a = sign_statement(&statement, &signing_key(private))
            .unwrap()
            .to_json();
        // Reload the key: nothing cached may matter.
        let b = sign_statement(&statement, &signing_key(private))
            .unwrap()
            .to_json();
        assert_eq!(a, b, "{private}");
    }
}

/// RFC 6979 A.2.5: P-256, SHA-256, message "sample" — the published
/// deterministic signature. Proves ECDSA signing is RFC 6979, not random.
#[test]
fn ecdsa_is_rfc6979() {
    let x =
        hex::decode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721").unwrap();
    let key = SigningKey::P256(p256::ecdsa::SigningKey::from_slice(&x).unwrap());
    let der = sign_bytes(b"sample", &key);
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    let (r, s) = (
        hex::encode_upper(sig.r().to_bytes()),
        hex::encode_upper(sig.s().to_bytes()),
    );
    assert_eq!(
        r,
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
    );
    assert_eq!(
        s,
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
    );
}

/// The key id is sha256 of the SPKI DER as openssl writes it, and our
/// SPKI PEM is byte-identical to openssl's.
#[test]
fn key_id_and_pem_match_openssl() {
    for public in ["p256.pub.pem", "ed25519.pub.pem", "cosign.pub"] {
        let key = verifying_key(public);
        let der = run_ok(
            Command::new("openssl")
                .args(["pkey", "-pubin", "-outform", "DER", "-in"])
                .arg(fixture(public)),
        );
        assert_eq!(key.key_id(), sha256_hex(&der), "{public}");
        let pem = run_ok(
            Command::new("openssl")
                .args(["pkey", "-pubin", "-in"])
                .arg(fixture(public)),
        );
        assert_eq!(key.to_pem().as_bytes(), pem.as_slice(), "{public}");
    }
    // cosign's bundle hint for cosign.pub is base64(sha256(SPKI DER)).
    let der = run_ok(
        Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(fixture("cosign.pub")),
    );
    use base64::Engine;
    use sha2::Digest;
    assert_eq!(
        verifying_key("cosign.pub").bundle_hint(),
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&der))
    );
}

/// openssl verifies our signatures over PAE; we verify openssl's.
#[test]
fn openssl_agrees_on_signatures_over_pae() {
    let dir = tempfile::tempdir().unwrap();
    let statement = sbom_statement();
    for (private, public) in [
        ("p256.pkcs8.pem", "p256.pub.pem"),
        ("ed25519.pkcs8.pem", "ed25519.pub.pem"),
    ] {
        let key = signing_key(private);
        let envelope = sign_statement(&statement, &key).unwrap();
        let pae_path = dir.path().join("pae");
        let sig_path = dir.path().join("sig");
        std::fs::write(&pae_path, pae(&envelope.payload_type, &envelope.payload)).unwrap();
        std::fs::write(&sig_path, &envelope.signatures[0].sig).unwrap();
        let verify_cmd = |sig: &std::path::Path| {
            let mut cmd = Command::new("openssl");
            if key.algorithm() == Algorithm::Ed25519 {
                cmd.args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
                    .arg(fixture(public))
                    .arg("-in")
                    .arg(&pae_path)
                    .arg("-sigfile")
                    .arg(sig);
            } else {
                cmd.args(["dgst", "-sha256", "-verify"])
                    .arg(fixture(public))
                    .arg("-signature")
                    .arg(sig)
                    .arg(&pae_path);
            }
            run(&mut cmd).status.success()
        };
        assert!(
            verify_cmd(&sig_path),
            "openssl rejects our {private} signature"
        );
        // The oracle can say no: a flipped bit is rejected.
        let mut bad = envelope.signatures[0].sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(dir.path().join("bad"), &bad).unwrap();
        assert!(
            !verify_cmd(&dir.path().join("bad")),
            "openssl accepts a corrupted signature"
        );

        // openssl signs the same PAE; we verify its signature.
        let theirs = dir.path().join("theirs");
        let mut sign_cmd = Command::new("openssl");
        if key.algorithm() == Algorithm::Ed25519 {
            sign_cmd.args(["pkeyutl", "-sign", "-rawin", "-inkey"]);
        } else {
            sign_cmd.args(["dgst", "-sha256", "-sign"]);
        }
        sign_cmd.arg(fixture(private)).arg("-out").arg(&theirs);
        if key.algorithm() == Algorithm::Ed25519 {
            sign_cmd.arg("-in");
        }
        sign_cmd.arg(&pae_path);
        run_ok(&mut sign_cmd);
        let their_sig = std::fs::read(&theirs).unwrap();
        let mut their_envelope = Envelope::new(IN_TOTO_PAYLOAD_TYPE, envelope.payload.clone());
        their_envelope.signatures.push(Signature {
            keyid: String::new(),
            sig: their_sig.clone(),
        });
        verify(&their_envelope, &[verifying_key(public)]).unwrap();
        if key.algorithm() == Algorithm::Ed25519 {
            // Ed25519 is deterministic: openssl's signature is ours, byte for byte.
            assert_eq!(their_sig, envelope.signatures[0].sig);
        }
    }
}

/// Our cosign-format encryption is read back by us and loads the same key.
#[test]
fn cosign_key_export_round_trip() {
    for private in ["p256.pkcs8.pem", "ed25519.pkcs8.pem"] {
        let key = signing_key(private);
        let pem = key.to_cosign_pem(b"pw").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let back = SigningKey::from_pem(pem.as_bytes(), Some(b"pw")).unwrap();
        assert_eq!(back.verifying_key(), key.verifying_key());
        assert_eq!(back.to_pkcs8_der().unwrap(), key.to_pkcs8_der().unwrap());
        // openssl reads our PKCS#8 DER and derives the same public key.
        let dir = tempfile::tempdir().unwrap();
        let der = dir.path().join("key.der");
        std::fs::write(&der, key.to_pkcs8_der().unwrap()).unwrap();
        let public = run_ok(
            Command::new("openssl")
                .args(["pkey", "-inform", "DER", "-pubout", "-in"])
                .arg(&der),
        );
        assert_eq!(
            public,
            key.verifying_key().to_pem().into_bytes(),
            "{private}"
        );
    }
}

#[test]
fn public_key_from_private_matches_openssl_derivation() {
    // openssl derives the public key of the cosign-imported Ed25519 key's
    // source; we derive it from cosign's encrypted copy.
    let ours = signing_key("imported-ed25519.key").verifying_key();
    let openssl_pub = run_ok(
        Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(fixture("ed25519.pkcs8.pem")),
    );
    assert_eq!(ours, VerifyingKey::from_pem(&openssl_pub).unwrap());
}

/// A bundle keeps tlog entries and timestamp data verbatim, and its
/// envelope survives byte for byte.
#[test]
fn bundle_round_trip_keeps_opaque_parts() {
    use stella_attest::bundle::{Bundle, BUNDLE_V03_MEDIA_TYPE};
    let key = signing_key("ed25519.pkcs8.pem");
    let envelope = sign_statement(&sbom_statement(), &key).unwrap();
    let mut bundle = Bundle::new(envelope.clone(), key.verifying_key().bundle_hint());
    let json = bundle.to_json();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["mediaType"], BUNDLE_V03_MEDIA_TYPE);
    assert!(
        value["verificationMaterial"].get("tlogEntries").is_none(),
        "empty tlogEntries omitted like cosign"
    );
    assert_eq!(Bundle::from_json(&json).unwrap(), bundle);

    let entry = serde_json::json!({"logIndex": "42", "logId": {"keyId": "AAAA"}, "kindVersion": {"kind": "dsse", "version": "0.0.1"}, "integratedTime": "1700000000"});
    bundle.tlog_entries.push(entry.clone());
    bundle.timestamp_verification_data = Some(serde_json::json!({"rfc3161Timestamps": []}));
    let back = Bundle::from_json(&bundle.to_json()).unwrap();
    assert_eq!(back.tlog_entries, vec![entry]);
    assert_eq!(back, bundle);
    assert_eq!(back.envelope.to_json(), envelope.to_json());
    verify(&back.envelope, &[key.verifying_key()]).unwrap();
}

/// With several signatures, one good one suffices and is reported.
#[test]
fn multi_signature_envelope_reports_the_match() {
    let statement = sbom_statement();
    let p256 = signing_key("p256.pkcs8.pem");
    let ed = signing_key("ed25519.pkcs8.pem");
    let mut envelope = sign_statement(&statement, &p256).unwrap();
    let second = sign_statement(&statement, &ed).unwrap();
    envelope.signatures.extend(second.signatures);
    let found = verify(&envelope, &[ed.verifying_key()]).unwrap();
    assert_eq!((found.signature_index, found.key_index), (1, 0));
    // Corrupt the Ed25519 one: the P-256 one still verifies with its key only.
    envelope.signatures[1].sig[0] ^= 1;
    assert!(verify(&envelope, &[ed.verifying_key()]).is_err());
    assert_eq!(
        verify(&envelope, &[ed.verifying_key(), p256.verifying_key()])
            .unwrap()
            .key_index,
        1
    );
}

#[test]
fn bom_index_statement_by_digest() {
    use stella_attest::predicates::{bom_index_statement, BomIndexPredicate, BOM_INDEX_MEDIA_TYPE};
    let manifest = format!("sha256:{}", "ab".repeat(32));
    let blob_digest = format!("sha256:{}", sha256_hex(b"BOMIDX1..."));
    let statement = bom_index_statement(
        "registry.example/app",
        &manifest,
        &BomIndexPredicate::new(blob_digest.clone(), 10),
    )
    .unwrap();
    assert_eq!(statement.predicate_type, statement::PREDICATE_BOM_INDEX);
    assert_eq!(statement.predicate["mediaType"], BOM_INDEX_MEDIA_TYPE);
    assert_eq!(statement.predicate["digest"], blob_digest);
    verify_subject(&statement, &manifest).unwrap();
    let key = signing_key("p256.pkcs8.pem");
    let verified = verify(
        &sign_statement(&statement, &key).unwrap(),
        &[key.verifying_key()],
    )
    .unwrap();
    let back: BomIndexPredicate = serde_json::from_value(verified.statement.predicate).unwrap();
    assert_eq!(back.size, 10);
}
