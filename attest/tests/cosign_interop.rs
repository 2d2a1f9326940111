//! cosign 2.5 (the real binary, offline) as the oracle for interop:
//! cosign accepts what we sign, we accept what cosign signs, with keys made
//! by cosign, by openssl, and the `--type` short names resolve alike.
//! Tests that need the binary print "SKIPPED: no cosign" without it.

mod common;

use std::path::Path;

use common::*;
use stella_attest::bundle::Bundle;
use stella_attest::dsse::Envelope;
use stella_attest::keys::{SigningKey, VerifyingKey};
use stella_attest::sign::{sign_statement, verify, verify_json};
use stella_attest::statement::{self, predicate_type_for, verify_subject, Statement};

const PASSWORD: &str = "stella-test-password";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `cosign verify-blob-attestation` on an envelope file; Ok(()) or cosign's stderr.
fn cosign_verifies(
    cosign: &Path,
    dir: &Path,
    public_key: &Path,
    envelope: &Path,
    blob: &Path,
) -> Result<(), String> {
    let out = run(cosign_cmd(cosign, dir)
        .args([
            "verify-blob-attestation",
            "--insecure-ignore-tlog",
            "--type",
            "cyclonedx",
            "--key",
        ])
        .arg(public_key)
        .arg("--signature")
        .arg(envelope)
        .arg(blob));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `cosign attest-blob` without the transparency log; returns the envelope JSON.
fn cosign_attest(
    cosign: &Path,
    dir: &Path,
    private_key: &Path,
    predicate: &Path,
    type_: &str,
    blob: &Path,
) -> Vec<u8> {
    run_ok(
        cosign_cmd(cosign, dir)
            .args([
                "attest-blob",
                "--tlog-upload=false",
                "--yes",
                "--type",
                type_,
                "--key",
            ])
            .arg(private_key)
            .arg("--predicate")
            .arg(predicate)
            .arg(blob),
    )
}

fn cdx_statement(blob_name: &str, blob: &[u8]) -> Statement {
    Statement::new(
        blob_name,
        sha256_hex(blob),
        statement::PREDICATE_CYCLONEDX,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}),
    )
}

/// Both directions for one key pair: our envelope verified by cosign
/// (and a tampered one / another blob refused by it), cosign's envelope
/// verified by us. `private_key` is what we load; `cosign_key` is the same
/// key in a form cosign reads.
fn both_ways(
    cosign: &Path,
    dir: &Path,
    private_key: &Path,
    password: Option<&[u8]>,
    cosign_key: &Path,
    public_key: &Path,
) {
    let blob = write(dir, "artifact.bin", b"an artifact\n");
    let blob_bytes = std::fs::read(&blob).unwrap();
    let key = SigningKey::from_pem(&std::fs::read(private_key).unwrap(), password).unwrap();
    let public = VerifyingKey::from_pem(&std::fs::read(public_key).unwrap()).unwrap();

    // Ours → cosign.
    let envelope = sign_statement(&cdx_statement("artifact.bin", &blob_bytes), &key).unwrap();
    let env_path = write(dir, "ours.dsse.json", &envelope.to_json());
    cosign_verifies(cosign, dir, public_key, &env_path, &blob).unwrap_or_else(|e| {
        panic!(
            "cosign rejects our envelope ({}): {e}",
            private_key.display()
        )
    });
    // The oracle can refuse: the envelope is not about another blob…
    let other = write(dir, "other.bin", b"another artifact\n");
    assert!(
        cosign_verifies(cosign, dir, public_key, &env_path, &other).is_err(),
        "cosign ignores the subject"
    );
    // …and a payload changed after signing fails.
    let mut tampered = envelope.clone();
    tampered.payload = cdx_statement("artifact.bin", &blob_bytes)
        .to_json()
        .unwrap()
        .into_iter()
        .map(|b| if b == b'6' { b'5' } else { b })
        .collect();
    let tampered_path = write(dir, "tampered.dsse.json", &tampered.to_json());
    assert!(
        cosign_verifies(cosign, dir, public_key, &tampered_path, &blob).is_err(),
        "cosign accepts a tampered payload"
    );

    // cosign → ours.
    let predicate = write(
        dir,
        "predicate.json",
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#,
    );
    let theirs = cosign_attest(cosign, dir, cosign_key, &predicate, "cyclonedx", &blob);
    let verified = verify_json(&theirs, std::slice::from_ref(&public)).unwrap();
    assert_eq!(
        verified.statement.predicate_type,
        statement::PREDICATE_CYCLONEDX
    );
    assert_eq!(verified.statement.predicate["specVersion"], "1.5");
    verify_subject(&verified.statement, &sha256_hex(&blob_bytes)).unwrap();
    assert!(verify_subject(&verified.statement, &sha256_hex(b"another artifact\n")).is_err());
}

