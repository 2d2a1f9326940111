//! `stella vex attach` and `stella vex list` against real stores: an OCI
//! layout and the CNCF distribution registry (no referrers API: the
//! tag-schema fallback). oras is the independent reader of what we attach
//! (discover, pull) and an independent writer of VEX and SBOM referrers we
//! must tell apart; skopeo reads and copies the image.
//!
//! The VEX documents are the fixtures of `policy/tests/fixtures/vex`, each
//! checked against its official schema there.

#[path = "support/oci.rs"]
mod oci;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use stella_testkit::distribution::Distribution;

const OPENVEX: &str = "application/vnd.openvex+json";
const CDX: &str = "application/vnd.cyclonedx+json";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policy/tests/fixtures/vex")
        .join(name)
}

fn sha256_of_file(path: &Path) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
    )
}

fn stella(args: &[&str]) -> Output {
    oci::stella()
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run stella")
}

fn ok_stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A small real image: Debian os-release and a dpkg database, one gzip layer.
fn image_layout(dir: &Path) -> (oci::Layout, oci::Desc) {
    let mut tar = oci::Tar::new();
    tar.file("etc/os-release", oci::DEBIAN_OS_RELEASE.as_bytes())
        .file(
            "var/lib/dpkg/status",
            oci::dpkg_status(&[
                ("libssl3", "3.0.11-1~deb12u2"),
                ("openssl", "3.0.11-1~deb12u2"),
            ])
            .as_bytes(),
        );
    let (layout, manifest, _) = oci::Layout::simple(dir, &[tar.finish()]);
    (layout, manifest)
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn run_oras(oras: &Path, args: &[&str], cwd: &Path) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, cwd)
}

