//! Images a test adds to the e2e harness ([`crate::buildkit::E2e`]) and
//! takes away again: a local docker tag removed on drop, and a two-platform
//! image index pushed to the harness registry so that `docker pull` leaves
//! one platform's content out of containerd's store.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use sha2::Digest as _;

use crate::buildkit::E2e;

/// A local name for an image in the harness's docker, removed on drop.
pub struct DockerTag {
    e2e: E2e,
    pub name: String,
}

impl DockerTag {
    /// `docker tag SOURCE NAME`.
    pub fn new(e2e: &E2e, source: &str, name: &str) -> DockerTag {
        e2e.docker_ok(&["tag", source, name]);
        DockerTag::adopt(e2e, name)
    }

    /// Takes charge of a name the test already made (a `docker pull`ed
    /// reference, say), to remove it on drop.
    pub fn adopt(e2e: &E2e, name: &str) -> DockerTag {
        DockerTag {
            e2e: e2e.clone(),
            name: name.to_string(),
        }
    }
}

impl Drop for DockerTag {
    fn drop(&mut self) {
        // Untagging never deletes content another name still holds.
        let _ = self
            .e2e
            .docker()
            .args(["rmi", "--no-prune", &self.name])
            .output();
    }
}

/// A two-platform image index built here byte by byte and pushed with
/// skopeo: one tiny image for `host` (`os/arch`) and one for `other`.
/// `docker pull` fetches only the host's, which leaves `other`'s manifest
/// out of containerd's content store.
pub struct TwoPlatformImage {
    /// `REGISTRY/REPO:TAG`.
    pub reference: String,
    pub index_digest: String,
    pub host_manifest: String,
    pub other_manifest: String,
}

const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A one-file layer tar: `etc/stella-e2e` holding `text`.
fn layer_tar(text: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_600_000_000);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "etc/stella-e2e", text.as_bytes())
        .expect("tar entry");
    tar.into_inner().expect("tar")
}

impl TwoPlatformImage {
    /// A platform surely not the host's (`host_arch` as OCI names it), for
    /// the half of the index `docker pull` leaves out.
    pub fn other_than(host_arch: &str) -> &'static str {
        if host_arch == "s390x" {
            "linux/ppc64le"
        } else {
            "linux/s390x"
        }
    }

    /// Builds the layout in a temp dir and copies it to `REGISTRY/repo:tag`.
    pub fn push(e2e: &E2e, repo: &str, tag: &str, host: &str, other: &str) -> TwoPlatformImage {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).expect("blobs dir");
        let put = |bytes: &[u8]| -> (String, usize) {
            let digest = sha256(bytes);
            let path = blobs.join(digest.trim_start_matches("sha256:"));
            std::fs::write(path, bytes).expect("write blob");
            (digest, bytes.len())
        };
        let mut entries = Vec::new();
        for platform in [host, other] {
            let (os, arch) = platform.split_once('/').expect("os/arch");
            let layer = layer_tar(&format!("{platform}\n"));
            let (layer_digest, layer_size) = put(&layer);
            let config = format!(
                r#"{{"architecture":"{arch}","os":"{os}","created":"2024-01-01T00:00:00Z","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"history":[{{"created_by":"stella e2e {platform}"}}]}}"#
            );
            let (config_digest, config_size) = put(config.as_bytes());
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"{MEDIA_MANIFEST}","config":{{"mediaType":"{MEDIA_CONFIG}","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"{MEDIA_LAYER}","digest":"{layer_digest}","size":{layer_size}}}]}}"#
            );
            let (manifest_digest, manifest_size) = put(manifest.as_bytes());
            entries.push(format!(
                r#"{{"mediaType":"{MEDIA_MANIFEST}","digest":"{manifest_digest}","size":{manifest_size},"platform":{{"architecture":"{arch}","os":"{os}"}}}}"#
            ));
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{MEDIA_INDEX}","manifests":[{}]}}"#,
            entries.join(",")
        );
        let (local_index, index_size) = put(index.as_bytes());
        let layout_index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{MEDIA_INDEX}","digest":"{local_index}","size":{index_size},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
        );
        write_file(&dir.path().join("index.json"), layout_index.as_bytes());
        write_file(
            &dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        );
        let reference = e2e.image_ref(&format!("{repo}:{tag}"));
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--all",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", dir.path().display()),
                &format!("docker://{reference}"),
            ])
            .output()
            .expect("skopeo (apt-get install skopeo)");
        assert!(
            out.status.success(),
            "skopeo copy to {reference}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // skopeo compresses the layers on the way, which changes every
        // digest above the config: what the registry now holds is its word.
        let out = Command::new("skopeo")
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{reference}"),
            ])
            .output()
            .expect("skopeo inspect");
        assert!(out.status.success(), "skopeo inspect {reference}");
        let pushed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("index JSON");
        let manifest_for = |platform: &str| -> String {
            let (os, arch) = platform.split_once('/').expect("os/arch");
            pushed["manifests"]
                .as_array()
                .expect("index manifests")
                .iter()
                .find(|m| m["platform"]["os"] == os && m["platform"]["architecture"] == arch)
                .and_then(|m| m["digest"].as_str())
                .unwrap_or_else(|| panic!("no {platform} in the pushed index"))
                .to_string()
        };
        TwoPlatformImage {
            index_digest: sha256(&out.stdout),
            host_manifest: manifest_for(host),
            other_manifest: manifest_for(other),
            reference,
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(bytes).expect("write");
}