#[test]
fn cosign_generated_key_pair_both_ways() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_ok(cosign_cmd(&cosign, dir.path()).arg("generate-key-pair"));
    let key = dir.path().join("cosign.key");
    both_ways(
        &cosign,
        dir.path(),
        &key,
        Some(PASSWORD.as_bytes()),
        &key,
        &dir.path().join("cosign.pub"),
    );
}

/// A P-256 key made by `openssl genpkey`. cosign 2.5 as packaged by Debian
/// refuses to `import-key-pair` any ECDSA key ("error validating ecdsa key:
/// unsupported public key type", also for SEC1 and P-384), so when that
/// happens we hand cosign the key in its own format written by us
/// (`SigningKey::to_cosign_pem`) — which also checks our encryption
/// against cosign's decryption — and verify with openssl's public key.
#[test]
fn openssl_p256_key_both_ways() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pkcs8 = dir.path().join("openssl.pem");
    run_ok(
        std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&pkcs8),
    );
    let public = dir.path().join("openssl.pub");
    run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&pkcs8)
            .arg("-out")
            .arg(&public),
    );

    let import = run(cosign_cmd(&cosign, dir.path())
        .args([
            "import-key-pair",
            "--output-key-prefix",
            "imported",
            "--key",
        ])
        .arg(&pkcs8));
    let cosign_key = if import.status.success() {
        dir.path().join("imported.key")
    } else {
        eprintln!(
            "NOTE: cosign import-key-pair refused the openssl P-256 key: {}",
            String::from_utf8_lossy(&import.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
        let ours = SigningKey::from_pem(&std::fs::read(&pkcs8).unwrap(), None)
            .unwrap()
            .to_cosign_pem(PASSWORD.as_bytes())
            .unwrap();
        write(dir.path(), "exported.key", ours.as_bytes())
    };
    // We sign with the openssl PKCS#8 file itself, cosign with its copy;
    // both are checked against openssl's public key.
    both_ways(&cosign, dir.path(), &pkcs8, None, &cosign_key, &public);
}

/// cosign decrypts the cosign.key files we write, for both key types, and
/// refuses them under another password.
#[test]
fn cosign_reads_our_cosign_key_export() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    let blob = write(dir.path(), "blob", b"exported\n");
    let predicate = write(dir.path(), "p.json", b"{}");
    for private in ["p256.pkcs8.pem", "ed25519.pkcs8.pem"] {
        let key = signing_key(private);
        let exported = write(
            dir.path(),
            "exported.key",
            key.to_cosign_pem(PASSWORD.as_bytes()).unwrap().as_bytes(),
        );
        let theirs = cosign_attest(
            &cosign,
            dir.path(),
            &exported,
            &predicate,
            "cyclonedx",
            &blob,
        );
        verify_json(&theirs, &[key.verifying_key()]).unwrap();
        let wrong = run(cosign_cmd(&cosign, dir.path())
            .env("COSIGN_PASSWORD", "not-the-password")
            .args([
                "attest-blob",
                "--tlog-upload=false",
                "--yes",
                "--type",
                "cyclonedx",
                "--key",
            ])
            .arg(&exported)
            .arg("--predicate")
            .arg(&predicate)
            .arg(&blob));
        assert!(
            !wrong.status.success(),
            "cosign decrypted {private} with a wrong password"
        );
    }
}

/// Ed25519 from openssl, imported by cosign (this one cosign accepts).
#[test]
fn openssl_ed25519_key_imported_by_cosign_both_ways() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pkcs8 = dir.path().join("ed.pem");
    run_ok(
        std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ED25519", "-out"])
            .arg(&pkcs8),
    );
    run_ok(
        cosign_cmd(&cosign, dir.path())
            .args([
                "import-key-pair",
                "--output-key-prefix",
                "imported",
                "--key",
            ])
            .arg(&pkcs8),
    );
    let key = dir.path().join("imported.key");
    both_ways(
        &cosign,
        dir.path(),
        &key,
        Some(PASSWORD.as_bytes()),
        &key,
        &dir.path().join("imported.pub"),
    );
    // cosign's public key file is openssl's, re-encoded: the same key.
    let openssl_pub = run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&pkcs8),
    );
    assert_eq!(
        VerifyingKey::from_pem(&openssl_pub).unwrap(),
        VerifyingKey::from_pem(&std::fs::read(dir.path().join("imported.pub")).unwrap()).unwrap()
    );
}

