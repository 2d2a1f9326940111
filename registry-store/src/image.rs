//! A resolved image — manifest, config, layer table — and how each source
//! kind gets there.

use std::io::Read;
use std::path::PathBuf;

use stella_model::{Digest, ImageInfo};

use crate::oci::{
    Descriptor, ImageConfig, Manifest, ManifestDoc, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES,
};
use crate::source::SourceSpec;
use crate::verify::read_verified;
use crate::{Platform, StoreError};

/// Options for opening an image.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Which image of a multi-platform index to use.
    pub platform: Platform,
    /// Registries (`host[:port]`) that may be spoken to over plain HTTP in
    /// addition to loopback addresses.
    pub insecure_registries: Vec<String>,
    /// Docker config directory (default `$DOCKER_CONFIG` or `~/.docker`).
    pub docker_config_dir: Option<PathBuf>,
    /// containerd's gRPC socket for `containerd:` sources: a path or
    /// `unix://PATH` (default [`DEFAULT_CONTAINERD_ADDRESS`]).
    pub containerd_address: String,
    /// containerd namespace for `containerd:` sources (default
    /// [`DEFAULT_CONTAINERD_NAMESPACE`]; docker's containerd image store uses `moby`).
    pub containerd_namespace: String,
}

/// Where containerd listens unless told otherwise (as `ctr` assumes).
pub const DEFAULT_CONTAINERD_ADDRESS: &str = "/run/containerd/containerd.sock";
/// The namespace `ctr` and nerdctl use unless told otherwise.
pub const DEFAULT_CONTAINERD_NAMESPACE: &str = "default";

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            platform: Platform::host(),
            insecure_registries: Vec::new(),
            docker_config_dir: None,
            containerd_address: DEFAULT_CONTAINERD_ADDRESS.to_string(),
            containerd_namespace: DEFAULT_CONTAINERD_NAMESPACE.to_string(),
        }
    }
}

/// One layer as the manifest and config describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDescriptor {
    pub index: u32,
    /// Digest of the blob as stored.
    pub digest: Digest,
    pub media_type: String,
    /// Declared blob size (absent for docker-archive layers).
    pub size: Option<u64>,
    /// The config's `rootfs.diff_ids` entry: digest of the uncompressed tar.
    pub diff_id: Digest,
    pub created_by: Option<String>,
}