/// (artifactType, digest) of every referrer oras discover reports.
fn oras_referrers(discover_json: &[u8]) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(discover_json).expect("oras discover JSON");
    let list = v["manifests"]
        .as_array()
        .or_else(|| v["referrers"].as_array())
        .unwrap_or_else(|| panic!("unexpected oras output: {v}"));
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|d| {
            (
                d["artifactType"].as_str().unwrap_or_default().to_string(),
                d["digest"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `stella vex list IMAGE -o json`.
fn list(image: &str) -> Value {
    let out = stella(&["vex", "list", image, "-o", "json"]);
    serde_json::from_str(&ok_stdout(&out)).unwrap()
}

/// (format, document digest, statements) of every listed VEX document.
fn listed(v: &Value) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = v["vex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["format"].as_str().unwrap().to_string(),
                d["document"].as_str().unwrap().to_string(),
                d["statements"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The image-scoped OpenVEX document for `subject` (the shape of the
/// schema-checked image-subcomponents fixture, with this image's digest).
fn image_vex(dir: &Path, subject: &str) -> PathBuf {
    let template = std::fs::read_to_string(fixture("image-subcomponents.openvex.json")).unwrap();
    let text = template.replace(
        "5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
        subject.trim_start_matches("sha256:"),
    );
    assert_ne!(text, template);
    let path = dir.join("image.openvex.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// Attaches OpenVEX and CycloneDX VEX to IMAGE and checks what `vex list`
/// reports; returns the OpenVEX artifact's digest.
fn attach_and_list(image: &str, subject: &str, work: &Path) -> String {
    let alias = fixture("alias.openvex.json");
    let cdx = fixture("states.cdx.json");
    let scoped = image_vex(work, subject);
    let mut artifact = String::new();
    // Twice: the same bytes give the same artifact (no duplicate referrer).
    for _ in 0..2 {
        let out = stella(&["vex", "attach", alias.to_str().unwrap(), "--to", image]);
        let digest = ok_stdout(&out).trim().to_string();
        assert!(digest.starts_with("sha256:"), "{digest}");
        if !artifact.is_empty() {
            assert_eq!(digest, artifact, "attaching twice wrote a new manifest");
        }
        artifact = digest;
    }
    for file in [&cdx, &scoped] {
        let out = stella(&["vex", "attach", "-q", file.to_str().unwrap(), "--to", image]);
        ok_stdout(&out);
    }
    let v = list(image);
    assert_eq!(v["subject"]["digest"], subject);
    assert_eq!(
        listed(&v),
        {
            let mut expected = vec![
                ("openvex".to_string(), sha256_of_file(&alias), 3),
                ("cyclonedx".to_string(), sha256_of_file(&cdx), 7),
                ("openvex".to_string(), sha256_of_file(&scoped), 1),
            ];
            expected.sort();
            expected
        },
        "{v:#}"
    );
    // A document with invalid statements is refused, naming them.
    let bad = fixture("bad-statements.openvex.json");
    let out = stella(&["vex", "attach", bad.to_str().unwrap(), "--to", image]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(r#"unknown status "unaffected""#), "{err}");
    assert!(err.contains("not_affected needs a justification"), "{err}");
    // Not VEX at all.
    let sbom = work.join("not-vex.json");
    std::fs::write(
        &sbom,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
    )
    .unwrap();
    let out = stella(&["vex", "attach", sbom.to_str().unwrap(), "--to", image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vulnerabilities"));
    assert_eq!(
        listed(&list(image)).len(),
        3,
        "a refused document was attached"
    );
    artifact
}

#[test]
fn vex_attach_and_list_in_an_oci_layout() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("layout");
    let (_layout, manifest) = image_layout(&dir);
    // skopeo reads the layout and agrees on the subject digest.
    skopeo(&[
        "copy",
        "--quiet",
        &format!("oci:{}", dir.display()),
        &format!("oci:{}:app", dir.display()),
    ]);
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:app", dir.display())]);
    let subject = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw)))
    };
    assert_eq!(subject, manifest.digest);
    let image = format!("oci-dir:{}:app", dir.display());
    let artifact = attach_and_list(&image, &subject, work.path());

    // A Stella SBOM attached by `scan --attach` (CycloneDX, same
    // artifactType) is not VEX.
    let out = stella(&["scan", &image, "--attach", "-q", "-o", "json=/dev/null"]);
    ok_stdout(&out);
    let v = list(&image);
    assert_eq!(listed(&v).len(), 3, "{v:#}");
    assert_eq!(v["skipped"].as_array().unwrap().len(), 0, "{v:#}");

    // Nothing is created for a layout that does not exist.
    let missing = work.path().join("missing");
    let out = stella(&["vex", "list", &format!("oci-dir:{}", missing.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());
    // Directories hold no referrers.
    let out = stella(&[
        "vex",
        "attach",
        fixture("alias.openvex.json").to_str().unwrap(),
        "--to",
        &format!("dir:{}", work.path().display()),
    ]);
    assert_eq!(out.status.code(), Some(1));

    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    let layout_ref = format!("{}@{subject}", dir.display());
    let out = run_oras(
        &oras,
        &["discover", "--oci-layout", "-o", "json", &layout_ref],
        work.path(),
    );
    let types: Vec<String> = oras_referrers(&out).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types.iter().filter(|t| *t == OPENVEX).count(),
        2,
        "{types:?}"
    );
    // CycloneDX VEX, and the SBOM of scan --attach.
    assert_eq!(types.iter().filter(|t| *t == CDX).count(), 2, "{types:?}");
    assert!(oras_referrers(&out).contains(&(OPENVEX.to_string(), artifact.clone())));
    // oras pulls our artifact as the file we attached.
    let pulled = work.path().join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    run_oras(
        &oras,
        &[
            "pull",
            "--oci-layout",
            "-o",
            pulled.to_str().unwrap(),
            &format!("{}@{artifact}", dir.display()),
        ],
        work.path(),
    );
    assert_eq!(
        std::fs::read(pulled.join("vex.openvex.json")).unwrap(),
        std::fs::read(fixture("alias.openvex.json")).unwrap()
    );

    // Referrers another tool attached: an OpenVEX document (found, though
    // unmarked and with oras's default layer type) and a CycloneDX SBOM
    // without VEX (not VEX).
    let third = work.path().join("third");
    std::fs::create_dir(&third).unwrap();
    std::fs::copy(
        fixture("versionless.openvex.json"),
        third.join("other.openvex.json"),
    )
    .unwrap();
    std::fs::write(
        third.join("sbom.cdx.json"),
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}"#,
    )
    .unwrap();
    for (artifact_type, file) in [(OPENVEX, "other.openvex.json"), (CDX, "sbom.cdx.json")] {
        run_oras(
            &oras,
            &[
                "attach",
                "--oci-layout",
                "--artifact-type",
                artifact_type,
                &layout_ref,
                file,
            ],
            &third,
        );
    }
    let v = list(&image);
    let found = listed(&v);
    assert_eq!(found.len(), 4, "{v:#}");
    assert!(found.contains(&(
        "openvex".to_string(),
        sha256_of_file(&fixture("versionless.openvex.json")),
        2
    )));
    assert_eq!(v["skipped"].as_array().unwrap().len(), 0, "{v:#}");

    // CycloneDX VEX another tool attached is found by its content; the
    // same document under Stella's tool annotation without the VEX one is
    // taken for an SBOM of `scan --attach` (its vulnerabilities would be
    // our own findings) and left out.
    std::fs::copy(fixture("vex-1.4.cdx.json"), third.join("vex.cdx.json")).unwrap();
    run_oras(
        &oras,
        &[
            "attach",
            "--oci-layout",
            "--artifact-type",
            CDX,
            &layout_ref,
            "vex.cdx.json",
        ],
        &third,
    );
    std::fs::write(third.join("findings.cdx.json"), {
        let mut text = std::fs::read_to_string(fixture("vex-1.4.cdx.json")).unwrap();
        text.push('\n'); // other bytes, same content
        text
    })
    .unwrap();
    run_oras(
        &oras,
        &[
            "attach",
            "--oci-layout",
            "--artifact-type",
            CDX,
            "--annotation",
            "dev.stellaops.tool=stella 0.1.0",
            &layout_ref,
            "findings.cdx.json",
        ],
        &third,
    );
    let found = listed(&list(&image));
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(found.contains(&(
        "cyclonedx".to_string(),
        sha256_of_file(&fixture("vex-1.4.cdx.json")),
        1
    )));

    // A VEX layer whose bytes do not match its digest: skipped and
    // reported, the others still listed.
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            dir.join("blobs/sha256")
                .join(artifact.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = dir
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&blob, bytes).unwrap();
    let v = list(&image);
    assert_eq!(listed(&v).len(), 4, "{v:#}");
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v:#}");
    assert!(skipped[0].as_str().unwrap().contains(&artifact), "{v:#}");
}

#[test]
fn vex_attach_and_list_through_a_real_registry() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("layout");
    image_layout(&dir);
    let registry = Distribution::start(None);
    let reference = format!("{}/stella/vex:v1", registry.addr);
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}", dir.display()),
        &format!("docker://{reference}"),
    ]);
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]);
    let subject = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw)))
    };
    let image = format!("registry:{reference}");
    let artifact = attach_and_list(&image, &subject, work.path());
    // The same image by digest lists the same documents.
    let by_digest = format!("registry:{}/stella/vex@{subject}", registry.addr);
    assert_eq!(listed(&list(&by_digest)), listed(&list(&image)));

    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    // distribution 2.8 has no referrers API: oras reads our fallback index.
    let out = run_oras(
        &oras,
        &["discover", "--plain-http", "-o", "json", &reference],
        work.path(),
    );
    let referrers = oras_referrers(&out);
    assert!(
        referrers.contains(&(OPENVEX.to_string(), artifact.clone())),
        "{referrers:?}"
    );
    assert_eq!(referrers.iter().filter(|(t, _)| t == CDX).count(), 1);
    let pulled = work.path().join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    run_oras(
        &oras,
        &[
            "pull",
            "--plain-http",
            "-o",
            pulled.to_str().unwrap(),
            &format!("{}/stella/vex@{artifact}", registry.addr),
        ],
        work.path(),
    );
    assert_eq!(
        std::fs::read(pulled.join("vex.openvex.json")).unwrap(),
        std::fs::read(fixture("alias.openvex.json")).unwrap()
    );
}

