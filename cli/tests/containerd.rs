//! `stella scan containerd:REF` against the real thing: dockerd's managed
//! containerd from the e2e harness (docker's containerd image store,
//! namespace `moby`). The image is `docker pull`ed from the harness
//! registry, and `stella scan registry:REF` of the same image is the
//! independent oracle: same components, same manifest digest.
//!
//! Without the harness these tests print "skipped: no e2e harness"
//! (CI sets STELLA_REQUIRE_E2E=1, which makes that a failure). Built
//! without the `containerd` feature, only the "lacks the feature" test runs.

use std::process::Command;

/// Runs `stella ARGS` with `env` set: (exit code, stdout, stderr).
fn stella_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stella"));
    cmd.args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("STELLA_NO_CACHE", "1")
        .env_remove("CONTAINERD_ADDRESS")
        .env_remove("CONTAINERD_NAMESPACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run stella");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(not(feature = "containerd"))]
#[test]
fn without_the_feature_containerd_sources_say_so() {
    let (code, _, err) = stella_env(&["scan", "-q", "containerd:alpine"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("lacks the `containerd` cargo feature"),
        "{err}"
    );
}

#[cfg(feature = "containerd")]
mod with_containerd {
    use serde_json::Value;
    use stella_registry_store::Platform;
    use stella_testkit::buildkit::E2e;
    use stella_testkit::docker_images::{DockerTag, TwoPlatformImage};

    use super::stella_env;

    fn unique(prefix: &str) -> String {
        format!("{prefix}-{}", std::process::id())
    }

    /// What a CycloneDX document says about the image's content: its
    /// components and dependencies (sorted, as JSON text), and the image
    /// component's properties (manifest and config digest, layers,
    /// platform), all but the source text, which differs by design.
    fn content_of(cdx: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        let doc: Value = serde_json::from_str(cdx).expect("CycloneDX JSON");
        let sorted_json = |v: &Value| {
            let mut items: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            items.sort();
            items
        };
        let properties = doc["metadata"]["component"]["properties"]
            .as_array()
            .expect("image properties")
            .iter()
            .filter(|p| p["name"] != "stella:image:source")
            .map(|p| p.to_string())
            .collect();
        (
            sorted_json(&doc["components"]),
            sorted_json(&doc["dependencies"]),
            properties,
        )
    }

    fn manifest_digest(cdx: &str) -> String {
        let doc: Value = serde_json::from_str(cdx).expect("CycloneDX JSON");
        doc["metadata"]["component"]["properties"]
            .as_array()
            .expect("image properties")
            .iter()
            .find(|p| p["name"] == "stella:image:manifestDigest")
            .and_then(|p| p["value"].as_str())
            .expect("stella:image:manifestDigest")
            .to_string()
    }

    #[test]
    fn containerd_scan_matches_registry_scan() {
        let Some(e2e) = E2e::require() else { return };
        e2e.pull_base();
        let address = e2e.containerd_address().display().to_string();
        let (code, from_registry, err) = stella_env(
            &[
                "scan",
                "-q",
                &format!("registry:{}", e2e.base_image()),
                "-o",
                "cyclonedx-json",
            ],
            &[],
        );
        assert_eq!(code, 0, "registry scan: {err}");
        let (code, from_containerd, err) = stella_env(
            &[
                "scan",
                "-q",
                &format!("containerd:{}", e2e.base_image()),
                "--containerd-address",
                &address,
                "--containerd-namespace",
                e2e.containerd_namespace(),
                "-o",
                "cyclonedx-json",
            ],
            &[],
        );
        assert_eq!(code, 0, "containerd scan: {err}");
        let (registry_components, registry_dependencies, registry_image) =
            content_of(&from_registry);
        assert!(
            registry_components.len() > 50,
            "a Debian base has many packages: {}",
            registry_components.len()
        );
        assert_eq!(
            content_of(&from_containerd),
            (registry_components, registry_dependencies, registry_image)
        );
        let containerd_digest = manifest_digest(&from_containerd);
        assert_eq!(containerd_digest, manifest_digest(&from_registry));
        // And that digest is the one docker reports for the image.
        let repo_digests = e2e.docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RepoDigests}} {{.Id}}",
            e2e.base_image(),
        ]);
        assert!(
            repo_digests.contains(&containerd_digest),
            "docker knows {repo_digests}, we scanned {containerd_digest}"
        );
    }

    #[test]
    fn address_and_namespace_come_from_the_environment() {
        let Some(e2e) = E2e::require() else { return };
        e2e.pull_base();
        let address = e2e.containerd_address().display().to_string();
        let short = unique("stella-ctd-cli");
        let _tag = DockerTag::new(&e2e, e2e.base_image(), &short);
        let (code, out, err) = stella_env(
            &["scan", "-q", &format!("containerd:{short}"), "-o", "json"],
            &[
                ("CONTAINERD_ADDRESS", &address),
                ("CONTAINERD_NAMESPACE", e2e.containerd_namespace()),
            ],
        );
        assert_eq!(code, 0, "{err}");
        let inventory: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(
            inventory["image"]["name"],
            format!("docker.io/library/{short}:latest")
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let Some(e2e) = E2e::require() else { return };
        e2e.pull_base();
        let scan = |source: &str, address: &str, namespace: &str, extra: &[&str]| {
            let mut args = vec![
                "scan",
                "-q",
                source,
                "--containerd-address",
                address,
                "--containerd-namespace",
                namespace,
            ];
            args.extend_from_slice(extra);
            let (code, _, err) = stella_env(&args, &[]);
            assert_eq!(code, 1, "{source}: {err}");
            err
        };
        let address = e2e.containerd_address().display().to_string();
        let address = address.as_str();
        let namespace = e2e.containerd_namespace();
        let base = format!("containerd:{}", e2e.base_image());

        let wrong_ns = unique("stella-no-such-ns");
        let err = scan(&base, address, &wrong_ns, &[]);
        assert!(
            err.contains(&format!("namespace \"{wrong_ns}\" does not exist"))
                && err.contains(&format!("the image is in namespace \"{namespace}\"")),
            "{err}"
        );

        let missing = format!("{}/stella-ctd/none:{}", e2e.registry(), unique("absent"));
        let err = scan(&format!("containerd:{missing}"), address, namespace, &[]);
        assert!(err.contains(&format!("image {missing} not found")), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        let nowhere = dir.path().join("containerd.sock");
        let err = scan(&base, &nowhere.display().to_string(), namespace, &[]);
        assert!(
            err.contains(&format!(
                "containerd at {}: no such socket",
                nowhere.display()
            )),
            "{err}"
        );

        let err = scan(&base, address, namespace, &["--attach"]);
        assert!(err.contains("--attach needs"), "{err}");
    }

    #[test]
    fn unfetched_platform_says_so() {
        let Some(e2e) = E2e::require() else { return };
        let host = Platform::host();
        let host_text = format!("{}/{}", host.os, host.architecture);
        let other = TwoPlatformImage::other_than(&host.architecture);
        let pushed = TwoPlatformImage::push(
            &e2e,
            "stella-ctd/two-platform",
            &unique("cli"),
            &host_text,
            other,
        );
        e2e.docker_ok(&["pull", "--quiet", &pushed.reference]);
        let _cleanup = DockerTag::adopt(&e2e, &pushed.reference);
        let source = format!("containerd:{}", pushed.reference);
        let address = e2e.containerd_address().display().to_string();
        let common = [
            "--containerd-address",
            address.as_str(),
            "--containerd-namespace",
            e2e.containerd_namespace(),
        ];
        let mut args = vec!["scan", "-q", source.as_str(), "-o", "json", "--platform"];
        args.push(&host_text);
        args.extend_from_slice(&common);
        let (code, out, err) = stella_env(&args, &[]);
        assert_eq!(code, 0, "{err}");
        let inventory: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(inventory["image"]["manifestDigest"], pushed.host_manifest);

        let mut args = vec!["scan", "-q", source.as_str(), "--platform", other];
        args.extend_from_slice(&common);
        let (code, _, err) = stella_env(&args, &[]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!(
                "manifest for {other} {} is not in containerd's content store",
                pushed.other_manifest
            )) && err.contains("never fetched"),
            "{err}"
        );
    }
}
