//! Hostile and broken images, built byte by byte in each test, scanned by the
//! real `stella` binary. The rule: bad input ends in exit code 1 with an error
//! naming the image, the layer and (where there is one) the file at fault —
//! never a panic (101), never success with a silently wrong SBOM, never a
//! write outside the requested output paths.

#[path = "support/oci.rs"]
mod oci;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use oci::{
    assert_fails_naming, assert_succeeds, dpkg_status, gzip, scan, sha256, stderr, Desc, Layout,
    Tar, DEBIAN_OS_RELEASE, MEDIA_CONFIG, MEDIA_INDEX, MEDIA_LAYER_GZIP, MEDIA_MANIFEST,
};
use serde_json::{json, Value};

/// A plain Debian-ish base layer: os-release and a two-package status file.
fn base_layer() -> Vec<u8> {
    Tar::new()
        .dir("etc")
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .dir("var/lib/dpkg")
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[("base-files", "12.4"), ("libc6", "2.36-9")]).as_bytes(),
        )
        .finish()
}

/// Deterministic incompressible-ish bytes (xorshift), so gzip output is long.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Every file under `dir` with its contents, for before/after comparisons.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("dir entry");
            let p = e.path();
            let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(p);
            } else if ft.is_symlink() {
                out.insert(rel, b"<symlink>".to_vec());
            } else {
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read output")).expect("output is JSON")
}

fn lenient_json(source: &str, out_file: &Path) -> (Output, Value) {
    let arg = format!("json={}", out_file.display());
    let out = scan(source, &["--lenient", "-o", &arg]);
    assert_succeeds(&out);
    let v = json_file(out_file);
    (out, v)
}

// ------------------------------------------------------------ blobs and digests

#[test]
fn truncated_gzip_layer_fails_in_gzip_not_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let good = layout.layer_gz(&base_layer());
    let tar = Tar::new()
        .file("opt/blob.bin", &noise(256 * 1024))
        .file("opt/after", b"after the cut")
        .finish();
    let gz = gzip(&tar);
    // Cut in half; the manifest describes the truncated bytes exactly, so the
    // blob digest and size checks pass and only gzip/tar can notice.
    let cut = &gz[..gz.len() / 2];
    let broken = oci::LayerBlob {
        desc: layout.blob(MEDIA_LAYER_GZIP, cut),
        diff_id: sha256(&tar),
    };
    let manifest = layout.image("amd64", &[good, broken.clone()]);
    layout.index(&[manifest]);

    let out = scan(&layout.source(), &["-o", "json"]);
    let err = assert_fails_naming(&out, &[&layout.source(), "layer 1", &broken.desc.digest]);
    assert!(
        !err.contains("digest mismatch") && !err.contains("truncated or padded"),
        "the blob digest and size are right; the error must come from gzip/tar: {err}"
    );
    assert!(
        err.contains("end of file") || err.contains("EOF") || err.contains("corrupt"),
        "error should say the stream ended early: {err}"
    );
}

#[test]
fn layer_blob_not_matching_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let claimed = gzip(&base_layer());
    let actual_tar = Tar::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[("evil", "6.6.6")]).as_bytes(),
        )
        .finish();
    let actual = gzip(&actual_tar);
    // Stored under the digest of other bytes; size and diff_id fit the stored
    // bytes, so only the blob digest check can catch it.
    let layer = oci::LayerBlob {
        desc: layout.blob_as(MEDIA_LAYER_GZIP, &sha256(&claimed), &actual),
        diff_id: sha256(&actual_tar),
    };
    let manifest = layout.image("amd64", std::slice::from_ref(&layer));
    layout.index(&[manifest]);

    let out = scan(&layout.source(), &["-o", "json"]);
    let err = assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 0",
            &layer.desc.digest,
            "digest mismatch",
        ],
    );
    assert!(!err.contains("evil"), "{err}");
}

#[test]
fn config_not_matching_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let layer = layout.layer_gz(&base_layer());
    let real = Layout::config_bytes("amd64", std::slice::from_ref(&layer.diff_id));
    let other = Layout::config_bytes("arm64", std::slice::from_ref(&layer.diff_id));
    assert_eq!(real.len(), other.len());
    let config = layout.blob_as(MEDIA_CONFIG, &sha256(&other), &real);
    let manifest = layout.blob(
        MEDIA_MANIFEST,
        &Layout::manifest_bytes(&config, &[layer.desc]),
    );
    layout.index(&[manifest]);

    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "config",
            &config.digest,
            "digest mismatch",
        ],
    );
}

