//! Shared helpers for the signing tests: fixture paths, external oracles
//! (openssl, cosign), temp dirs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stella_attest::keys::{SigningKey, VerifyingKey};

/// Password of the cosign keys in the fixtures (made with `COSIGN_PASSWORD`).
pub const FIXTURE_PASSWORD: &[u8] = b"stella-test-password";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/signing")
        .join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn signing_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&read_fixture(name), Some(FIXTURE_PASSWORD))
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

pub fn verifying_key(name: &str) -> VerifyingKey {
    VerifyingKey::from_pem(&read_fixture(name)).unwrap_or_else(|e| panic!("load {name}: {e}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Run a command, returning its output; panics only if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Run a command that must succeed; returns stdout.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

/// cosign per the issue-8 contract: `STELLA_COSIGN`, else the e2e harness;
/// `None` (test prints SKIPPED) unless `STELLA_REQUIRE_E2E=1`.
pub fn cosign() -> Option<PathBuf> {
    let found = std::env::var_os("STELLA_COSIGN")
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

/// A cosign command that never reaches the network unnoticed and reads the
/// fixture password.
pub fn cosign_cmd(cosign: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(cosign);
    cmd.current_dir(dir)
        .env(
            "COSIGN_PASSWORD",
            std::str::from_utf8(FIXTURE_PASSWORD).unwrap_or_default(),
        )
        .env("COSIGN_YES", "true")
        .env("SIGSTORE_NO_CACHE", "true")
        .env("HOME", dir)
        .env("TUF_ROOT", dir.join("tuf"));
    cmd
}
