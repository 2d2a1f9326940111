//! `stella scan` with the layer cache, on the real images of
//! `samples/build-test-images.sh`: warm rescans write byte-identical SBOMs
//! and do not need the layer blobs at all; an image on a cached base needs
//! only its own blobs; damaged entries are reported, ignored and rewritten;
//! the size cap holds; the default location follows XDG; nothing else is
//! written. The reference output is always a `--no-cache` scan.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "support/images.rs"]
mod images;

use images::images_dir_with;

/// `stella scan SOURCE -q ARGS…` with a fixed SOURCE_DATE_EPOCH and no
/// cache settings inherited from the environment.
fn scan(source: &str, args: &[&str]) -> Output {
    scan_in(source, args, &[])
}

fn scan_in(source: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stella"));
    cmd.args(["scan", source, "-q"])
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("STELLA_CACHE_DIR")
        .env_remove("STELLA_NO_CACHE")
        .env_remove("STELLA_CACHE_MAX_SIZE")
        .env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stella")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "stella failed ({}): {}",
        out.status,
        stderr(out)
    );
}

/// The three machine-readable outputs of one scan, by format.
fn outputs(source: &str, cache: &[&str]) -> (BTreeMap<&'static str, Vec<u8>>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = cache.iter().map(|s| s.to_string()).collect();
    for format in ["json", "cyclonedx-json", "spdx-json"] {
        args.push("-o".to_string());
        args.push(format!("{format}={}", tmp.path().join(format).display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = scan(source, &args);
    assert_ok(&out);
    let files = ["json", "cyclonedx-json", "spdx-json"]
        .into_iter()
        .map(|f| (f, fs::read(tmp.path().join(f)).unwrap()))
        .collect();
    (files, stderr(&out))
}

fn layout_source(layout: &Path, tag: &str) -> String {
    format!("oci-dir:{}:{tag}", layout.display())
}

fn cache_args(dir: &Path) -> Vec<String> {
    vec!["--cache-dir".to_string(), dir.display().to_string()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every entry file in a cache directory.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(shards) = fs::read_dir(cache.join("layers-v1")) else {
        return out;
    };
    for shard in shards.flatten() {
        for f in fs::read_dir(shard.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out.sort();
    out
}

/// A copy of the test images' OCI layout whose blobs are hard links (cheap;
/// deleting one here leaves the original alone).
fn linked_layout(src: &Path, dest: &Path) {
    fs::create_dir_all(dest.join("blobs/sha256")).unwrap();
    for name in ["index.json", "oci-layout"] {
        fs::copy(src.join(name), dest.join(name)).unwrap();
    }
    for blob in fs::read_dir(src.join("blobs/sha256")).unwrap().flatten() {
        fs::hard_link(
            blob.path(),
            dest.join("blobs/sha256").join(blob.file_name()),
        )
        .unwrap();
    }
}

/// The layer blob digests (hex) of image `tag` in an OCI layout.
fn layer_blobs(layout: &Path, tag: &str) -> Vec<String> {
    let read = |hex: &str| -> Value {
        serde_json::from_slice(&fs::read(layout.join("blobs/sha256").join(hex)).unwrap()).unwrap()
    };
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("tag {tag} in the layout"));
    let hex = |d: &Value| {
        d.as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string()
    };
    read(&hex(&manifest["digest"]))["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex(&l["digest"]))
        .collect()
}

#[test]
fn warm_rescans_write_byte_identical_sboms() {
    let dir = images_dir_with(".done-entry");
    let layout = dir.join("oci");
    let cache = tempfile::tempdir().unwrap();
    let with_cache = cache_args(cache.path());
    for tag in ["multi", "entry-tini", "entry-scratch"] {
        let source = layout_source(&layout, tag);
        let (reference, _) = outputs(&source, &["--no-cache"]);
        let (cold, cold_err) = outputs(&source, &strs(&with_cache));
        let (warm, warm_err) = outputs(&source, &strs(&with_cache));
        for (format, want) in &reference {
            assert!(
                cold[format] == *want,
                "{tag} {format}: cold differs from --no-cache"
            );
            assert!(
                warm[format] == *want,
                "{tag} {format}: warm differs from --no-cache"
            );
        }
        assert!(
            cold_err.is_empty() && warm_err.is_empty(),
            "{cold_err}{warm_err}"
        );
    }
    assert!(!entries(cache.path()).is_empty());
}

#[test]
fn other_transports_of_a_cached_image_give_their_own_byte_identical_sboms() {
    // The same layers reached through an oci-archive (same descriptors: the
    // whole-image entry is reused with this source's facts) and a
    // docker-archive (other blob digests and media types: only the layer
    // fragments, keyed by diffID, are reused).
    let dir = images_dir_with(".done");
    let cache = tempfile::tempdir().unwrap();
    let with_cache = cache_args(cache.path());
    outputs(
        &layout_source(&dir.join("oci"), "multi"),
        &strs(&with_cache),
    );
    for source in [
        format!("oci-archive:{}", dir.join("multi.oci.tar").display()),
        format!("docker-archive:{}", dir.join("multi.docker.tar").display()),
    ] {
        let (reference, _) = outputs(&source, &["--no-cache"]);
        let (got, err) = outputs(&source, &strs(&with_cache));
        assert!(got == reference, "{source}: differs from --no-cache");
        assert!(err.is_empty(), "{err}");
    }
}

#[test]
fn a_cached_image_scans_without_its_blobs_and_a_rebuild_needs_only_its_new_ones() {
    let dir = images_dir_with(".done-entry");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    linked_layout(&dir.join("oci"), &layout);
    let cache = tmp.path().join("cache");
    let with_cache = cache_args(&cache);

    // entry-tini is entry-python plus its own layer(s): a rebuild on the same base.
    let python = layer_blobs(&layout, "entry-python");
    let tini = layer_blobs(&layout, "entry-tini");
    assert!(tini.len() > python.len() && tini[..python.len()] == python[..]);
    let (python_ref, _) = outputs(&layout_source(&layout, "entry-python"), &["--no-cache"]);
    let (tini_ref, _) = outputs(&layout_source(&layout, "entry-tini"), &["--no-cache"]);

    outputs(&layout_source(&layout, "entry-python"), &strs(&with_cache));
    for hex in &python {
        fs::remove_file(layout.join("blobs/sha256").join(hex)).unwrap();
    }
    // Without the cache the blobs are really gone ...
    let out = scan(&layout_source(&layout, "entry-python"), &["--no-cache"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // ... with it, no blob is needed, and the SBOMs are the same bytes.
    let (warm, _) = outputs(&layout_source(&layout, "entry-python"), &strs(&with_cache));
    assert!(warm == python_ref, "warm entry-python differs");
    // The image built on top needs only the blobs of its own layers.
    let (tini, err) = outputs(&layout_source(&layout, "entry-tini"), &strs(&with_cache));
    assert!(tini == tini_ref, "entry-tini on a cached base differs");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn damaged_entries_are_reported_ignored_and_rewritten() {
    let dir = images_dir_with(".done");
    let source = layout_source(&dir.join("oci"), "multi");
    let cache = tempfile::tempdir().unwrap();
    let with_cache = cache_args(cache.path());
    let (reference, _) = outputs(&source, &["--no-cache"]);
    outputs(&source, &strs(&with_cache));
    let stored = entries(cache.path());
    assert!(stored.len() >= 3, "{stored:?}");
    // Flip one byte in the middle of some entries, truncate the others.
    for (i, path) in stored.iter().enumerate() {
        let mut bytes = fs::read(path).unwrap();
        if i % 2 == 0 {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x20;
        } else {
            bytes.truncate(bytes.len() - 3);
        }
        fs::write(path, bytes).unwrap();
    }
    let (got, err) = outputs(&source, &strs(&with_cache));
    assert!(got == reference, "a scan over damaged entries differs");
    let warnings = err
        .lines()
        .filter(|l| l.starts_with("stella: warning: layer cache: corrupt cache entry"))
        .count();
    assert_eq!(
        warnings,
        stored.len(),
        "one warning per damaged entry:\n{err}"
    );
    // Rewritten: the next scan is clean and still the same.
    let (got, err) = outputs(&source, &strs(&with_cache));
    assert!(got == reference);
    assert!(err.is_empty(), "{err}");
    assert_eq!(entries(cache.path()), stored);
}

#[test]
fn the_size_cap_holds() {
    let dir = images_dir_with(".done");
    let source = layout_source(&dir.join("oci"), "multi");
    let cache = tempfile::tempdir().unwrap();
    let (reference, _) = outputs(&source, &["--no-cache"]);
    let mut args = cache_args(cache.path());
    args.extend(["--cache-max-size".to_string(), "200KiB".to_string()]);
    for _ in 0..2 {
        let (got, err) = outputs(&source, &strs(&args));
        assert!(got == reference);
        assert!(err.is_empty(), "{err}");
        let total: u64 = entries(cache.path())
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum();
        assert!(total <= 200 * 1024, "{total} bytes cached");
    }
    // Small layers fit and are kept; the base layer's fragment does not.
    assert!(!entries(cache.path()).is_empty());
    let out = scan(&source, &["--cache-max-size", "lots"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid size \"lots\""),
        "{}",
        stderr(&out)
    );
}

/// Every file under `root` (relative path → contents).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn the_default_cache_follows_xdg_and_is_the_only_other_write() {
    let dir = images_dir_with(".done");
    let source = layout_source(&dir.join("oci"), "base");
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let xdg = tmp.path().join("xdg");
    let cwd = tmp.path().join("cwd");
    for d in [&home, &xdg, &cwd] {
        fs::create_dir_all(d).unwrap();
    }
    let out_file = tmp.path().join("out.json");
    let out_arg = format!("json={}", out_file.display());
    let run = |env: &[(&str, &Path)], extra: &[&str]| {
        let mut args = vec!["-o", out_arg.as_str()];
        args.extend_from_slice(extra);
        let mut env = env.to_vec();
        env.extend([("HOME", home.as_path()), ("TMPDIR", cwd.as_path())]);
        let out = scan_in(&source, &args, &env);
        assert_ok(&out);
    };

    // XDG_CACHE_HOME wins over HOME.
    run(&[("XDG_CACHE_HOME", &xdg)], &[]);
    let mut files = snapshot(tmp.path());
    assert!(files.remove(Path::new("out.json")).is_some());
    assert!(files.remove(Path::new("xdg/stella/CACHEDIR.TAG")).is_some());
    assert!(!files.is_empty(), "entries written");
    assert!(
        files.keys().all(|p| p.starts_with("xdg/stella/layers-v1")),
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    // Without it, ~/.cache/stella.
    fs::remove_dir_all(&xdg).unwrap();
    run(&[], &[]);
    assert!(home.join(".cache/stella/layers-v1").is_dir());
    fs::remove_dir_all(home.join(".cache")).unwrap();
    // --no-cache, STELLA_NO_CACHE and dir: sources write nothing but the output.
    let before = snapshot(tmp.path());
    run(&[("XDG_CACHE_HOME", &xdg)], &["--no-cache"]);
    run(
        &[
            ("XDG_CACHE_HOME", &xdg),
            ("STELLA_NO_CACHE", Path::new("1")),
        ],
        &[],
    );
    let rootfs = format!("dir:{}", dir.join("multi-rootfs").display());
    let out = scan_in(
        &rootfs,
        &["-o", &out_arg],
        &[("XDG_CACHE_HOME", &xdg), ("HOME", &home)],
    );
    assert_ok(&out);
    let mut after = snapshot(tmp.path());
    after.remove(Path::new("out.json"));
    let mut before = before;
    before.remove(Path::new("out.json"));
    assert_eq!(before, after, "no cache writes");
    assert!(!xdg.exists());
    // STELLA_CACHE_DIR names the directory; --cache-dir overrides it.
    let named = tmp.path().join("named");
    run(&[("STELLA_CACHE_DIR", &named)], &[]);
    assert!(named.join("layers-v1").is_dir());
    let flag = tmp.path().join("flag");
    run(
        &[("STELLA_CACHE_DIR", &named)],
        &["--cache-dir", flag.to_str().unwrap()],
    );
    assert!(flag.join("layers-v1").is_dir());
}

#[test]
fn an_unusable_cache_directory_only_warns() {
    let dir = images_dir_with(".done");
    let source = layout_source(&dir.join("oci"), "base");
    let tmp = tempfile::tempdir().unwrap();
    // A regular file where the directory should be.
    let blocked = tmp.path().join("file");
    fs::write(&blocked, b"not a directory").unwrap();
    let (reference, _) = outputs(&source, &["--no-cache"]);
    let (got, err) = outputs(&source, &strs(&cache_args(&blocked)));
    assert!(got == reference);
    assert!(
        err.contains("stella: warning: layer cache:") && err.contains("scanning without it"),
        "{err}"
    );
}