#[test]
fn diff_id_not_matching_the_uncompressed_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let mut layer = layout.layer_gz(&base_layer());
    let wrong = sha256(b"some other tar");
    layer.diff_id = wrong.clone();
    let manifest = layout.image("amd64", std::slice::from_ref(&layer));
    layout.index(&[manifest]);

    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 0",
            &layer.desc.digest,
            &wrong,
            "digest mismatch",
        ],
    );
}

// ------------------------------------------------------------ malicious tar entries

/// Scans a one-layer image whose second layer is `evil`, from a working
/// directory deep inside the temp dir, and checks nothing at all was written.
fn scan_evil_layer(evil: Vec<u8>, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (layout, _, layers) = Layout::simple(&tmp.path().join("img"), &[base_layer(), evil]);
    let cwd = tmp.path().join("work/a/b");
    std::fs::create_dir_all(&cwd).unwrap();
    let before = snapshot(tmp.path());
    let out = oci::stella()
        .current_dir(&cwd)
        .args(["scan", &layout.source(), "-q", "-o", "json"])
        .output()
        .unwrap();
    let mut all = vec![
        layout.source(),
        "layer 1".to_string(),
        layers[1].desc.digest.clone(),
    ];
    all.extend(needles.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_fails_naming(&out, &all);
    assert_eq!(before, snapshot(tmp.path()), "the scan wrote files");
}

#[test]
fn tar_entry_with_dotdot_path() {
    let evil = Tar::new()
        .file("etc/ok", b"fine")
        .file("../../etc/x", b"escaped")
        .finish();
    scan_evil_layer(evil, &["../../etc/x", "'..'"]);
}

#[test]
fn tar_entry_with_absolute_path() {
    let evil = Tar::new().file("/abs/path", b"absolute").finish();
    scan_evil_layer(evil, &["/abs/path", "absolute"]);
}

#[test]
fn tar_hardlink_pointing_outside() {
    let evil = Tar::new()
        .file("etc/ok", b"fine")
        .hardlink("etc/passwd-link", "../x")
        .finish();
    scan_evil_layer(evil, &["etc/passwd-link", "../x", "hardlink"]);
}

// ------------------------------------------------------------ symlink loops

#[test]
fn symlink_loop_on_os_release() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = Tar::new()
        .dir("etc")
        .symlink("etc/os-release", "os-release2")
        .symlink("etc/os-release2", "os-release")
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[("libc6", "2.36-9")]).as_bytes(),
        )
        .finish();
    let (layout, _, _) = Layout::simple(&tmp.path().join("img"), &[evil]);
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "etc/os-release",
            "symlink loop",
            "layer 0",
        ],
    );
}

#[test]
fn dpkg_directory_symlinked_to_itself() {
    // The self-loop lands on top of a layer that holds the status file…
    let tmp = tempfile::tempdir().unwrap();
    let loop_layer = Tar::new().symlink("var/lib/dpkg", "dpkg").finish();
    let (layout, _, _) = Layout::simple(&tmp.path().join("above"), &[base_layer(), loop_layer]);
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 1",
            "var/lib/dpkg/status",
            "symlink loop",
        ],
    );

    // …and under a layer that adds the status file through it.
    let loop_first = Tar::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .symlink("var/lib/dpkg", "dpkg")
        .finish();
    let status_layer = Tar::new()
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[("libc6", "2.36-9")]).as_bytes(),
        )
        .finish();
    let (layout, _, _) = Layout::simple(&tmp.path().join("below"), &[loop_first, status_layer]);
    let out = scan(&layout.source(), &["-o", "json"]);
    // The status file can only be reached through the loop, which is in layer 0.
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "var/lib/dpkg/status",
            "symlink loop",
            "last link var/lib/dpkg in layer 0",
        ],
    );
}

// ------------------------------------------------------------ sparse bombs

