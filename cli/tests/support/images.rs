//! Shared by the tests that scan the real images of
//! `samples/build-test-images.sh`: where they are, and running the binary.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The test images directory (`STELLA_TEST_IMAGES`, else
/// `target/stella-test-images`); fails unless the build step that writes
/// `marker` (`.done`, `.done-entry`) has finished there.
pub fn images_dir_with(marker: &str) -> PathBuf {
    let dir = std::env::var_os("STELLA_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/stella-test-images")
        });
    assert!(
        dir.join(marker).exists(),
        "test images ({marker}) missing in {}: run `samples/build-test-images.sh {}` (tests/run.sh does) as root",
        dir.display(),
        dir.display()
    );
    dir
}

/// Runs `stella ARGS` with a fixed `SOURCE_DATE_EPOCH`: (exit code, stdout, stderr).
pub fn stella(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        // These tests exercise the streaming path; tests/layer_cache.rs the cache.
        .env("STELLA_NO_CACHE", "1")
        .output()
        .expect("run stella");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
