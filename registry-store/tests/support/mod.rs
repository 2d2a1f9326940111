//! Shared helpers for the registry tests: test images built from real tar
//! layers, pushing them over the distribution API, a tiny raw HTTP client
//! (loopback only) and the registries themselves.

#![allow(dead_code)]

pub use stella_testkit::distribution;
pub mod ferro;
pub use stella_testkit::proxy;

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde_json::json;
use stella_model::Digest;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Which family of media types an image uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavor {
    Oci,
    Docker,
}

#[derive(Clone, Debug)]
pub struct Blob {
    pub digest: Digest,
    pub media_type: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            digest: Digest::sha256_of(&data),
            media_type: media_type.to_string(),
            data,
        }
    }
}

/// One single-platform image: gzip layers, config and manifest.
#[derive(Clone, Debug)]
pub struct PlatformImage {
    pub platform: String,
    pub layers: Vec<Blob>,
    /// The uncompressed tars, whose digests are the diff_ids.
    pub diff_ids: Vec<Digest>,
    pub config: Blob,
    pub manifest: Blob,
}

/// A multi-platform image: one image per platform and the index over them.
#[derive(Clone, Debug)]
pub struct TestImage {
    pub images: Vec<PlatformImage>,
    pub index: Blob,
}

impl TestImage {
    pub fn for_platform(&self, platform: &str) -> &PlatformImage {
        self.images
            .iter()
            .find(|i| i.platform == platform)
            .expect("platform built by the test")
    }
}

/// A gzip'd tar of `files`, and the tar itself.
pub fn layer_tar(files: &[(&str, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, &data[..])
            .expect("append to tar");
    }
    let tar = builder.into_inner().expect("finish tar");
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar).expect("gzip");
    (gz.finish().expect("gzip"), tar)
}

/// Deterministic incompressible bytes, so a layer spans many network chunks.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Builds a three-layer image for `platform` (`os/arch[/variant]`).
pub fn build_platform_image(platform: &str, flavor: Flavor, big_layer: usize) -> PlatformImage {
    let parts: Vec<&str> = platform.split('/').collect();
    let (os, arch, variant) = (parts[0], parts[1], parts.get(2).copied());
    let (layer_type, config_type, manifest_type) = match flavor {
        Flavor::Oci => (OCI_LAYER_GZIP, OCI_CONFIG, OCI_MANIFEST),
        Flavor::Docker => (DOCKER_LAYER_GZIP, DOCKER_CONFIG, DOCKER_MANIFEST),
    };
    let seed = platform.len() as u64 * 31 + arch.bytes().map(u64::from).sum::<u64>();
    let contents: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![
            (
                "etc/os-release",
                format!("ID=stella-test\nARCH={arch}\n").into_bytes(),
            ),
            ("etc/hostname", b"test\n".to_vec()),
        ],
        vec![("usr/lib/big.bin", noise(big_layer, seed))],
        vec![("app/VERSION", format!("1.0.0-{arch}\n").into_bytes())],
    ];
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for files in &contents {
        let (gz, tar) = layer_tar(files);
        diff_ids.push(Digest::sha256_of(&tar));
        layers.push(Blob::new(layer_type, gz));
    }
    let mut config = json!({
        "created": "2024-01-02T03:04:05Z",
        "architecture": arch,
        "os": os,
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "history": [
            {"created_by": "ADD rootfs /"},
            {"created_by": "ENV PATH=/usr/bin", "empty_layer": true},
            {"created_by": "COPY big.bin /usr/lib/"},
            {"created_by": "COPY VERSION /app/"}
        ]
    });
    if let Some(v) = variant {
        config["variant"] = json!(v);
    }
    let config = Blob::new(config_type, serde_json::to_vec(&config).expect("json"));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config.digest.to_string(), "size": config.data.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type, "digest": l.digest.to_string(), "size": l.data.len()
        })).collect::<Vec<_>>()
    });
    PlatformImage {
        platform: platform.to_string(),
        layers,
        diff_ids,
        config,
        manifest: Blob::new(
            manifest_type,
            serde_json::to_vec_pretty(&manifest).expect("json"),
        ),
    }
}

/// Images for each platform plus an index (with an attestation-like entry
/// for `unknown/unknown`, as BuildKit writes, which must never match).
pub fn build_image(platforms: &[&str], flavor: Flavor, big_layer: usize) -> TestImage {
    let images: Vec<PlatformImage> = platforms
        .iter()
        .map(|p| build_platform_image(p, flavor, big_layer))
        .collect();
    let index_type = match flavor {
        Flavor::Oci => OCI_INDEX,
        Flavor::Docker => DOCKER_LIST,
    };
    let entries: Vec<_> = images
        .iter()
        .map(|i| {
            let parts: Vec<&str> = i.platform.split('/').collect();
            let mut platform = json!({"os": parts[0], "architecture": parts[1]});
            if let Some(v) = parts.get(2) {
                platform["variant"] = json!(v);
            }
            json!({
                "mediaType": i.manifest.media_type,
                "digest": i.manifest.digest.to_string(),
                "size": i.manifest.data.len(),
                "platform": platform
            })
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": index_type, "manifests": entries});
    TestImage {
        images,
        index: Blob::new(index_type, serde_json::to_vec_pretty(&index).expect("json")),
    }
}

/// A current-thread runtime for test-side async work (pushing).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Pushes `image` to `registry` (`127.0.0.1:PORT`) as `repo:tag` with
/// oci-client's push API: blobs, each platform manifest by digest (and as
/// tag `TAG-ARCH`), then the index as `tag`.
pub fn push_image(registry: &str, repo: &str, tag: &str, image: &TestImage, auth: &RegistryAuth) {
    let rt = runtime();
    rt.block_on(async {
        let client = Client::try_from(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        })
        .expect("client");
        let tagged: Reference = format!("{registry}/{repo}:{tag}")
            .parse()
            .expect("reference");
        client
            .auth(&tagged, auth, RegistryOperation::Push)
            .await
            .expect("auth for push");
        for img in &image.images {
            for blob in img.layers.iter().chain([&img.config]) {
                client
                    .push_blob(&tagged, blob.data.clone(), &blob.digest.to_string())
                    .await
                    .unwrap_or_else(|e| panic!("push blob {}: {e}", blob.digest));
            }
            put_manifest(
                &client,
                &tagged.clone_with_digest(img.manifest.digest.to_string()),
                &img.manifest,
            )
            .await;
            let arch = img.platform.split('/').nth(1).expect("arch");
            let arch_tag: Reference = format!("{registry}/{repo}:{tag}-{arch}")
                .parse()
                .expect("reference");
            put_manifest(&client, &arch_tag, &img.manifest).await;
        }
        put_manifest(&client, &tagged, &image.index).await;
    });
}

async fn put_manifest(client: &Client, reference: &Reference, blob: &Blob) {
    client
        .push_manifest_raw(
            reference,
            blob.data.clone(),
            http::HeaderValue::from_str(&blob.media_type).expect("header"),
        )
        .await
        .unwrap_or_else(|e| panic!("push manifest {reference}: {e}"));
}

pub use stella_testkit::http::raw_request;