/// Runs the scan under a 2 GB address-space cap (`ulimit -v`), so any attempt
/// to materialize a huge entry dies instead of passing on a big machine.
fn scan_capped(source: &str, args: &[&str]) -> Output {
    let started = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_stella"))
        .args(["scan", source, "-q", "--threads", "2"])
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("STELLA_NO_CACHE", "1")
        .output()
        .expect("run stella under ulimit");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "a sparse entry must be skipped, not read: took {:?}",
        started.elapsed()
    );
    out
}

#[test]
fn huge_sparse_status_file_is_not_materialized() {
    const TIB: u64 = 1 << 40;
    let tmp = tempfile::tempdir().unwrap();
    let mut block = [b'\n'; 512];
    block[..22].copy_from_slice(b"Package: x\nVersion: 1\n");
    let bomb = Tar::new()
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .gnu_sparse("var/lib/dpkg/status", TIB, &block)
        .file("etc/after-the-bomb", b"still read")
        .finish();
    assert!(bomb.len() < 8192, "the bomb itself is tiny");
    let (layout, _, layers) = Layout::simple(&tmp.path().join("img"), &[bomb]);

    let out = scan_capped(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 0",
            "var/lib/dpkg/status",
            &TIB.to_string(),
            "capture limit",
        ],
    );

    // Lenient: the scan completes and says what it could not analyze.
    let out_file = tmp.path().join("out.json");
    let arg = format!("json={}", out_file.display());
    let out = scan_capped(&layout.source(), &["--lenient", "-o", &arg]);
    assert_succeeds(&out);
    let v = json_file(&out_file);
    let warnings = v["warnings"].as_array().expect("warnings array");
    assert!(
        warnings.iter().any(|w| w["layer"] == 0
            && w["path"] == "var/lib/dpkg/status"
            && w["message"]
                .as_str()
                .unwrap_or("")
                .contains("capture limit")),
        "{warnings:#?}"
    );
    assert_eq!(v["components"], json!([]), "no guessed packages");
    assert_eq!(v["layers"][0]["digest"], json!(layers[0].desc.digest));
}

// ------------------------------------------------------------ malformed databases

#[test]
fn malformed_dpkg_status_fails_or_warns_when_lenient() {
    let tmp = tempfile::tempdir().unwrap();
    let mut garbage = dpkg_status(&[("libc6", "2.36-9"), ("zlib1g", "1:1.2.13")]);
    garbage.push_str("\nthis line is garbage and has no colon\n");
    let broken = Tar::new()
        .file("var/lib/dpkg/status", garbage.as_bytes())
        .finish();
    let (layout, _, _) = Layout::simple(&tmp.path().join("img"), &[base_layer(), broken]);

    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 1",
            "var/lib/dpkg/status",
            "dpkg",
            "line ",
        ],
    );

    let (out, v) = lenient_json(&layout.source(), &tmp.path().join("out.json"));
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("panicked"));
    let warnings = v["warnings"].as_array().expect("warnings array");
    assert!(
        warnings.iter().any(|w| w["layer"] == 1
            && w["path"] == "var/lib/dpkg/status"
            && w["message"].as_str().unwrap_or("").contains("dpkg")),
        "{warnings:#?}"
    );
    // The dpkg result is dropped as a whole rather than half-reported.
    let debs: Vec<&Value> = v["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["purl"].as_str().unwrap_or("").starts_with("pkg:deb/"))
        .collect();
    assert!(debs.is_empty(), "{debs:#?}");
}

// ------------------------------------------------------------ broken layouts

#[test]
fn manifest_pointing_to_a_missing_layer_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let second = Tar::new().file("opt/x", b"x").finish();
    let (layout, _, layers) = Layout::simple(&tmp.path().join("img"), &[base_layer(), second]);
    std::fs::remove_file(layout.blob_path(&layers[1].desc.digest)).unwrap();
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "layer 1",
            &layers[1].desc.digest,
            "not found",
        ],
    );
}

#[test]
fn manifest_pointing_to_a_missing_config_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let layer = layout.layer_gz(&base_layer());
    let config_bytes = Layout::config_bytes("amd64", std::slice::from_ref(&layer.diff_id));
    let config = Desc {
        media_type: MEDIA_CONFIG.into(),
        digest: sha256(&config_bytes),
        size: config_bytes.len() as u64,
    };
    let manifest = layout.blob(
        MEDIA_MANIFEST,
        &Layout::manifest_bytes(&config, &[layer.desc]),
    );
    layout.index(&[manifest]);
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(&out, &[&layout.source(), &config.digest, "not found"]);
}

