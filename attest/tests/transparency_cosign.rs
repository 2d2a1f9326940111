//! Interop oracle: cosign accepts a log entry our client obtained.
//!
//! A blob is signed with a P-256 key, submitted as a `hashedrekord` entry
//! through `RekorClient` to the RFC 6962 test log (not Rekor), and the
//! entry (body, integrated time, index, log ID, SET) is handed to
//! `cosign verify-blob --offline` in cosign's bundle format with the test
//! log's key as the Rekor key. cosign checks the SET over the entry and
//! that the body logs this signature, key and digest — independently of
//! our verifier. A flipped SET must make cosign fail.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use sha2::Digest as _;
use stella_attest::transparency::client::{hashedrekord_entry, ClientConfig, RekorClient};
use stella_testkit::rfc6962_log::{TestLog, TestLogOptions};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn cosign() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STELLA_COSIGN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    stella_testkit::buildkit::E2e::from_env().map(|e| e.cosign().to_path_buf())
}

#[test]
fn cosign_verifies_the_set_of_an_entry_from_our_client() {
    let Some(cosign) = cosign() else {
        if std::env::var("STELLA_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("STELLA_REQUIRE_E2E=1 but no cosign (STELLA_COSIGN)");
        }
        println!("SKIPPED: no cosign");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let blob = b"stella transparency interop blob\n";
    let key = p256::ecdsa::SigningKey::from_slice(&[0x33; 32]).unwrap();
    let sig: p256::ecdsa::Signature = key.sign(blob);
    let sig_der = sig.to_der().as_bytes().to_vec();
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();

    let log = TestLog::start(TestLogOptions {
        integrated_time: 1_750_000_000,
        ..Default::default()
    })
    .unwrap();
    let client = RekorClient::new(ClientConfig::new(&log.url())).unwrap();
    let digest: [u8; 32] = sha2::Sha256::digest(blob).into();
    let sub = client
        .create_entry(&hashedrekord_entry(&digest, &sig_der, &pem))
        .unwrap();
    let e = &sub.entry;

    std::fs::write(dir.path().join("blob"), blob).unwrap();
    std::fs::write(dir.path().join("key.pub"), &pem).unwrap();
    std::fs::write(dir.path().join("rekor.pub"), log.public_key_pem()).unwrap();
    let bundle = |set: &[u8]| {
        serde_json::json!({
            "base64Signature": B64.encode(&sig_der),
            "rekorBundle": {
                "SignedEntryTimestamp": B64.encode(set),
                "Payload": {
                    "body": B64.encode(&e.body),
                    "integratedTime": e.integrated_time,
                    "logIndex": e.log_index,
                    "logID": hex::encode(e.log_id),
                }
            }
        })
        .to_string()
    };
    let run = |bundle_json: String| {
        let path = dir.path().join("bundle.json");
        std::fs::write(&path, bundle_json).unwrap();
        Command::new(&cosign)
            .args(["verify-blob", "--offline", "--key"])
            .arg(dir.path().join("key.pub"))
            .arg("--bundle")
            .arg(&path)
            .arg(dir.path().join("blob"))
            .env("SIGSTORE_REKOR_PUBLIC_KEY", dir.path().join("rekor.pub"))
            .env("TUF_ROOT", dir.path().join("tuf"))
            .output()
            .unwrap()
    };
    let set = e.signed_entry_timestamp.clone().unwrap();
    let ok = run(bundle(&set));
    assert!(
        ok.status.success(),
        "cosign rejected the entry: {}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ok.stderr).contains("Verified OK"),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut bad_set = set.clone();
    bad_set[12] ^= 1;
    let bad = run(bundle(&bad_set));
    let bad_err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success(),
        "cosign accepted a flipped SET: {bad_err}"
    );
    println!("cosign on the flipped SET: {bad_err}");
}
