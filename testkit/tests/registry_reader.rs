//! The harness's registry reader checks what it is served: a fault proxy in
//! front of the real registry tampers with the base image's manifest and
//! config blob, and every tampering must be reported, never passed on.

use stella_testkit::buildkit::{E2e, RegistryReader};
use stella_testkit::proxy::{Fault, Proxy};

/// `REPO` and `TAG` of the harness's base image (`REGISTRY/REPO:TAG`).
fn base_repo_and_tag(e2e: &E2e) -> (String, String) {
    let name = e2e
        .base_image()
        .strip_prefix(&format!("{}/", e2e.registry()))
        .expect("the base image lives in the harness's registry");
    let (repo, tag) = name.rsplit_once(':').expect("a tagged base image");
    (repo.to_string(), tag.to_string())
}

#[test]
fn tampered_manifests_and_blobs_are_refused() {
    let Some(e2e) = E2e::require() else { return };
    let (repo, tag) = base_repo_and_tag(&e2e);
    let proxy = Proxy::start(e2e.registry());
    let reader = RegistryReader::new(&proxy.addr);

    // Untampered, through the proxy: the reference for what follows.
    let manifest = reader
        .manifest(&repo, &tag)
        .unwrap_or_else(|e| panic!("{e}"));
    let json = manifest.json().unwrap_or_else(|e| panic!("{e}"));
    let config = json["config"]["digest"]
        .as_str()
        .expect("an image manifest with a config")
        .to_string();
    reader
        .blob(&repo, &config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        reader
            .manifest(&repo, &manifest.digest)
            .map(|m| m.bytes)
            .unwrap_or_else(|e| panic!("{e}")),
        manifest.bytes,
        "the same bytes by tag and by digest"
    );

    // Other bytes under the registry's Docker-Content-Digest.
    let mut altered = manifest.bytes.clone();
    altered.push(b'\n');
    proxy.inject(
        &format!("/manifests/{tag}"),
        Fault::ReplaceBody(altered.clone()),
    );
    let error = reader
        .manifest(&repo, &tag)
        .expect_err("altered manifest by tag");
    assert!(error.contains("hash to"), "{error}");
    proxy.clear();

    // By digest, the requested digest is the reference, whatever the headers say.
    proxy.inject(
        &format!("/manifests/{}", manifest.digest),
        Fault::ReplaceBodyAndDigest(altered.clone()),
    );
    let error = reader
        .manifest(&repo, &manifest.digest)
        .expect_err("altered manifest by digest");
    assert!(error.contains("hash to"), "{error}");
    proxy.clear();

    // A tag without a digest header cannot be verified.
    proxy.inject(
        &format!("/manifests/{tag}"),
        Fault::ReplaceBodyDropHeaders(manifest.bytes.clone(), vec!["docker-content-digest".into()]),
    );
    let error = reader.manifest(&repo, &tag).expect_err("no digest header");
    assert!(error.contains("Docker-Content-Digest"), "{error}");
    proxy.clear();

    proxy.inject(&format!("/blobs/{config}"), Fault::CorruptBody);
    let error = reader.blob(&repo, &config).expect_err("corrupt blob");
    assert!(error.contains("hash to"), "{error}");
    proxy.clear();

    proxy.inject(&format!("/blobs/{config}"), Fault::status(500));
    let error = reader.blob(&repo, &config).expect_err("server error");
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(proxy.faults_applied() >= 5, "the proxy tampered every time");
}