#[test]
fn malformed_index_json() {
    let tmp = tempfile::tempdir().unwrap();
    let (layout, _, _) = Layout::simple(&tmp.path().join("img"), &[base_layer()]);
    std::fs::write(
        layout.dir.join("index.json"),
        b"{\"schemaVersion\": 2, \"manifests\": [",
    )
    .unwrap();
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(&out, &[&layout.source(), "index.json", "not valid"]);
}

#[test]
fn manifest_with_more_layers_than_diff_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let a = layout.layer_gz(&base_layer());
    let b = layout.layer_gz(&Tar::new().file("opt/x", b"x").finish());
    let config = layout.blob(
        MEDIA_CONFIG,
        &Layout::config_bytes("amd64", std::slice::from_ref(&a.diff_id)),
    );
    let manifest = layout.blob(
        MEDIA_MANIFEST,
        &Layout::manifest_bytes(&config, &[a.desc, b.desc]),
    );
    layout.index(std::slice::from_ref(&manifest));
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(
        &out,
        &[&layout.source(), &manifest.digest, "2 layers", "1 diff_ids"],
    );
}

#[test]
fn five_mib_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let layer = layout.layer_gz(&base_layer());
    let config = layout.blob(
        MEDIA_CONFIG,
        &Layout::config_bytes("amd64", std::slice::from_ref(&layer.diff_id)),
    );
    let bloated = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config.json(),
        "layers": [layer.desc.json()],
        "annotations": { "padding": "x".repeat(5 << 20) },
    }))
    .unwrap();
    let manifest = layout.blob(MEDIA_MANIFEST, &bloated);
    assert!(manifest.size > 5 << 20);

    // Declared honestly: refused from the descriptor before reading.
    layout.index(std::slice::from_ref(&manifest));
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(&out, &[&layout.source(), &manifest.digest, "limit"]);

    // Declared as small: refused while reading, after at most limit+1 bytes.
    let lying = Desc {
        size: 1000,
        ..manifest.clone()
    };
    layout.index(&[lying]);
    let out = scan(&layout.source(), &["-o", "json"]);
    assert_fails_naming(&out, &[&layout.source(), &manifest.digest, "limit"]);
}

// ------------------------------------------------------------ outputs stay where asked

#[test]
fn output_file_is_the_only_write() {
    let tmp = tempfile::tempdir().unwrap();
    let (layout, _, _) = Layout::simple(&tmp.path().join("img"), &[base_layer()]);
    let cwd = tmp.path().join("cwd");
    let tmpdir = tmp.path().join("tmpdir");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&tmpdir).unwrap();
    let out_file = tmp.path().join("out.json");
    let before = snapshot(tmp.path());

    let out = oci::stella()
        .current_dir(&cwd)
        .env("TMPDIR", &tmpdir)
        .env("HOME", &cwd)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["scan", &layout.source(), "-q", "-o"])
        .arg(format!("json={}", out_file.display()))
        .output()
        .unwrap();
    assert_succeeds(&out);
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout when writing to a file"
    );

    let mut after = snapshot(tmp.path());
    let written = after
        .remove(Path::new("out.json"))
        .expect("out.json written");
    assert_eq!(before, after, "only out.json may be created or changed");
    let v: Value = serde_json::from_slice(&written).unwrap();
    let names: Vec<&str> = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["base-files", "libc6"]);
}

// ------------------------------------------------------------ platforms

