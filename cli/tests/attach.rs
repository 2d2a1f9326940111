//! `stella scan --attach`, `stella referrers`, `stella sbom` and
//! `stella index query` over stores, against the real things: an OCI layout
//! written by skopeo, the CNCF distribution registry (no referrers API: the
//! tag-schema fallback), and oras as the independent reader of what we
//! attached. The image is `base` from `samples/build-test-images.sh`
//! (debootstrap minbase).

#[path = "support/images.rs"]
mod images;

use std::path::{Path, PathBuf};
use std::process::Command;

use images::{images_dir_with, stella};
use serde_json::Value;
use stella_testkit::distribution::Distribution;

const CDX: &str = "application/vnd.cyclonedx+json";
const SPDX: &str = "application/spdx+json";
const BOMIDX: &str = "application/vnd.stellaops.bom-index.v1+binary";

fn skopeo_copy(from: &str, to: &str) {
    let status = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", from, to])
        .status()
        .expect("skopeo (apt-get install skopeo)");
    assert!(status.success(), "skopeo copy {from} {to} failed");
}

/// The manifest digest of `image` as skopeo reads it (not our code).
fn skopeo_digest(image: &str) -> String {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", image])
        .output()
        .expect("skopeo inspect");
    assert!(out.status.success(), "skopeo inspect {image}");
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
}

fn run_oras(oras: &Path, args: &[&str], cwd: &Path) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, cwd)
}

