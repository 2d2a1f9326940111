//! oras, the OCI artifact CLI: our independent reader of referrers and
//! artifacts (interop oracle). `tests/install-oras.sh` installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The oras binary: `STELLA_ORAS`, else what tests/install-oras.sh installed
/// under target/, else PATH. `None`, with a visible SKIPPED message, when it
/// cannot run here.
pub fn find() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("STELLA_ORAS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/oras/root/usr/bin/oras")),
        Some(PathBuf::from("oras")),
    ];
    let found = candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        eprintln!("SKIPPED oras interop: oras is not installed (run tests/install-oras.sh)");
    }
    found
}

/// Runs oras in `cwd` with an empty home and docker config (no stored
/// credentials leak in) and returns its stdout; a failure fails the test
/// with oras's output.
pub fn run(oras: &Path, args: &[&str], cwd: &Path) -> Vec<u8> {
    let home = tempfile::tempdir().expect("temporary HOME for oras");
    let out = Command::new(oras)
        .args(args)
        .current_dir(cwd)
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", home.path())
        .output()
        .expect("run oras");
    assert!(
        out.status.success(),
        "oras {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