#[test]
fn missing_platform_lists_the_available_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(&tmp.path().join("img"));
    let layer = layout.layer_gz(&base_layer());
    let amd64 = layout.image("amd64", std::slice::from_ref(&layer));
    let arm64 = layout.image("arm64", std::slice::from_ref(&layer));
    let entry = |d: &Desc, arch: &str, variant: Option<&str>| {
        let mut platform = json!({ "os": "linux", "architecture": arch });
        if let Some(v) = variant {
            platform["variant"] = json!(v);
        }
        let mut j = d.json();
        j["platform"] = platform;
        j
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [entry(&amd64, "amd64", None), entry(&arm64, "arm64", Some("v8"))],
    }))
    .unwrap();
    let index = layout.blob(MEDIA_INDEX, &index);
    layout.index(&[index]);

    let out = scan(
        &layout.source(),
        &["-o", "json", "--platform", "linux/s390x"],
    );
    assert_fails_naming(
        &out,
        &[
            &layout.source(),
            "linux/s390x",
            "linux/amd64",
            "linux/arm64/v8",
        ],
    );

    // The same index serves a platform it has.
    let out = scan(
        &layout.source(),
        &["-o", "json", "--platform", "linux/arm64"],
    );
    assert_succeeds(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["image"]["manifestDigest"], json!(arm64.digest), "{v:#}");
}

// ------------------------------------------------------------ determinism

/// Three layers: a base, an upgrade that rewrites the status file and adds
/// a package, and a layer that deletes one file via a whiteout.
fn three_layer_image(dir: &Path) -> Layout {
    let l0 = base_layer();
    let l1 = Tar::new()
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[
                ("base-files", "12.4"),
                ("libc6", "2.36-9+deb12u4"),
                ("zlib1g", "1:1.2.13.dfsg-1"),
            ])
            .as_bytes(),
        )
        .file("usr/share/doc/zlib1g/copyright", b"zlib license")
        .finish();
    let l2 = Tar::new()
        .file("usr/share/doc/zlib1g/.wh.copyright", b"")
        .file("etc/motd", b"hello")
        .finish();
    Layout::simple(dir, &[l0, l1, l2]).0
}

fn scan_all_formats(source: &str, out_dir: &Path, threads: &str, epoch: Option<&str>) {
    std::fs::create_dir_all(out_dir).unwrap();
    let mut cmd = oci::stella();
    cmd.args(["scan", source, "-q", "--threads", threads])
        .arg("-o")
        .arg(format!(
            "cyclonedx-json={}",
            out_dir.join("cdx.json").display()
        ))
        .arg("-o")
        .arg(format!("spdx-json={}", out_dir.join("spdx.json").display()))
        .arg("-o")
        .arg(format!("json={}", out_dir.join("inv.json").display()))
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let out = cmd.output().unwrap();
    assert_succeeds(&out);
}

#[test]
fn outputs_are_byte_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = three_layer_image(&tmp.path().join("img"));
    let src = layout.source();
    for epoch in [None, Some("1700000000")] {
        let tag = epoch.unwrap_or("none");
        let runs: Vec<PathBuf> = ["1", "4", "1", "4"]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let d = tmp.path().join(format!("out-{tag}-{i}-t{t}"));
                scan_all_formats(&src, &d, t, epoch);
                d
            })
            .collect();
        for f in ["cdx.json", "spdx.json", "inv.json"] {
            let first = std::fs::read(runs[0].join(f)).unwrap();
            for r in &runs[1..] {
                assert!(
                    first == std::fs::read(r.join(f)).unwrap(),
                    "{f} differs between {} and {}",
                    runs[0].display(),
                    r.display()
                );
            }
        }
        let inv = json_file(&runs[0].join("inv.json"));
        let comps: Vec<(String, Value)> = inv["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["layer"].clone()))
            .collect();
        assert_eq!(
            comps,
            [
                ("base-files".to_string(), json!(0)),
                ("libc6".to_string(), json!(1)),
                ("zlib1g".to_string(), json!(1)),
            ],
            "layer attribution"
        );
        let cdx = json_file(&runs[0].join("cdx.json"));
        let spdx = json_file(&runs[0].join("spdx.json"));
        let (cdx_ts, spdx_ts) = (
            cdx["metadata"]["timestamp"].clone(),
            spdx["creationInfo"]["created"].clone(),
        );
        let want = match epoch {
            Some(_) => "2023-11-14T22:13:20Z",
            // No SOURCE_DATE_EPOCH: the image's `created`, never the wall clock.
            None => "2024-01-02T03:04:05Z",
        };
        assert_eq!(cdx_ts, json!(want), "CycloneDX metadata.timestamp");
        assert_eq!(spdx_ts, json!(want), "SPDX creationInfo.created");
    }
}