/// Our `--type` table against what cosign writes as predicateType.
#[test]
fn type_short_names_match_cosign() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_ok(cosign_cmd(&cosign, dir.path()).arg("generate-key-pair"));
    let blob = write(dir.path(), "blob", b"x");
    // cosign validates the provenance and link predicates' shape.
    let slsa02 = br#"{"builder":{"id":"b"},"buildType":"t"}"#.as_slice();
    let slsa1 = br#"{"buildDefinition":{"buildType":"t","externalParameters":{}},"runDetails":{"builder":{"id":"b"}}}"#.as_slice();
    let link = br#"{"_type":"link","name":"n","materials":{},"products":{},"byproducts":{},"command":[],"environment":{}}"#.as_slice();
    let names: &[(&str, &[u8])] = &[
        ("custom", b"{}"),
        ("cyclonedx", b"{}"),
        ("link", link),
        ("openvex", b"{}"),
        ("slsaprovenance", slsa02),
        ("slsaprovenance02", slsa02),
        ("slsaprovenance1", slsa1),
        ("spdx", b"{}"),
        ("spdxjson", b"{}"),
        ("vuln", b"{}"),
    ];
    for (name, predicate) in names {
        let predicate = write(dir.path(), "predicate.json", predicate);
        let envelope = Envelope::from_json(&cosign_attest(
            &cosign,
            dir.path(),
            &dir.path().join("cosign.key"),
            &predicate,
            name,
            &blob,
        ))
        .unwrap();
        let written: serde_json::Value = serde_json::from_slice(&envelope.payload).unwrap();
        assert_eq!(
            written["predicateType"],
            predicate_type_for(name).unwrap(),
            "--type {name}"
        );
    }
}

