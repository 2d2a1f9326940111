//! Shared by `tests/attest*.rs`: the signing fixtures of `stella-attest`,
//! running stella, an independent DSSE reader (PAE written here from the
//! DSSE spec) and openssl as the signature oracle.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use serde_json::Value;

#[path = "../support/oci.rs"]
pub mod oci;

/// Password of the cosign keys in the fixtures.
pub const PASSWORD: &str = "stella-test-password";
pub const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const CDX_PREDICATE: &str = "https://cyclonedx.org/bom";

pub fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../attest/tests/fixtures/signing")
        .join(name)
}

pub fn key_arg(name: &str) -> String {
    key(name).display().to_string()
}

/// `stella ARGS` with a fixed SOURCE_DATE_EPOCH and the fixture password.
pub fn stella(args: &[&str]) -> Output {
    oci::stella()
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("COSIGN_PASSWORD", PASSWORD)
        .output()
        .expect("run stella")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

/// `stella verify IMAGE --key … [EXTRA…] -o json`: exit code and report.
pub fn verify(image: &str, keys: &[&str], extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify", image, "-o", "json"];
    let key_args: Vec<String> = keys.iter().map(|k| key_arg(k)).collect();
    for k in &key_args {
        args.extend(["--key", k.as_str()]);
    }
    args.extend_from_slice(extra);
    let out = stella(&args);
    let code = out.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stella verify printed no JSON ({e}), exit {code}: {}",
            text(&out.stderr)
        )
    });
    (code, report)
}

/// (verdict, code, origin) of each attestation in a verify report.
pub fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = report["attestations"]
        .as_array()
        .expect("attestations")
        .iter()
        .map(|a| {
            (
                a["verdict"].as_str().unwrap().to_string(),
                a["code"].as_str().unwrap().to_string(),
                a["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

pub fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DSSE v1 pre-authentication encoding, from the spec:
/// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The statement inside an envelope (not verified: tests check that).
pub fn statement_of(envelope: &Value) -> Value {
    serde_json::from_slice(&b64(envelope["payload"].as_str().unwrap())).expect("statement JSON")
}

/// openssl's verdict on the envelope's first signature over PAE with the
/// public key `pub_pem` (ECDSA P-256/SHA-256 DER, or Ed25519 raw).
pub fn openssl_verifies(envelope: &Value, pub_pem: &Path, ed25519: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let payload = b64(envelope["payload"].as_str().unwrap());
    let pae_bytes = pae(envelope["payloadType"].as_str().unwrap(), &payload);
    let sig = b64(envelope["signatures"][0]["sig"].as_str().unwrap());
    let msg = dir.path().join("pae.bin");
    let sig_path = dir.path().join("sig.bin");
    std::fs::write(&msg, pae_bytes).unwrap();
    std::fs::write(&sig_path, sig).unwrap();
    let mut cmd = Command::new("openssl");
    if ed25519 {
        cmd.args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(pub_pem)
            .arg("-in")
            .arg(&msg)
            .arg("-sigfile")
            .arg(&sig_path);
    } else {
        cmd.args(["dgst", "-sha256", "-verify"])
            .arg(pub_pem)
            .arg("-signature")
            .arg(&sig_path)
            .arg(&msg);
    }
    cmd.output().expect("openssl").status.success()
}

/// A small real image: Debian os-release and a dpkg database, one gzip
/// layer, distinguished by `marker`. Returns (layout, manifest digest).
pub fn image_layout(dir: &Path, marker: &str) -> (oci::Layout, String) {
    let mut tar = oci::Tar::new();
    tar.file("etc/os-release", oci::DEBIAN_OS_RELEASE.as_bytes())
        .file(
            "var/lib/dpkg/status",
            oci::dpkg_status(&[
                ("libssl3", "3.0.11-1~deb12u2"),
                ("openssl", "3.0.11-1~deb12u2"),
            ])
            .as_bytes(),
        )
        .file("etc/marker", marker.as_bytes());
    let (layout, manifest, _) = oci::Layout::simple(dir, &[tar.finish()]);
    (layout, manifest.digest)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// cosign: `STELLA_COSIGN`, else the e2e harness's; none prints SKIPPED
/// (a failure with `STELLA_REQUIRE_E2E=1`).
pub fn cosign_bin() -> Option<PathBuf> {
    let found = std::env::var_os("STELLA_COSIGN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| stella_testkit::buildkit::E2e::from_env().map(|e| e.cosign().to_path_buf()));
    if found.is_none() {
        if std::env::var("STELLA_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("STELLA_REQUIRE_E2E=1 but no cosign (set STELLA_COSIGN)");
        }
        eprintln!("SKIPPED: no cosign");
    }
    found
}

/// cosign, offline: fixture password, no prompts, a private HOME/TUF root.
pub fn cosign(bin: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(home)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env("COSIGN_YES", "true")
        .env("SIGSTORE_NO_CACHE", "true")
        .env("HOME", home)
        .env("DOCKER_CONFIG", home)
        .env("TUF_ROOT", home.join("tuf"))
        .output()
        .expect("run cosign")
}

pub fn cosign_ok(bin: &Path, home: &Path, args: &[&str]) {
    let out = cosign(bin, home, args);
    assert!(
        out.status.success(),
        "cosign {args:?}: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
}
