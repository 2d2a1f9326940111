//! The e2e harness end to end, as generator tests use it: a real
//! `docker buildx build --sbom=generator=…` with a shell generator image built
//! here, then the attestation read back from the registry. BuildKit is the
//! oracle for the subject: it must fill in the digest of the image manifest it
//! pushed, which the image index independently names.

use std::time::{SystemTime, UNIX_EPOCH};

use stella_testkit::buildkit::E2e;

/// Writes one SPDX statement whose document name is the content of
/// /marker.txt in the scanned root filesystem, so the test can tell the
/// generator saw the final stage of this very build.
const GENERATOR: &str = r#"set -eu
src=${BUILDKIT_SCAN_SOURCE:?}
dst=${BUILDKIT_SCAN_DESTINATION:?}
marker=$(cat "$src/marker.txt")
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s","documentNamespace":"https://stella.invalid/testkit/%s","creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: stella-testkit"]},"packages":[]}}\n' "$marker" "$marker" >"$dst/sbom.spdx.json"
"#;

const SPDX_PREDICATE: &str = "https://spdx.dev/Document";

#[test]
fn a_shell_generator_attests_the_built_image_and_buildkit_fills_the_subject() {
    let Some(e2e) = E2e::require() else { return };
    // Unique per run, so no build step or attestation comes from a cache.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let marker = format!("smoke-{}-{nanos}", std::process::id());

    let generator = e2e
        .shell_generator_image(GENERATOR, &format!("testkit-generator:{marker}"))
        .unwrap_or_else(|e| panic!("{e}"));

    let context = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN echo {marker} > /marker.txt\n",
            e2e.base_image()
        ),
    )
    .expect("write Dockerfile");
    let sbom = format!("--sbom=generator={generator}");
    e2e.buildx_build(context.path(), &format!("testkit-smoke:{marker}"), &[&sbom])
        .unwrap_or_else(|e| panic!("{e}"));

    let index = e2e
        .manifest("testkit-smoke", &marker)
        .and_then(|m| m.json())
        .unwrap_or_else(|e| panic!("{e}"));
    let image_digests: Vec<&str> = index["manifests"]
        .as_array()
        .expect("an image index")
        .iter()
        .filter(|m| m["platform"]["os"] == "linux")
        .filter_map(|m| m["digest"].as_str())
        .collect();
    assert_eq!(image_digests.len(), 1, "one linux image manifest: {index}");

    let attested = e2e
        .attestation_statements("testkit-smoke", &marker)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attested.len(), 1, "one attestation manifest");
    let (subject_digest, statements) = &attested[0];
    assert_eq!(subject_digest, image_digests[0]);

    let sboms: Vec<_> = statements
        .iter()
        .filter(|s| s["predicateType"] == SPDX_PREDICATE)
        .collect();
    assert_eq!(sboms.len(), 1, "one SPDX statement: {statements:?}");
    let sbom = sboms[0];
    assert_eq!(sbom["predicate"]["name"], marker.as_str());
    let subjects = sbom["subject"].as_array().expect("subject list");
    assert!(!subjects.is_empty(), "BuildKit fills the subject: {sbom}");
    let hex = image_digests[0].trim_start_matches("sha256:");
    for subject in subjects {
        assert_eq!(subject["digest"]["sha256"], hex, "{subject}");
        let name = subject["name"].as_str().unwrap_or_default();
        assert!(name.starts_with("pkg:docker/"), "{name}");
    }
}

/// Containerd-source tests talk to dockerd's managed containerd directly: the
/// address and namespace the harness exports must reach Docker's image store.
#[test]
fn the_containerd_address_reaches_dockers_image_store() {
    let Some(e2e) = E2e::require() else { return };
    let output = std::process::Command::new("ctr")
        .arg("--address")
        .arg(e2e.containerd_address())
        .args([
            "--namespace",
            e2e.containerd_namespace(),
            "images",
            "list",
            "--quiet",
        ])
        .output()
        .expect("run ctr (the harness's env.sh puts it on PATH)");
    assert!(
        output.status.success(),
        "ctr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names = String::from_utf8_lossy(&output.stdout);
    assert!(
        names.lines().any(|n| n == e2e.base_image()),
        "{} is not in containerd's {} namespace: {names}",
        e2e.base_image(),
        e2e.containerd_namespace()
    );
}
