//! `containerd:REF` against the real thing: dockerd's managed containerd
//! from the e2e harness (docker's containerd image store, namespace
//! `moby`). Images get there by `docker pull` from the harness registry,
//! and the same image opened as `registry:REF` is the independent oracle:
//! manifest, config and layers must be the same, and every layer must
//! stream through to the end (digest and size checked).
//!
//! Without the harness these tests print "skipped: no e2e harness"
//! (CI sets STELLA_REQUIRE_E2E=1, which makes that a failure).

#![cfg(feature = "containerd")]

use std::io::Read;

use stella_registry_store::{
    open_image, OpenOptions, Platform, ResolvedImage, SourceSpec, StoreError,
};
use stella_testkit::buildkit::E2e;
use stella_testkit::docker_images::{DockerTag, TwoPlatformImage};

fn options(e2e: &E2e) -> OpenOptions {
    OpenOptions {
        containerd_address: e2e.containerd_address().display().to_string(),
        containerd_namespace: e2e.containerd_namespace().to_string(),
        ..OpenOptions::default()
    }
}

fn open(source: &str, opts: &OpenOptions) -> Result<ResolvedImage, StoreError> {
    open_image(&SourceSpec::parse(source)?, opts, source)
}

/// Reads every layer to the end; the reader fails on a wrong digest or size.
fn read_all_layers(image: &ResolvedImage) -> u64 {
    let mut total = 0;
    for layer in &image.layers {
        let mut reader = image.blobs.open_layer(layer).expect("open layer");
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = reader
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("layer {}: {e}", layer.digest));
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    total
}