#[test]
fn vex_of_a_multi_platform_image_covers_manifest_and_index() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("layout");
    let layout = oci::Layout::create(&dir);
    let mut tar = oci::Tar::new();
    tar.file("etc/os-release", oci::DEBIAN_OS_RELEASE.as_bytes());
    let layer = layout.layer_gz(&tar.finish());
    let manifest = layout.image("amd64", std::slice::from_ref(&layer));
    let mut entry = manifest.json();
    entry["platform"] = serde_json::json!({ "architecture": "amd64", "os": "linux" });
    let index_bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_INDEX,
        "manifests": [entry],
    }))
    .unwrap();
    let index = layout.blob(oci::MEDIA_INDEX, &index_bytes);
    layout.index(std::slice::from_ref(&index));
    let image = format!("oci-dir:{}", dir.display());
    let platform = ["--platform", "linux/amd64"];

    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--override-arch",
        "amd64",
        "--override-os",
        "linux",
        &format!("oci:{}", dir.display()),
    ]);
    assert_eq!(
        serde_json::from_slice::<Value>(&raw).unwrap()["mediaType"],
        oci::MEDIA_INDEX,
        "skopeo reads the layout's index"
    );

    // Stella attaches to the platform manifest.
    let alias = fixture("alias.openvex.json");
    let mut args = vec!["vex", "attach", alias.to_str().unwrap(), "--to", &image];
    args.extend(platform);
    ok_stdout(&stella(&args));

    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    // Another tool attaches to the index.
    let third = work.path().join("third");
    std::fs::create_dir(&third).unwrap();
    std::fs::copy(fixture("versionless.openvex.json"), third.join("v.json")).unwrap();
    run_oras(
        &oras,
        &[
            "attach",
            "--oci-layout",
            "--artifact-type",
            OPENVEX,
            &format!("{}@{}", dir.display(), index.digest),
            "v.json",
        ],
        &third,
    );
    let mut args = vec!["vex", "list", &image, "-o", "json"];
    args.extend(platform);
    let v: Value = serde_json::from_str(&ok_stdout(&stella(&args))).unwrap();
    assert_eq!(v["subject"]["digest"], manifest.digest.as_str());
    assert_eq!(
        v["image"],
        serde_json::json!([manifest.digest, index.digest]),
        "{v:#}"
    );
    let mut expected = vec![
        ("openvex".to_string(), sha256_of_file(&alias), 3),
        (
            "openvex".to_string(),
            sha256_of_file(&fixture("versionless.openvex.json")),
            2,
        ),
    ];
    expected.sort();
    assert_eq!(listed(&v), expected, "{v:#}");
}
