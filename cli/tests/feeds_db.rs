//! `stella feeds build` and `stella feeds pull` as a user runs them: the
//! OSV fixtures into an OCI layout, rebuilt without change (nothing
//! re-sent), pulled (then nothing re-fetched), and bad input with exit 1.
//! The library's own tests (feeds/tests/db_*.rs) hold the contents to
//! independent oracles; these check the command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn stella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .expect("run stella")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../feeds/tests/fixtures/osv")
        .join(name)
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn build_rebuild_pull() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let target = format!("oci-dir:{}", layout.display());
    let go = format!("osv:{}", fixture("osv-go").display());
    let crates = format!("osv:{}", fixture("osv-crates").display());
    let first = json(&stella(&[
        "feeds", "build", &go, &crates, "-o", &target, "--json",
    ]));
    let uploaded = first["uploaded"].as_array().unwrap();
    assert_eq!(uploaded.len(), 3, "two shards and the config: {first}");
    assert_eq!(first["tag"], "latest");
    let again = json(&stella(&[
        "feeds",
        "build",
        &crates,
        &go,
        "-o",
        &target,
        "--threads",
        "1",
        "--json",
    ]));
    assert_eq!(again["manifestDigest"], first["manifestDigest"]);
    assert_eq!(again["uploaded"].as_array().unwrap().len(), 0);
    assert_eq!(again["reused"].as_array().unwrap().len(), 3);

    // The layout on disk is what oras/skopeo read: index.json tags it.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert!(index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["digest"] == first["manifestDigest"]
            && m["annotations"]["org.opencontainers.image.ref.name"] == "latest"));

    let cache = work.path().join("cache");
    let cache_arg = cache.to_str().unwrap();
    let pulled = json(&stella(&[
        "feeds",
        "pull",
        &target,
        "--cache-dir",
        cache_arg,
        "--json",
    ]));
    assert_eq!(pulled["manifestDigest"], first["manifestDigest"]);
    assert_eq!(pulled["downloaded"].as_array().unwrap().len(), 3);
    let repulled = json(&stella(&[
        "feeds",
        "pull",
        &target,
        "--cache-dir",
        cache_arg,
        "--json",
    ]));
    assert_eq!(repulled["downloaded"].as_array().unwrap().len(), 0);
    let current = std::fs::read_to_string(cache.join("current")).unwrap();
    assert_eq!(current.trim(), first["manifestDigest"].as_str().unwrap());

    // Without --json: the digest on stdout.
    let plain = stella(&["feeds", "pull", &target, "--cache-dir", cache_arg]);
    assert!(plain.status.success());
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout).trim(),
        first["manifestDigest"].as_str().unwrap()
    );
}

#[test]
fn bad_input_fails_with_a_message() {
    let work = tempfile::tempdir().unwrap();
    let target = format!("oci-dir:{}", work.path().join("l").display());
    let out = stella(&["feeds", "build", "nvd:/x", "-o", &target]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown kind"));
    let missing = format!("osv:{}", work.path().join("missing").display());
    let out = stella(&["feeds", "build", &missing, "-o", &target]);
    assert_eq!(out.status.code(), Some(1));
    let out = stella(&["feeds", "build", "-o", &target]);
    assert_eq!(out.status.code(), Some(64), "no source is a usage error");
    // Pulling something that is not a feeds DB.
    let go = format!("osv:{}", fixture("osv-go").display());
    assert!(
        stella(&["feeds", "build", &go, "-o", &format!("{target}:v1")])
            .status
            .success()
    );
    let cache = work.path().join("cache");
    let out = stella(&[
        "feeds",
        "pull",
        &format!("{target}:nope"),
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!cache.join("current").exists());
}

/// `stella feeds lookup`: GHSA's `GitPython` record and PyPA's `gitpython`
/// one alias each other (GHSA-pr76-5cm5-w9cj ↔ PYSEC-2023-137, both
/// CVE-2023-40267 — read off the fixture files): merged they are one
/// advisory under the CVE id; `--raw` shows both records.
#[test]
fn lookup_merged_and_raw() {
    let work = tempfile::tempdir().unwrap();
    let parity = Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/tests/fixtures/parity");
    let target = format!("oci-dir:{}", work.path().join("layout").display());
    json(&stella(&[
        "feeds",
        "build",
        &format!("ghsa:{}", parity.join("ghsa").display()),
        &format!("osv:{}", parity.join("osv").display()),
        "-o",
        &target,
        "--json",
    ]));
    let cache = work.path().join("cache");
    let cache = cache.to_str().unwrap();
    let merged = json(&stella(&[
        "feeds",
        "lookup",
        "PyPI",
        "GitPython",
        "--db",
        &target,
        "--cache-dir",
        cache,
    ]));
    let merged = merged.as_array().unwrap();
    assert_eq!(merged.len(), 1, "{merged:?}");
    assert_eq!(merged[0]["id"], "CVE-2023-40267");
    let aliases: Vec<&str> = merged[0]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["GHSA-pr76-5cm5-w9cj", "PYSEC-2023-137"]);
    assert!(!merged[0]["decisions"].as_array().unwrap().is_empty());
    // The cache is now filled: --cache-dir alone opens it; the name is
    // keyed PEP 503-normalized.
    let raw = json(&stella(&[
        "feeds",
        "lookup",
        "PyPI",
        "GITPYTHON",
        "--cache-dir",
        cache,
        "--raw",
    ]));
    let mut ids: Vec<&str> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["GHSA-pr76-5cm5-w9cj", "PYSEC-2023-137"]);
    let none = json(&stella(&[
        "feeds",
        "lookup",
        "npm",
        "gitpython",
        "--cache-dir",
        cache,
    ]));
    assert_eq!(none, serde_json::json!([]));
    let bad = stella(&[
        "feeds",
        "lookup",
        "PyPI",
        "x",
        "--cache-dir",
        "/nonexistent/cache",
    ]);
    assert_eq!(bad.status.code(), Some(1));
}