/// What identifies an image's content, source-independently.
fn content_of(image: &ResolvedImage) -> (Option<String>, Option<String>, Vec<String>) {
    (
        image.info.manifest_digest.as_ref().map(|d| d.to_string()),
        image.info.config_digest.as_ref().map(|d| d.to_string()),
        image
            .layers
            .iter()
            .map(|l| format!("{} {:?} {} {}", l.digest, l.size, l.diff_id, l.media_type))
            .collect(),
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", std::process::id())
}

#[test]
fn base_image_matches_the_registry() {
    let Some(e2e) = E2e::require() else { return };
    e2e.pull_base();
    let opts = options(&e2e);
    let from_registry = open(&format!("registry:{}", e2e.base_image()), &opts).expect("registry");
    let from_containerd =
        open(&format!("containerd:{}", e2e.base_image()), &opts).expect("containerd");
    assert_eq!(content_of(&from_containerd), content_of(&from_registry));
    assert_eq!(from_containerd.info.name.as_deref(), Some(e2e.base_image()));
    assert_eq!(from_containerd.info.platform, from_registry.info.platform);
    let streamed = read_all_layers(&from_containerd);
    let declared: u64 = from_containerd.layers.iter().filter_map(|l| l.size).sum();
    assert_eq!(streamed, declared);
    assert!(streamed > 0);
}

#[test]
fn short_names_and_image_ids_resolve_like_docker() {
    let Some(e2e) = E2e::require() else { return };
    e2e.pull_base();
    let opts = options(&e2e);
    let expected =
        content_of(&open(&format!("registry:{}", e2e.base_image()), &opts).expect("registry"));
    // docker names the tag; we must find it by the short name and by
    // whatever docker stored it as.
    let short = unique("stella-ctd-short");
    let _tag = DockerTag::new(&e2e, e2e.base_image(), &short);
    let image = open(&format!("containerd:{short}"), &opts).expect("short name");
    assert_eq!(content_of(&image), expected);
    let stored = image.info.name.clone().expect("stored name");
    assert_eq!(stored, format!("docker.io/library/{short}:latest"));
    let image = open(&format!("containerd:{stored}"), &opts).expect("stored name");
    assert_eq!(content_of(&image), expected);
    // With the containerd store, docker's image ID is the target digest.
    let id = e2e.docker_ok(&["image", "inspect", "--format", "{{.Id}}", e2e.base_image()]);
    let image = open(&format!("containerd:{id}"), &opts).expect("image id");
    assert_eq!(content_of(&image), expected);
}

#[test]
fn missing_platform_content_is_content_not_fetched() {
    let Some(e2e) = E2e::require() else { return };
    let host = Platform::host();
    let host_text = format!("{}/{}", host.os, host.architecture);
    let other = TwoPlatformImage::other_than(&host.architecture);
    let tag = unique("lib");
    let pushed = TwoPlatformImage::push(&e2e, "stella-ctd/two-platform", &tag, &host_text, other);
    e2e.docker_ok(&["pull", "--quiet", &pushed.reference]);
    let _cleanup = DockerTag::adopt(&e2e, &pushed.reference);
    let mut opts = options(&e2e);
    opts.platform = host_text.parse().expect("platform");
    let image = open(&format!("containerd:{}", pushed.reference), &opts).expect("host platform");
    assert_eq!(
        image.info.manifest_digest.as_ref().map(|d| d.to_string()),
        Some(pushed.host_manifest.clone())
    );
    assert_eq!(read_all_layers(&image), image.layers[0].size.expect("size"));
    // The index's digest (skopeo's word for what the registry holds) names it too.
    let by_digest = open(&format!("containerd:{}", pushed.index_digest), &opts).expect("by digest");
    assert_eq!(by_digest.info.manifest_digest, image.info.manifest_digest);
    assert_eq!(
        by_digest.info.name.as_deref(),
        Some(pushed.reference.as_str())
    );

    opts.platform = other.parse().expect("platform");
    // The registry has it: the platform exists, only the content is absent.
    open(&format!("registry:{}", pushed.reference), &opts)
        .expect("registry has the other platform");
    let err = open(&format!("containerd:{}", pushed.reference), &opts).unwrap_err();
    match &err {
        StoreError::ContentNotFetched {
            what,
            digest,
            namespace,
            ..
        } => {
            assert_eq!(digest.to_string(), pushed.other_manifest);
            assert_eq!(what, &format!("manifest for {other}"));
            assert_eq!(namespace, e2e.containerd_namespace());
        }
        other => panic!("expected ContentNotFetched, got {other}"),
    }
    assert!(err.to_string().contains("never fetched"), "{err}");
}

#[test]
fn missing_image_wrong_namespace_and_absent_socket_are_typed_errors() {
    let Some(e2e) = E2e::require() else { return };
    e2e.pull_base();
    let opts = options(&e2e);

    let missing = format!("{}/stella-ctd/none:{}", e2e.registry(), unique("absent"));
    match open(&format!("containerd:{missing}"), &opts).unwrap_err() {
        StoreError::NotFound {
            what: "image",
            reference,
            location,
        } => {
            assert_eq!(reference, missing);
            assert!(location.contains(e2e.containerd_namespace()), "{location}");
        }
        other => panic!("expected NotFound, got {other}"),
    }

    let mut wrong = opts.clone();
    wrong.containerd_namespace = unique("stella-no-such-ns");
    match open(&format!("containerd:{}", e2e.base_image()), &wrong).unwrap_err() {
        err @ StoreError::ContainerdNamespaceNotFound { .. } => {
            let text = err.to_string();
            assert!(text.contains(&wrong.containerd_namespace), "{text}");
            // Where the image is instead.
            assert!(
                text.contains(&format!(
                    "the image is in namespace \"{}\"",
                    e2e.containerd_namespace()
                )),
                "{text}"
            );
        }
        other => panic!("expected ContainerdNamespaceNotFound, got {other}"),
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let mut absent = opts.clone();
    absent.containerd_address = dir.path().join("containerd.sock").display().to_string();
    match open(&format!("containerd:{}", e2e.base_image()), &absent).unwrap_err() {
        StoreError::Containerd { address, reason } => {
            assert_eq!(address, absent.containerd_address);
            assert!(reason.contains("no such socket"), "{reason}");
        }
        other => panic!("expected a Containerd error, got {other}"),
    }

    // docker's API socket is a socket, but not containerd's.
    if let Some(docker) = e2e.docker_socket() {
        let mut not_containerd = opts.clone();
        not_containerd.containerd_address = docker.display().to_string();
        match open(&format!("containerd:{}", e2e.base_image()), &not_containerd).unwrap_err() {
            StoreError::Containerd { reason, .. } => {
                assert!(
                    reason.contains("is this containerd's gRPC socket?"),
                    "{reason}"
                )
            }
            other => panic!("expected a Containerd error, got {other}"),
        }
    }

    let mut bad_ns = opts.clone();
    bad_ns.containerd_namespace = "bad/namespace".into();
    assert!(matches!(
        open(&format!("containerd:{}", e2e.base_image()), &bad_ns).unwrap_err(),
        StoreError::BadSource { .. }
    ));
}
