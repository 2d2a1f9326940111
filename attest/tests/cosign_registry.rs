//! cosign's registry layout (`sha256-<hex>.att`) against the real cosign
//! 2.5 and a real distribution registry on loopback; oras moves the exact
//! bytes. Ours → `cosign verify-attestation`, `cosign attest` → ours.

mod common;

use std::path::Path;

use common::*;
use stella_attest::cosign_layout::{
    attestation_image, attestation_layers, attestation_tag, verify_blob_digest, AttestationLayer,
};
use stella_attest::keys::{SigningKey, VerifyingKey};
use stella_attest::predicates::image_statement;
use stella_attest::sign::{sign_statement, verify_json};
use stella_attest::statement::{self, verify_subject};
use stella_testkit::distribution::Distribution;

fn oras(oras: &Path, dir: &Path, args: &[&str]) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, dir)
}

/// Push a small artifact and return its manifest digest.
fn push_subject(oras_bin: &Path, dir: &Path, reference: &str) -> String {
    std::fs::write(dir.join("payload.txt"), reference.as_bytes()).unwrap();
    oras(
        oras_bin,
        dir,
        &["push", "--plain-http", reference, "payload.txt"],
    );
    let digest = oras(oras_bin, dir, &["resolve", "--plain-http", reference]);
    String::from_utf8(digest).unwrap().trim().to_string()
}

#[test]
fn cosign_tag_layout_both_ways() {
    let Some(cosign) = cosign() else { return };
    let Some(oras_bin) = stella_testkit::oras::find() else {
        return;
    };
    let registry = Distribution::start(None);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(cosign_cmd(&cosign, d).arg("generate-key-pair"));
    let key = SigningKey::from_pem(
        &std::fs::read(d.join("cosign.key")).unwrap(),
        Some(FIXTURE_PASSWORD),
    )
    .unwrap();
    let public = VerifyingKey::from_pem(&std::fs::read(d.join("cosign.pub")).unwrap()).unwrap();

    // Ours → cosign verify-attestation.
    let repo = format!("{}/ours", registry.addr);
    let digest = push_subject(&oras_bin, d, &format!("{repo}:v1"));
    let sbom = image_statement(
        &repo,
        &digest,
        statement::PREDICATE_CYCLONEDX,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6"}),
    );
    let verdict = image_statement(
        &repo,
        &digest,
        statement::PREDICATE_VERDICT,
        serde_json::json!({"verdict": "pass"}),
    );
    let image = attestation_image(&[
        AttestationLayer {
            envelope_json: sign_statement(&sbom, &key).unwrap().to_json(),
            predicate_type: sbom.predicate_type.clone(),
        },
        AttestationLayer {
            envelope_json: sign_statement(&verdict, &key).unwrap().to_json(),
            predicate_type: verdict.predicate_type.clone(),
        },
    ]);
    std::fs::write(d.join("config.json"), &image.config).unwrap();
    oras(
        &oras_bin,
        d,
        &[
            "blob",
            "push",
            "--plain-http",
            &format!("{repo}@{}", image.config_digest),
            "config.json",
        ],
    );
    for (i, (layer_digest, bytes)) in image.layers.iter().enumerate() {
        let name = format!("layer{i}.json");
        std::fs::write(d.join(&name), bytes).unwrap();
        oras(
            &oras_bin,
            d,
            &[
                "blob",
                "push",
                "--plain-http",
                &format!("{repo}@{layer_digest}"),
                &name,
            ],
        );
    }
    std::fs::write(d.join("manifest.json"), &image.manifest).unwrap();
    let tag = attestation_tag(&digest).unwrap();
    oras(
        &oras_bin,
        d,
        &[
            "manifest",
            "push",
            "--plain-http",
            "--media-type",
            "application/vnd.oci.image.manifest.v1+json",
            &format!("{repo}:{tag}"),
            "manifest.json",
        ],
    );
    let pushed = oras(
        &oras_bin,
        d,
        &["resolve", "--plain-http", &format!("{repo}:{tag}")],
    );
    assert_eq!(
        String::from_utf8(pushed).unwrap().trim(),
        image.manifest_digest,
        "registry stored other bytes"
    );

    let cosign_verify = |type_: &str, public_key: &Path| {
        run(cosign_cmd(&cosign, d)
            .args([
                "verify-attestation",
                "--insecure-ignore-tlog",
                "--allow-http-registry",
                "--type",
                type_,
                "--key",
            ])
            .arg(public_key)
            .arg(format!("{repo}@{digest}")))
    };
    let out = cosign_verify("cyclonedx", &d.join("cosign.pub"));
    assert!(
        out.status.success(),
        "cosign rejects our .att: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cosign_verify(statement::PREDICATE_VERDICT, &d.join("cosign.pub"));
    assert!(
        out.status.success(),
        "cosign rejects our verdict: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The oracle can refuse: another key, a predicate type we did not attest.
    std::fs::write(d.join("other.pub"), verifying_key("p256.pub.pem").to_pem()).unwrap();
    assert!(!cosign_verify("cyclonedx", &d.join("other.pub"))
        .status
        .success());
    assert!(!cosign_verify("spdx", &d.join("cosign.pub"))
        .status
        .success());

    // cosign attest → ours.
    let repo = format!("{}/theirs", registry.addr);
    let digest = push_subject(&oras_bin, d, &format!("{repo}:v1"));
    std::fs::write(
        d.join("predicate.json"),
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
    )
    .unwrap();
    run_ok(
        cosign_cmd(&cosign, d)
            .args([
                "attest",
                "--tlog-upload=false",
                "--allow-http-registry",
                "--yes",
                "--type",
                "cyclonedx",
                "--predicate",
                "predicate.json",
                "--key",
                "cosign.key",
            ])
            .arg(format!("{repo}@{digest}")),
    );
    let tag = attestation_tag(&digest).unwrap();
    let manifest = oras(
        &oras_bin,
        d,
        &[
            "manifest",
            "fetch",
            "--plain-http",
            &format!("{repo}:{tag}"),
        ],
    );
    let layers = attestation_layers(&manifest).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0].predicate_type.as_deref(),
        Some(statement::PREDICATE_CYCLONEDX)
    );
    let envelope = oras(
        &oras_bin,
        d,
        &[
            "blob",
            "fetch",
            "--plain-http",
            "--output",
            "-",
            &format!("{repo}@{}", layers[0].digest),
        ],
    );
    verify_blob_digest(&envelope, &layers[0].digest).unwrap();
    let verified = verify_json(&envelope, &[public]).unwrap();
    verify_subject(&verified.statement, &digest).unwrap();
    assert_eq!(
        verified.statement.subject[0].name, repo,
        "cosign names the subject registry/repository"
    );
}