/// Sigstore bundle v0.3 both ways. Offline, cosign needs a trusted root for
/// `--new-bundle-format` (else it fetches TUF from tuf-repo-cdn.sigstore.dev
/// and fails); an empty trusted root suffices with `--key`.
#[test]
fn sigstore_bundle_v03_both_ways() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_ok(cosign_cmd(&cosign, dir.path()).arg("generate-key-pair"));
    let key = SigningKey::from_pem(
        &std::fs::read(dir.path().join("cosign.key")).unwrap(),
        Some(PASSWORD.as_bytes()),
    )
    .unwrap();
    let public =
        VerifyingKey::from_pem(&std::fs::read(dir.path().join("cosign.pub")).unwrap()).unwrap();
    let trusted_root = write(
        dir.path(),
        "trusted_root.json",
        br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    );
    let blob_bytes = b"bundle me\n";
    let blob = write(dir.path(), "blob", blob_bytes);
    let verify_bundle = |bundle: &Path, blob: &Path| {
        run(cosign_cmd(&cosign, dir.path())
            .args([
                "verify-blob-attestation",
                "--new-bundle-format",
                "--insecure-ignore-tlog",
                "--type",
                "cyclonedx",
            ])
            .arg("--key")
            .arg(dir.path().join("cosign.pub"))
            .arg("--trusted-root")
            .arg(&trusted_root)
            .arg("--bundle")
            .arg(bundle)
            .arg(blob))
    };

    // Ours → cosign.
    let envelope = sign_statement(&cdx_statement("blob", blob_bytes), &key).unwrap();
    let ours = write(
        dir.path(),
        "ours.bundle.json",
        &Bundle::new(envelope, public.bundle_hint()).to_json(),
    );
    let out = verify_bundle(&ours, &blob);
    assert!(
        out.status.success(),
        "cosign rejects our bundle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other = write(dir.path(), "other", b"other\n");
    assert!(
        !verify_bundle(&ours, &other).status.success(),
        "cosign ignores the bundle's subject"
    );

    // cosign → ours.
    let predicate = write(dir.path(), "p.json", br#"{"bomFormat":"CycloneDX"}"#);
    let theirs = dir.path().join("theirs.bundle.json");
    run_ok(
        cosign_cmd(&cosign, dir.path())
            .args([
                "attest-blob",
                "--tlog-upload=false",
                "--new-bundle-format",
                "--yes",
                "--type",
                "cyclonedx",
                "--key",
            ])
            .arg(dir.path().join("cosign.key"))
            .arg("--predicate")
            .arg(&predicate)
            .arg("--bundle")
            .arg(&theirs)
            .arg(&blob),
    );
    let bundle = Bundle::from_json(&std::fs::read(&theirs).unwrap()).unwrap();
    assert_eq!(bundle.public_key_hint, public.bundle_hint());
    let verified = verify(&bundle.envelope, &[public]).unwrap();
    verify_subject(&verified.statement, &sha256_hex(blob_bytes)).unwrap();
}

/// The verdict attestation admission relies on: signed by us with a
/// cosign key, accepted by cosign for our predicate URI (cosign takes any
/// URI as `--type`), refused for another type, read back by us.
#[test]
fn verdict_attestation_accepted_by_cosign() {
    let Some(cosign) = cosign() else { return };
    let dir = tempfile::tempdir().unwrap();
    run_ok(cosign_cmd(&cosign, dir.path()).arg("generate-key-pair"));
    let key = SigningKey::from_pem(
        &std::fs::read(dir.path().join("cosign.key")).unwrap(),
        Some(PASSWORD.as_bytes()),
    )
    .unwrap();
    // Stands in for an image manifest: the subject is its digest.
    let manifest = write(dir.path(), "manifest.json", br#"{"schemaVersion":2}"#);
    let digest = format!("sha256:{}", sha256_hex(&std::fs::read(&manifest).unwrap()));
    let statement = stella_attest::predicates::image_statement(
        "registry.example/app",
        &digest,
        predicate_type_for("verdict").unwrap(),
        serde_json::json!({"verdict": "fail", "policy": "sha256:00", "reasons": ["CVE-2024-0001 critical"]}),
    );
    let envelope = write(
        dir.path(),
        "verdict.dsse.json",
        &sign_statement(&statement, &key).unwrap().to_json(),
    );
    let check = |type_: &str| {
        run(cosign_cmd(&cosign, dir.path())
            .args([
                "verify-blob-attestation",
                "--insecure-ignore-tlog",
                "--type",
                type_,
                "--key",
            ])
            .arg(dir.path().join("cosign.pub"))
            .arg("--signature")
            .arg(&envelope)
            .arg(&manifest))
        .status
        .success()
    };
    assert!(
        check(statement::PREDICATE_VERDICT),
        "cosign rejects our verdict attestation"
    );
    assert!(!check("cyclonedx"), "cosign ignores the predicate type");
    let public =
        VerifyingKey::from_pem(&std::fs::read(dir.path().join("cosign.pub")).unwrap()).unwrap();
    let verified = verify_json(&std::fs::read(&envelope).unwrap(), &[public]).unwrap();
    assert_eq!(verified.statement.predicate["verdict"], "fail");
    verify_subject(&verified.statement, &digest).unwrap();
}

/// Envelopes cosign made when the fixtures were created (see
/// fixtures/signing/SOURCE.md): verified without needing the binary.
#[test]
fn stored_cosign_attestations_verify() {
    let blob = sha256_hex(&read_fixture("blob.txt"));
    for (envelope, public) in [
        ("cosign-attest-cosign.dsse.json", "cosign.pub"),
        (
            "cosign-attest-imported-ed25519.dsse.json",
            "imported-ed25519.pub",
        ),
    ] {
        let verified = verify_json(&read_fixture(envelope), &[verifying_key(public)]).unwrap();
        assert_eq!(
            verified.statement.type_,
            statement::STATEMENT_V01,
            "cosign 2.5 writes Statement v0.1"
        );
        assert_eq!(
            verified.statement.predicate_type,
            statement::PREDICATE_CYCLONEDX
        );
        verify_subject(&verified.statement, &blob).unwrap();
        // And not with the other key.
        let wrong = if public == "cosign.pub" {
            "imported-ed25519.pub"
        } else {
            "cosign.pub"
        };
        assert!(verify_json(&read_fixture(envelope), &[verifying_key(wrong)]).is_err());
    }
}
