//! The slices of the OCI image-spec (and Docker schema 2) documents that a
//! scan reads. Lenient about unknown fields, strict about the ones we use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stella_model::Digest;

pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The empty JSON document `{}` (image-spec 1.1): the config of artifact manifests.
pub const MEDIA_EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";
/// sha256 of `{}`, the empty descriptor's digest.
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
pub const EMPTY_JSON: &[u8] = b"{}";
/// Tags of an OCI layout live in this annotation of `index.json` entries.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// File name `oras pull` gives a layer.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// Manifests and indexes bigger than this are refused (distribution's own limit is 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Image configs bigger than this are refused.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// An OCI content descriptor (image-spec `descriptor.md`), as read from and
/// written to manifests, indexes, `index.json` and referrers lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A plain descriptor: media type, digest, size.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            artifact_type: None,
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The same descriptor without artifactType, platform and annotations
    /// (what a `subject` field carries).
    pub fn plain(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image index / manifest list, or an OCI layout's `index.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// Either kind of top-level document, told apart by mediaType or shape.
#[derive(Debug, Clone)]
pub enum ManifestDoc {
    Index(Index),
    Image(Manifest),
}

impl ManifestDoc {
    pub fn parse(bytes: &[u8], what: &str) -> Result<ManifestDoc, crate::StoreError> {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(rename = "mediaType", default)]
            media_type: Option<String>,
            #[serde(default)]
            manifests: Option<serde_json::Value>,
            #[serde(rename = "schemaVersion", default)]
            schema_version: Option<u32>,
        }
        let probe: Probe =
            serde_json::from_slice(bytes).map_err(|e| crate::StoreError::malformed(what, e))?;
        if probe.schema_version == Some(1) {
            return Err(crate::StoreError::Unsupported(format!(
                "{what} is a Docker schema 1 manifest (deprecated)"
            )));
        }
        let is_index = match probe.media_type.as_deref() {
            Some(MEDIA_OCI_INDEX) | Some(MEDIA_DOCKER_LIST) => true,
            Some(MEDIA_OCI_MANIFEST) | Some(MEDIA_DOCKER_MANIFEST) => false,
            _ => probe.manifests.is_some(),
        };
        if is_index {
            serde_json::from_slice(bytes)
                .map(ManifestDoc::Index)
                .map_err(|e| crate::StoreError::malformed(what, e))
        } else {
            serde_json::from_slice(bytes)
                .map(ManifestDoc::Image)
                .map_err(|e| crate::StoreError::malformed(what, e))
        }
    }
}

/// The image configuration (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<RuntimeConfig>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
    #[serde(rename = "User", default)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}
