//! Fingerprints the engine's source (this crate's `src/` and the model's)
//! into `STELLA_ENGINE_FINGERPRINT`, part of every layer-cache key: a build
//! whose analysis code differs in any way never reads another build's cache
//! entries, even when nobody remembered to bump a version.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut h = Sha256::new();
    // The model crate is a sibling in the workspace; a packaged build
    // without it fingerprints this crate alone.
    for (name, dir) in [
        ("analyzers", manifest.join("src")),
        ("model", manifest.join("../model/src")),
    ] {
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        files.sort();
        for f in files {
            let rel = f
                .strip_prefix(&dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read(&f).unwrap_or_default();
            for part in [name.as_bytes(), rel.as_bytes(), &text] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rustc-env=STELLA_ENGINE_FINGERPRINT={}",
        hex::encode(h.finalize())
    );
}