/// artifactType → count, as oras discover reports the referrers.
fn oras_types(discover_json: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(discover_json).expect("oras discover JSON");
    // oras 1.2: {"manifests": [...]} (older: {"referrers": [...]}).
    let list = v["manifests"]
        .as_array()
        .or_else(|| v["referrers"].as_array())
        .unwrap_or_else(|| panic!("unexpected oras output: {v}"));
    let mut types: Vec<String> = list
        .iter()
        .map(|d| d["artifactType"].as_str().unwrap_or_default().to_string())
        .collect();
    types.sort();
    types
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Scans IMAGE with --attach (twice: the second must change nothing) and
/// checks referrers, sbom and index query; returns the direct CycloneDX.
fn attach_and_check(image: &str, store_target: &str, expected_subject: &str, work: &Path) {
    let cdx = work.join("direct.cdx.json");
    let spdx = work.join("direct.spdx.json");
    let outputs = [
        format!("cyclonedx-json={}", cdx.display()),
        format!("spdx-json={}", spdx.display()),
    ];
    for _ in 0..2 {
        let (code, _, err) = stella(&[
            "scan",
            image,
            "--attach",
            "-q",
            "-o",
            &outputs[0],
            "-o",
            &outputs[1],
        ]);
        assert_eq!(code, 0, "scan --attach {image}: {err}");
    }

    let (code, out, err) = stella(&["referrers", image, "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["subject"]["digest"], expected_subject);
    let types: Vec<String> = listed["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap().to_string())
        .collect();
    // Attached twice, present once: the artifacts are deterministic.
    assert_eq!(
        sorted(types),
        sorted(vec![CDX.into(), SPDX.into(), BOMIDX.into()])
    );
    let (code, out, _) = stella(&["referrers", image, "--artifact-type", SPDX, "-o", "json"]);
    assert_eq!(code, 0);
    let only: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(only["referrers"].as_array().unwrap().len(), 1);

    // `stella sbom` returns the attached bytes: what the scan wrote.
    let (code, out, err) = stella(&["sbom", image]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.as_bytes(),
        std::fs::read(&cdx).unwrap(),
        "attached CycloneDX"
    );
    let fetched = work.join("fetched.spdx.json");
    let (code, _, err) = stella(&[
        "sbom",
        image,
        "-o",
        &format!("spdx-json={}", fetched.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&spdx).unwrap()
    );

    // The attached BOM-Index answers fleet queries over the whole store.
    let (code, out, err) = stella(&[
        "index",
        "query",
        "--purl",
        "pkg:deb/debian/libc6",
        "-o",
        "json",
        store_target,
    ]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let matches = answer["results"][0]["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{answer}");
    assert_eq!(matches[0]["imageDigest"], expected_subject);
    let (code, _, _) = stella(&["index", "query", "--purl", "pkg:npm/left-pad", store_target]);
    assert_eq!(code, 3, "a purl in no image exits 3");
}

#[test]
fn attach_to_an_oci_layout() {
    let images = images_dir_with(".done");
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    skopeo_copy(
        &format!("oci:{}:base", images.join("oci").display()),
        &format!("oci:{}:base", layout.display()),
    );
    let subject = skopeo_digest(&format!("oci:{}:base", layout.display()));
    let image = format!("oci-dir:{}:base", layout.display());
    attach_and_check(
        &image,
        &format!("oci-dir:{}", layout.display()),
        &subject,
        work.path(),
    );
    // The layout still holds one image: scanning it without a tag works.
    let (code, _, err) = stella(&[
        "scan",
        &format!("oci-dir:{}", layout.display()),
        "-o",
        "json=/dev/null",
    ]);
    assert_eq!(code, 0, "{err}");
    // skopeo still reads the image we attached to.
    assert_eq!(
        skopeo_digest(&format!("oci:{}:base", layout.display())),
        subject
    );
    if let Some(oras) = stella_testkit::oras::find() {
        let out = run_oras(
            &oras,
            &[
                "discover",
                "--oci-layout",
                "-o",
                "json",
                &format!("{}:base", layout.display()),
            ],
            work.path(),
        );
        assert_eq!(
            oras_types(&out),
            sorted(vec![CDX.into(), SPDX.into(), BOMIDX.into()])
        );
    }
}

#[test]
fn attach_through_a_real_registry() {
    let images = images_dir_with(".done");
    let registry = Distribution::start(None);
    let reference = format!("{}/stella/base:v1", registry.addr);
    skopeo_copy(
        &format!("oci:{}:base", images.join("oci").display()),
        &format!("docker://{reference}"),
    );
    let subject = skopeo_digest(&format!("docker://{reference}"));
    let work = tempfile::tempdir().unwrap();
    attach_and_check(
        &format!("registry:{reference}"),
        &format!("registry:{}/stella/base", registry.addr),
        &subject,
        work.path(),
    );
    // Nothing attached to another image of the repository: exit 3.
    skopeo_copy(
        &format!("oci:{}:entry-scratch", images.join("oci").display()),
        &format!("docker://{}/stella/base:scratch", registry.addr),
    );
    let (code, _, err) = stella(&[
        "sbom",
        &format!("registry:{}/stella/base:scratch", registry.addr),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no application/vnd.cyclonedx+json SBOM"),
        "{err}"
    );

    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    // distribution 2.8 has no referrers API: oras reads our fallback index.
    let out = run_oras(
        &oras,
        &["discover", "--plain-http", "-o", "json", &reference],
        work.path(),
    );
    assert_eq!(
        oras_types(&out),
        sorted(vec![CDX.into(), SPDX.into(), BOMIDX.into()])
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let list = v["manifests"]
        .as_array()
        .or_else(|| v["referrers"].as_array())
        .unwrap();
    let cdx_artifact = list
        .iter()
        .find(|d| d["artifactType"] == CDX)
        .and_then(|d| d["digest"].as_str())
        .unwrap();
    let pulled = work.path().join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    run_oras(
        &oras,
        &[
            "pull",
            "--plain-http",
            "-o",
            pulled.to_str().unwrap(),
            &format!("{}/stella/base@{cdx_artifact}", registry.addr),
        ],
        work.path(),
    );
    assert_eq!(
        std::fs::read(pulled.join("sbom.cdx.json")).unwrap(),
        std::fs::read(work.path().join("direct.cdx.json")).unwrap(),
        "oras pull of our CycloneDX artifact"
    );
}

/// The manifest's layer blobs of the only image in `layout` (read with
/// serde_json from the files, not through our store).
fn layer_blobs(layout: &Path) -> Vec<PathBuf> {
    let read =
        |p: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index = read(layout.join("index.json"));
    let manifest = read(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| blob(l["digest"].as_str().unwrap()))
        .collect()
}

/// `stella ARGS` with the layer cache allowed (the shared helper turns it
/// off) and HOME in a temp dir, so only `--cas` can be written to.
fn stella_with_cache(args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("STELLA_NO_CACHE")
        .env_remove("STELLA_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", home.path())
        .output()
        .expect("run stella");
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "--cas wrote to the local cache too"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--cas registry:REPO`: layer fragments kept as OCI artifacts in the real
/// registry, so another runner (here: the same layout with its layer blobs
/// deleted) scans from them, byte-identically.
#[test]
fn layer_cache_in_a_real_registry() {
    let images = images_dir_with(".done");
    let registry = Distribution::start(None);
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    skopeo_copy(
        &format!("oci:{}:base", images.join("oci").display()),
        &format!("oci:{}:base", layout.display()),
    );
    let image = format!("oci-dir:{}", layout.display());
    let cas = format!("registry:{}/stella/cache", registry.addr);
    let direct = work.path().join("direct.json");
    let (code, _, err) = stella(&[
        "scan",
        &image,
        "--no-cache",
        "-q",
        "-o",
        &format!("cyclonedx-json={}", direct.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    let cold = work.path().join("cold.json");
    let (code, _, err) = stella_with_cache(&[
        "scan",
        &image,
        "--cas",
        &cas,
        "-q",
        "-o",
        &format!("cyclonedx-json={}", cold.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    // The registry now holds fragments (skopeo's view of the tags).
    let tags = Command::new("skopeo")
        .args([
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{}/stella/cache", registry.addr),
        ])
        .output()
        .expect("skopeo list-tags");
    assert!(
        tags.status.success(),
        "skopeo list-tags: {}",
        String::from_utf8_lossy(&tags.stderr)
    );
    let tags: Value = serde_json::from_slice(&tags.stdout).expect("skopeo list-tags JSON");
    let cas_tags = tags["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.as_str().is_some_and(|t| t.starts_with("cas-")))
        .count();
    assert!(cas_tags >= 1, "{tags}");
    // Without its layer blobs the image still scans, from the registry.
    for blob in layer_blobs(&layout) {
        std::fs::remove_file(blob).unwrap();
    }
    let warm = work.path().join("warm.json");
    let (code, _, err) = stella_with_cache(&[
        "scan",
        &image,
        "--cas",
        &cas,
        "-q",
        "-o",
        &format!("cyclonedx-json={}", warm.display()),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(bytes(&cold), bytes(&direct), "cold --cas vs --no-cache");
    assert_eq!(bytes(&warm), bytes(&direct), "warm --cas vs --no-cache");
    // And without the cache it cannot: the blobs are really gone.
    let (code, _, _) = stella(&["scan", &image, "--no-cache", "-q", "-o", "json=/dev/null"]);
    assert_eq!(code, 1);
}
