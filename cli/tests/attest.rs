//! `stella attest` and `stella verify` on OCI layouts, checked from outside:
//! the envelope is read from the layout's files, its PAE is rebuilt here
//! from the DSSE spec and openssl verifies the signature; the predicate is
//! compared with what `stella sbom` / `scan -o bom-index` give. Tampering
//! is done to the files, as an attacker with write access would.

mod attest_support;

use std::path::Path;

use attest_support::*;
use serde_json::{json, Value};

/// The referrer manifest and envelope `stella attest -o json` reports.
fn attest_ok(image: &str, type_: &str, key_name: &str, extra: &[&str]) -> Value {
    let k = key_arg(key_name);
    let mut args = vec!["attest", image, "--type", type_, "--key", &k, "-o", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&stella(&args))).expect("attest JSON")
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .expect("blob in layout")
}

#[test]
fn attest_and_verify_in_a_layout() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("image");
    let (_, subject) = image_layout(&dir, "one");
    let image = format!("oci-dir:{}", dir.display());

    // Nothing attached yet: a clear failure naming what to do.
    let out = stella(&[
        "attest",
        &image,
        "--type",
        "cyclonedx",
        "--key",
        &key_arg("p256.pkcs8.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stella scan IMAGE --attach"),
        "{}",
        text(&out.stderr)
    );
    let (code, report) = verify(&image, &["p256.pub.pem"], &[]);
    assert_eq!(code, 3, "no attestation: {report}");
    assert_eq!(report["outcome"], "no-attestation");

    let bomidx = work.path().join("image.bomidx");
    let bomidx_arg = format!("bom-index={}", bomidx.display());
    ok(&stella(&[
        "scan",
        &image,
        "-q",
        "--attach",
        "-o",
        "json=/dev/null",
        "-o",
        &bomidx_arg,
    ]));

    // CycloneDX, ECDSA P-256.
    let r = attest_ok(&image, "cyclonedx", "p256.pkcs8.pem", &[]);
    assert_eq!(r["subject"]["digest"], subject.as_str());
    let referrer = r["referrer"]["digest"].as_str().unwrap().to_string();
    let manifest: Value = serde_json::from_slice(&blob(&dir, &referrer)).unwrap();
    assert_eq!(manifest["artifactType"], DSSE);
    assert_eq!(manifest["subject"]["digest"], subject.as_str());
    assert_eq!(
        manifest["annotations"]["in-toto.io/predicate-type"],
        CDX_PREDICATE
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], DSSE);
    let envelope_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(r["envelope"]["digest"], envelope_digest);
    let envelope: Value = serde_json::from_slice(&blob(&dir, envelope_digest)).unwrap();
    assert_eq!(envelope["payloadType"], IN_TOTO);
    let statement = statement_of(&envelope);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], CDX_PREDICATE);
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        subject.trim_start_matches("sha256:")
    );
    // The predicate is the attached SBOM, as `stella sbom` prints it.
    let sbom: Value = serde_json::from_str(&ok(&stella(&["sbom", &image]))).unwrap();
    assert_eq!(statement["predicate"], sbom);
    // openssl, over PAE rebuilt from the spec, agrees; and can say no.
    assert!(openssl_verifies(&envelope, &key("p256.pub.pem"), false));
    assert!(!openssl_verifies(&envelope, &key("cosign.pub"), false));

    // Same inputs, same bytes (RFC 6979): no second referrer.
    let again = attest_ok(&image, "cyclonedx", "p256.pkcs8.pem", &[]);
    assert_eq!(again["referrer"]["digest"], referrer.as_str());

    // SPDX, Ed25519.
    let r = attest_ok(&image, "spdx", "ed25519.pkcs8.pem", &[]);
    let envelope: Value =
        serde_json::from_slice(&blob(&dir, r["envelope"]["digest"].as_str().unwrap())).unwrap();
    assert!(openssl_verifies(&envelope, &key("ed25519.pub.pem"), true));
    let spdx: Value =
        serde_json::from_str(&ok(&stella(&["sbom", &image, "-o", "spdx-json"]))).unwrap();
    assert_eq!(statement_of(&envelope)["predicate"], spdx);

    // BOM-Index by descriptor: the digest of what `scan -o bom-index` wrote.
    let r = attest_ok(&image, "bom-index", "p256.pkcs8.pem", &[]);
    let envelope: Value =
        serde_json::from_slice(&blob(&dir, r["envelope"]["digest"].as_str().unwrap())).unwrap();
    let bytes = std::fs::read(&bomidx).unwrap();
    assert_eq!(
        statement_of(&envelope)["predicate"],
        json!({
            "mediaType": "application/vnd.stellaops.bom-index.v1+binary",
            "digest": format!("sha256:{}", sha256_hex(&bytes)),
            "size": bytes.len(),
        })
    );

    // A custom type from a file.
    let predicate = work.path().join("custom.json");
    std::fs::write(&predicate, br#"{"reviewed": true}"#).unwrap();
    let r = attest_ok(
        &image,
        "https://example.com/review/v1",
        "ed25519.pkcs8.pem",
        &["--predicate", predicate.to_str().unwrap()],
    );
    assert_eq!(r["predicateType"], "https://example.com/review/v1");

    // Both keys: all four verify.
    let (code, report) = verify(&image, &["p256.pub.pem", "ed25519.pub.pem"], &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verified"], 4, "{report:#}");
    // One key: the Ed25519 ones are rejected, the outcome too.
    let (code, report) = verify(&image, &["p256.pub.pem"], &[]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(report["rejected"], 2);
    assert!(verdicts(&report).contains(&(
        "rejected".into(),
        "signature-mismatch".into(),
        "referrer".into()
    )));
    // --type narrows to what the key signed.
    let (code, report) = verify(&image, &["p256.pub.pem"], &["--type", "cyclonedx"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        (report["verified"].as_u64(), report["skipped"].as_u64()),
        (Some(1), Some(3))
    );
    let (code, _) = verify(&image, &["p256.pub.pem"], &["--type", "verdict"]);
    assert_eq!(code, 3);
    // Table output says the same.
    let out = stella(&[
        "verify",
        &image,
        "--key",
        &key_arg("ed25519.pub.pem"),
        "--type",
        "spdx",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 verified, 0 rejected, 3 skipped: verified"));
}

/// Appends an artifact manifest (attacker-made) to the layout's index.
fn attach_raw(dir: &Path, subject: &str, subject_size: u64, envelope: &[u8]) -> String {
    let layout = oci::Layout {
        dir: dir.to_path_buf(),
    };
    let layer = layout.blob(DSSE, envelope);
    let config = layout.blob("application/vnd.oci.empty.v1+json", b"{}");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": DSSE,
        "config": config.json(),
        "layers": [layer.json()],
        "subject": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": subject,
            "size": subject_size,
        },
    }))
    .unwrap();
    let m = layout.blob("application/vnd.oci.image.manifest.v1+json", &manifest);
    let index_path = dir.join("index.json");
    let mut index = read_json(&index_path);
    index["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": m.media_type,
        "digest": m.digest,
        "size": m.size,
        "artifactType": DSSE,
    }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    m.digest
}

#[test]
fn tampering_is_rejected_with_its_reason() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("a");
    let (_, subject) = image_layout(&dir, "a");
    let image = format!("oci-dir:{}", dir.display());
    let predicate = work.path().join("p.json");
    std::fs::write(
        &predicate,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
    )
    .unwrap();
    let p = predicate.to_str().unwrap();
    let r = attest_ok(&image, "cyclonedx", "p256.pkcs8.pem", &["--predicate", p]);
    let envelope_digest = r["envelope"]["digest"].as_str().unwrap().to_string();
    let original = blob(&dir, &envelope_digest);
    let (code, _) = verify(&image, &["p256.pub.pem"], &[]);
    assert_eq!(code, 0);

    // Wrong key.
    let (code, report) = verify(&image, &["ed25519.pub.pem", "cosign.pub"], &[]);
    assert_eq!(code, 4);
    assert_eq!(
        verdicts(&report),
        vec![(
            "rejected".into(),
            "signature-mismatch".into(),
            "referrer".into()
        )]
    );

    // The envelope blob rewritten in place (payload changed, signature kept).
    let mut envelope: Value = serde_json::from_slice(&original).unwrap();
    let mut statement = statement_of(&envelope);
    statement["predicate"]["specVersion"] = json!("1.5");
    envelope["payload"] = json!(b64_encode(&serde_json::to_vec(&statement).unwrap()));
    let forged = serde_json::to_vec(&envelope).unwrap();
    let blob_path = dir
        .join("blobs/sha256")
        .join(envelope_digest.trim_start_matches("sha256:"));
    std::fs::write(&blob_path, &forged).unwrap();
    let (code, report) = verify(&image, &["p256.pub.pem"], &[]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        verdicts(&report),
        vec![(
            "rejected".into(),
            "blob-digest-mismatch".into(),
            "referrer".into()
        )]
    );
    std::fs::write(&blob_path, &original).unwrap();

    // The forged envelope stored consistently (its own digest, a new referrer).
    let size = std::fs::metadata(
        dir.join("blobs/sha256")
            .join(subject.trim_start_matches("sha256:")),
    )
    .unwrap()
    .len();
    attach_raw(&dir, &subject, size, &forged);
    let (code, report) = verify(&image, &["p256.pub.pem"], &[]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        verdicts(&report),
        vec![
            (
                "rejected".into(),
                "signature-mismatch".into(),
                "referrer".into()
            ),
            ("verified".into(), "verified".into(), "referrer".into()),
        ]
    );
    assert!(!openssl_verifies(&envelope, &key("p256.pub.pem"), false));

    // A genuine envelope about image A attached to image B.
    let dir_b = work.path().join("b");
    let (_, subject_b) = image_layout(&dir_b, "b");
    let size_b = std::fs::metadata(
        dir_b
            .join("blobs/sha256")
            .join(subject_b.trim_start_matches("sha256:")),
    )
    .unwrap()
    .len();
    attach_raw(&dir_b, &subject_b, size_b, &original);
    let (code, report) = verify(
        &format!("oci-dir:{}", dir_b.display()),
        &["p256.pub.pem"],
        &[],
    );
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(
        verdicts(&report),
        vec![(
            "rejected".into(),
            "subject-mismatch".into(),
            "referrer".into()
        )]
    );
    let reason = report["attestations"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(subject_b.trim_start_matches("sha256:")),
        "{reason}"
    );

    // Bad inputs are errors (1), not verdicts.
    let out = stella(&["verify", &image, "--key", &key_arg("p256.pkcs8.pem")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a private key is not a public key"
    );
    let out = stella(&["verify", &image]);
    assert_eq!(out.status.code(), Some(64), "--key is required");
    let out = stella(&[
        "attest",
        &image,
        "--type",
        "nonsense",
        "--key",
        &key_arg("p256.pkcs8.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown predicate type"),
        "{}",
        text(&out.stderr)
    );
    let out = oci::stella()
        .args(["attest", &image, "--type", "cyclonedx", "--predicate", p])
        .arg("--key")
        .arg(key("cosign.key"))
        .env_remove("COSIGN_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("COSIGN_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
    let out = stella(&[
        "attest",
        &image,
        "--type",
        "cyclonedx",
        "--predicate",
        p,
        "--cosign-compat",
        "--key",
        &key_arg("cosign.key"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--cosign-compat is for registries"
    );
}

/// A multi-platform image: the statement is about the `--platform`
/// manifest, not the index, and is found only for that platform.
#[test]
fn multi_platform_images_attest_the_platform_manifest() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("multi");
    let layout = oci::Layout::create(&dir);
    let mut tar = oci::Tar::new();
    tar.file("etc/os-release", oci::DEBIAN_OS_RELEASE.as_bytes());
    let layer = layout.layer_gz(&tar.finish());
    let amd64 = layout.image("amd64", std::slice::from_ref(&layer));
    let arm64 = layout.image("arm64", std::slice::from_ref(&layer));
    let entry = |d: &oci::Desc, arch: &str| {
        let mut v = d.json();
        v["platform"] = json!({"os": "linux", "architecture": arch});
        v
    };
    let index_bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_INDEX,
        "manifests": [entry(&amd64, "amd64"), entry(&arm64, "arm64")],
    }))
    .unwrap();
    let index = layout.blob(oci::MEDIA_INDEX, &index_bytes);
    layout.index(std::slice::from_ref(&index));
    let image = format!("oci-dir:{}", dir.display());
    let predicate = work.path().join("p.json");
    std::fs::write(&predicate, br#"{"ok":true}"#).unwrap();
    let r = attest_ok(
        &image,
        "custom",
        "p256.pkcs8.pem",
        &[
            "--platform",
            "linux/arm64",
            "--predicate",
            predicate.to_str().unwrap(),
        ],
    );
    assert_eq!(r["subject"]["digest"], arm64.digest.as_str());
    let (code, report) = verify(&image, &["p256.pub.pem"], &["--platform", "linux/arm64"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["index"], index.digest.as_str());
    let (code, _) = verify(&image, &["p256.pub.pem"], &["--platform", "linux/amd64"]);
    assert_eq!(code, 3, "the amd64 manifest has no attestation");
}