/// Streams layer blobs. Readers verify size and digest and fail at end of
/// stream when either is wrong.
pub trait BlobSource: Send + Sync {
    fn open_layer(&self, layer: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError>;
}

/// An image ready to scan.
pub struct ResolvedImage {
    pub info: ImageInfo,
    pub config: ImageConfig,
    pub layers: Vec<LayerDescriptor>,
    pub blobs: Box<dyn BlobSource>,
}

impl std::fmt::Debug for ResolvedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedImage")
            .field("info", &self.info)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

/// Opens any image source. `dir:` is not an image and is refused here (the
/// scanner walks directories itself).
pub fn open_image(
    spec: &SourceSpec,
    opts: &OpenOptions,
    source_text: &str,
) -> Result<ResolvedImage, StoreError> {
    let mut image = match spec {
        SourceSpec::OciDir { path, selector } => crate::layout::open_oci_dir(path, selector, opts)?,
        SourceSpec::OciArchive { path, selector } => {
            crate::archive::open_oci_archive(path, selector, opts)?
        }
        SourceSpec::DockerArchive { path } => crate::archive::open_docker_archive(path)?,
        SourceSpec::Registry { reference } => crate::registry::open_registry(reference, opts)?,
        SourceSpec::Containerd { reference } => {
            crate::containerd::open_containerd(reference, opts)?
        }
        SourceSpec::Dir { path } => {
            return Err(StoreError::Unsupported(format!(
                "{} is a directory source, not an image",
                path.display()
            )))
        }
    };
    image.info.source = source_text.to_string();
    Ok(image)
}

/// Opens the raw bytes of a manifest or config by descriptor, reading at most
/// the given number of bytes; the caller verifies the digest.
pub(crate) type FetchDocument<'a> =
    dyn Fn(&Descriptor, u64) -> Result<Box<dyn Read + Send>, StoreError> + 'a;

/// What resolving a manifest chain yields before a blob source is attached.
pub(crate) struct Resolved {
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub config: ImageConfig,
    pub layers: Vec<LayerDescriptor>,
    pub platform: Option<String>,
}

/// Walks index → (platform) → manifest → config, verifying each document.
/// `fetch` returns the raw bytes of a manifest or config by descriptor; the
/// digests are checked here, so `fetch` need not.
pub(crate) fn resolve_chain(
    root_bytes: Vec<u8>,
    root_digest: Digest,
    platform: &Platform,
    location: &str,
    fetch: &FetchDocument<'_>,
) -> Result<Resolved, StoreError> {
    let mut bytes = root_bytes;
    let mut digest = root_digest;
    // Nested indexes are legal; bound the depth so a cycle cannot spin.
    for _ in 0..4 {
        let what = format!("manifest {digest} in {location}");
        match ManifestDoc::parse(&bytes, &what)? {
            ManifestDoc::Index(index) => {
                let chosen = pick_platform(&index.manifests, platform, location)?;
                let reader = fetch(chosen, MAX_MANIFEST_BYTES)?;
                bytes = read_verified(
                    reader,
                    &chosen.digest,
                    Some(chosen.size),
                    MAX_MANIFEST_BYTES,
                    &format!("manifest {} in {location}", chosen.digest),
                )?;
                digest = chosen.digest.clone();
            }
            ManifestDoc::Image(manifest) => {
                return resolve_manifest(manifest, digest, location, fetch);
            }
        }
    }
    Err(StoreError::malformed(
        format!("image index in {location}"),
        "indexes nested more than 4 deep",
    ))
}

fn resolve_manifest(
    manifest: Manifest,
    manifest_digest: Digest,
    location: &str,
    fetch: &FetchDocument<'_>,
) -> Result<Resolved, StoreError> {
    let what = format!(
        "config {} of manifest {manifest_digest} in {location}",
        manifest.config.digest
    );
    let reader = fetch(&manifest.config, MAX_CONFIG_BYTES)?;
    let config_bytes = read_verified(
        reader,
        &manifest.config.digest,
        Some(manifest.config.size),
        MAX_CONFIG_BYTES,
        &what,
    )?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| StoreError::malformed(&what, e))?;
    let layers = layer_table(
        manifest
            .layers
            .iter()
            .map(|d| (d.digest.clone(), d.media_type.clone(), Some(d.size)))
            .collect(),
        &config,
        &format!("manifest {manifest_digest} in {location}"),
    )?;
    let platform = config_platform(&config);
    Ok(Resolved {
        manifest_digest,
        config_digest: manifest.config.digest.clone(),
        config,
        layers,
        platform,
    })
}

/// `os/arch[/variant]` as the config records it.
pub(crate) fn config_platform(config: &ImageConfig) -> Option<String> {
    let os = config.os.as_deref()?;
    let arch = config.architecture.as_deref()?;
    Some(match config.variant.as_deref() {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    })
}

/// Pairs manifest layers with the config's diff_ids and history.
pub(crate) fn layer_table(
    blobs: Vec<(Digest, String, Option<u64>)>,
    config: &ImageConfig,
    what: &str,
) -> Result<Vec<LayerDescriptor>, StoreError> {
    if blobs.len() != config.rootfs.diff_ids.len() {
        return Err(StoreError::malformed(
            what,
            format!(
                "{} layers but the config lists {} diff_ids",
                blobs.len(),
                config.rootfs.diff_ids.len()
            ),
        ));
    }
    let mut history = config.history.iter().filter(|h| !h.empty_layer);
    Ok(blobs
        .into_iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
        .map(
            |(i, ((digest, media_type, size), diff_id))| LayerDescriptor {
                index: i as u32,
                digest,
                media_type,
                size,
                diff_id: diff_id.clone(),
                created_by: history.next().and_then(|h| h.created_by.clone()),
            },
        )
        .collect())
}

fn pick_platform<'a>(
    manifests: &'a [Descriptor],
    platform: &Platform,
    location: &str,
) -> Result<&'a Descriptor, StoreError> {
    // Attestation manifests (BuildKit) carry platform unknown/unknown; they never match.
    manifests
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
        })
        .ok_or_else(|| {
            let mut available: Vec<String> = manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .filter(|p| p.os != "unknown")
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect();
            available.sort();
            available.dedup();
            StoreError::PlatformNotFound {
                wanted: platform.to_string(),
                location: location.to_string(),
                available: if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                },
            }
        })
}

/// Builds [`ImageInfo`] from a resolution.
pub(crate) fn image_info(resolved: &Resolved, name: Option<String>) -> ImageInfo {
    ImageInfo {
        source: String::new(),
        name,
        manifest_digest: Some(resolved.manifest_digest.clone()),
        config_digest: Some(resolved.config_digest.clone()),
        platform: resolved.platform.clone(),
        created: resolved.config.created.clone(),
    }
}
