//! The artifact store: one interface to put and get blobs, manifests, tags
//! and referrers, whether they live in an OCI image layout directory
//! ([`OciLayoutStore`]) or an OCI distribution registry ([`RegistryStore`]).
//!
//! Both backends keep the same promises, and the parity test holds them to
//! it: manifests are stored as the exact bytes whose digest was computed,
//! every blob and manifest is digest-checked on the way in and out, results
//! are sorted, and referrers (image-spec 1.1 `subject`) are discoverable
//! with an optional `artifactType` filter. The API is blocking, like the
//! rest of Stella; the registry backend runs its own small async runtime.
//!
//! [`attach`] is the one way artifacts (SBOMs, BOM-Index, attestations) are
//! hung off an image: it builds the artifact manifest and pushes blobs and
//! manifest. [`open_target`] turns a user's `oci-dir:PATH[:TAG|@DIGEST]`,
//! `registry:REF` or bare `REF` into a store plus the manifest it names.

mod fallback;
mod http;
mod layout_store;
mod registry_store;
mod retry;
mod target_image;
mod upload;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use stella_model::Digest;

pub use fallback::{fallback_tag, referrer_tag};
pub use layout_store::OciLayoutStore;
pub use registry_store::RegistryStore;
pub use retry::RetryPolicy;
pub use target_image::TargetImage;

use crate::oci::{
    Descriptor, ANNOTATION_TITLE, EMPTY_JSON, EMPTY_JSON_DIGEST, MAX_MANIFEST_BYTES,
    MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_EMPTY_JSON, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
};
use crate::source::{LayoutSelector, SourceSpec};
use crate::{OpenOptions, StoreError};

/// A manifest by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ManifestRef {
    Tag(String),
    Digest(Digest),
}

impl ManifestRef {
    pub fn tag(tag: &str) -> Result<ManifestRef, StoreError> {
        check_tag(tag)?;
        Ok(ManifestRef::Tag(tag.to_string()))
    }
}

impl FromStr for ManifestRef {
    type Err = StoreError;

    /// `ALG:HEX` is a digest, anything else must be a valid tag.
    fn from_str(s: &str) -> Result<ManifestRef, StoreError> {
        if s.contains(':') {
            s.parse::<Digest>()
                .map(ManifestRef::Digest)
                .map_err(|e| StoreError::BadSource {
                    input: s.to_string(),
                    reason: format!("not a digest: {e}"),
                })
        } else {
            ManifestRef::tag(s)
        }
    }
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(t) => f.write_str(t),
            ManifestRef::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// Tags as the distribution spec allows them: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
/// A blob about to be stored is what its digest says, else nothing is
/// written: `location` names the store in the error.
pub(crate) fn check_blob_to_store(
    location: &str,
    expected: &Digest,
    data: &[u8],
) -> Result<(), StoreError> {
    let actual = crate::registry::digest_of(data, expected.algorithm());
    if &actual != expected {
        return Err(StoreError::DigestMismatch {
            what: format!("blob to store in {location}"),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

pub(crate) fn check_tag(tag: &str) -> Result<(), StoreError> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadSource {
            input: tag.to_string(),
            reason: "not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})".into(),
        })
    }
}

/// A manifest as stored: its exact bytes, their digest and the media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestBytes {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl ManifestBytes {
    /// A manifest about to be stored: well-formed for its media type, a
    /// valid tag if any, its digest computed over exactly these bytes.
    pub(crate) fn to_put(
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<ManifestBytes, StoreError> {
        check_manifest(bytes, media_type)?;
        if let Some(t) = tag {
            check_tag(t)?;
        }
        Ok(ManifestBytes {
            digest: Digest::sha256_of(bytes),
            media_type: media_type.to_string(),
            bytes: bytes.to_vec(),
        })
    }

    /// Descriptor of this manifest, with the `artifactType` and annotations
    /// the manifest itself declares (image-spec descriptor rules).
    pub fn descriptor(&self) -> Descriptor {
        let facts = ManifestFacts::parse(&self.bytes);
        Descriptor {
            media_type: self.media_type.clone(),
            artifact_type: facts.artifact_type,
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            platform: None,
            annotations: facts.annotations,
        }
    }
}

/// The fields of a manifest that referrers discovery looks at. Parsed
/// leniently: a manifest we cannot read has no subject.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ManifestFacts {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<ConfigFacts>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfigFacts {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
}

impl ManifestFacts {
    pub(crate) fn parse(bytes: &[u8]) -> ManifestFacts {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    /// The referrers-API descriptor of a manifest whose subject is known:
    /// `artifactType` is the manifest's, else its config's media type.
    pub(crate) fn referrer_descriptor(
        self,
        media_type: &str,
        digest: Digest,
        size: u64,
    ) -> Descriptor {
        let artifact_type = self
            .artifact_type
            .filter(|t| !t.is_empty())
            .or_else(|| self.config.and_then(|c| c.media_type));
        Descriptor {
            media_type: self
                .media_type
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| media_type.to_string()),
            artifact_type,
            digest,
            size,
            platform: None,
            annotations: self.annotations,
        }
    }
}

/// One store of OCI content: a layout directory or a registry repository.
///
/// Every read is digest-checked; every write checks the digest before the
/// bytes leave. Lists come back sorted (tags by name, referrers by digest).
pub trait ArtifactStore: Send + Sync {
    /// `OCI layout PATH` or `registry HOST/REPO`, for messages.
    fn location(&self) -> String;

    fn blob_exists(&self, digest: &Digest) -> Result<bool, StoreError>;

    /// A whole blob, verified, refused when over `limit` bytes.
    fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError>;

    /// Streams a blob; the reader fails at end of stream (`InvalidData`)
    /// when size or digest are wrong, so reading to the end is required.
    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send + '_>, StoreError>;

    /// Stores `data` as the blob `expected`; a digest mismatch is refused
    /// before anything is written. Existing blobs are not sent again.
    fn put_blob(&self, expected: &Digest, data: &[u8]) -> Result<(), StoreError>;

    /// [`ArtifactStore::put_blob`] for several blobs (a registry store sends
    /// them concurrently). Every digest is checked first: nothing is sent
    /// when any is wrong.
    fn put_blobs(&self, blobs: &[(&Digest, &[u8])]) -> Result<(), StoreError> {
        for (expected, data) in blobs {
            check_blob_to_store(&self.location(), expected, data)?;
        }
        blobs
            .iter()
            .try_for_each(|(digest, data)| self.put_blob(digest, data))
    }

    /// A manifest's exact bytes and media type, by tag or digest, verified
    /// (against the digest asked for, else the registry's digest header).
    fn get_manifest(&self, reference: &ManifestRef) -> Result<ManifestBytes, StoreError>;

    /// Stores `bytes` (exactly) as a manifest of `media_type`, reachable by
    /// its sha256 digest and, when given, by `tag`. A manifest with a
    /// `subject` becomes discoverable through [`ArtifactStore::referrers`].
    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError>;

    /// Stores several untagged OCI image manifests at once (artifacts with a
    /// `subject`, typically): the same as [`ArtifactStore::put_manifest`]
    /// for each, but a registry without the referrers API gets one update
    /// of each subject's fallback index instead of one per manifest. The
    /// manifests must not name one another: a registry store sends them
    /// concurrently.
    fn put_manifests(&self, manifests: &[Vec<u8>]) -> Result<Vec<Descriptor>, StoreError> {
        manifests
            .iter()
            .map(|bytes| self.put_manifest(bytes, MEDIA_OCI_MANIFEST, None))
            .collect()
    }

    /// All tags, sorted; the bookkeeping tags of the referrers tag schema
    /// (`sha256-HEX`, `sha256-HEX.<16 hex>.ref`) are left out.
    fn tags(&self) -> Result<Vec<String>, StoreError>;

    /// The descriptor (media type, digest, size, artifactType, annotations)
    /// of the manifest a tag or digest names; the manifest is fetched and
    /// verified, so the answer is never just the registry's word.
    fn resolve(&self, reference: &ManifestRef) -> Result<Descriptor, StoreError> {
        Ok(self.get_manifest(reference)?.descriptor())
    }

    /// Manifests whose `subject` is `subject`, optionally only those of one
    /// `artifactType`, sorted by digest.
    fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError>;
}

/// One blob of an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactBlob {
    pub media_type: String,
    pub data: Vec<u8>,
    /// Layer annotations; set `org.opencontainers.image.title` (see
    /// [`ArtifactBlob::titled`]) for `oras pull` to save the blob as a file.
    pub annotations: BTreeMap<String, String>,
}

impl ArtifactBlob {
    pub fn new(media_type: impl Into<String>, data: Vec<u8>) -> ArtifactBlob {
        ArtifactBlob {
            media_type: media_type.into(),
            data,
            annotations: BTreeMap::new(),
        }
    }

    /// Adds the file name `oras pull` uses.
    pub fn titled(mut self, title: &str) -> ArtifactBlob {
        self.annotations
            .insert(ANNOTATION_TITLE.to_string(), title.to_string());
        self
    }

    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(
            self.media_type.clone(),
            Digest::sha256_of(&self.data),
            self.data.len() as u64,
        );
        d.annotations = self.annotations.clone();
        d
    }
}

/// The image-spec 1.1 artifact manifest, field by field; serialized with
/// serde in this order, so the same inputs give the same bytes.
#[derive(Serialize)]
struct ArtifactManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    #[serde(rename = "artifactType")]
    artifact_type: &'a str,
    config: EmptyConfig<'a>,
    layers: &'a [Descriptor],
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// The empty descriptor, with its data inlined as image-spec suggests.
#[derive(Serialize)]
struct EmptyConfig<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: &'a str,
    size: u64,
    data: &'a str,
}

/// The bytes of an artifact manifest of `artifact_type` over `layers`,
/// referring to `subject` (its media type, digest and size only) when given:
/// artifacts that belong to no image (cache fragments) have none.
pub fn artifact_manifest(
    subject: Option<&Descriptor>,
    artifact_type: &str,
    layers: &[Descriptor],
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>, StoreError> {
    if artifact_type.is_empty() {
        return Err(StoreError::BadSource {
            input: String::new(),
            reason: "an artifact needs a non-empty artifactType".into(),
        });
    }
    let manifest = ArtifactManifest {
        schema_version: 2,
        media_type: MEDIA_OCI_MANIFEST,
        artifact_type,
        config: EmptyConfig {
            media_type: MEDIA_EMPTY_JSON,
            digest: EMPTY_JSON_DIGEST,
            size: EMPTY_JSON.len() as u64,
            data: "e30=",
        },
        layers,
        subject: subject.map(Descriptor::plain),
        annotations,
    };
    serde_json::to_vec(&manifest)
        .map_err(|e| StoreError::malformed("artifact manifest", format!("cannot serialize: {e}")))
}

/// Attaches an artifact to `subject`: pushes the empty config, every blob,
/// then the artifact manifest (image-spec 1.1: `artifactType`, empty config,
/// `subject`), and returns the manifest's descriptor as referrers lists
/// show it. With no blobs the empty descriptor is the one layer, as
/// image-spec recommends.
pub fn attach(
    store: &dyn ArtifactStore,
    subject: &Descriptor,
    artifact_type: &str,
    blobs: &[ArtifactBlob],
    annotations: &BTreeMap<String, String>,
) -> Result<Descriptor, StoreError> {
    let artifact = Artifact {
        artifact_type,
        blobs,
        annotations,
    };
    let mut attached = attach_many(store, subject, &[artifact])?;
    attached.pop().ok_or_else(|| {
        StoreError::malformed(store.location(), "attaching one artifact stored none")
    })
}

/// One artifact for [`attach_many`].
pub struct Artifact<'a> {
    pub artifact_type: &'a str,
    pub blobs: &'a [ArtifactBlob],
    pub annotations: &'a BTreeMap<String, String>,
}

/// [`attach`] for several artifacts of one subject: blobs first, then all
/// manifests in one [`ArtifactStore::put_manifests`]. Descriptors in the
/// order given.
pub fn attach_many(
    store: &dyn ArtifactStore,
    subject: &Descriptor,
    artifacts: &[Artifact<'_>],
) -> Result<Vec<Descriptor>, StoreError> {
    let empty: Digest = EMPTY_JSON_DIGEST
        .parse()
        .map_err(|e| StoreError::malformed("empty descriptor digest", e))?;
    let mut manifests = Vec::with_capacity(artifacts.len());
    let mut all_layers = Vec::with_capacity(artifacts.len());
    for artifact in artifacts {
        let mut layers: Vec<Descriptor> = artifact
            .blobs
            .iter()
            .map(ArtifactBlob::descriptor)
            .collect();
        if layers.is_empty() {
            layers.push(Descriptor::new(MEDIA_EMPTY_JSON, empty.clone(), 2));
        }
        manifests.push(artifact_manifest(
            Some(subject),
            artifact.artifact_type,
            &layers,
            artifact.annotations,
        )?);
        all_layers.push(layers);
    }
    // Blobs first (a manifest may not name a missing blob), all at once.
    let mut blobs: Vec<(&Digest, &[u8])> = vec![(&empty, EMPTY_JSON)];
    for (artifact, layers) in artifacts.iter().zip(&all_layers) {
        for (blob, d) in artifact.blobs.iter().zip(layers) {
            if !blobs.iter().any(|(seen, _)| *seen == &d.digest) {
                blobs.push((&d.digest, &blob.data));
            }
        }
    }
    store.put_blobs(&blobs)?;
    store.put_manifests(&manifests)
}

/// The blobs of an artifact (a referrer from [`ArtifactStore::referrers`]):
/// its manifest is fetched and verified, then every layer, each checked
/// against its descriptor's digest and size; blobs over `limit` bytes are
/// refused. What `stella sbom` needs to read an attached SBOM back.
pub fn artifact_blobs(
    store: &dyn ArtifactStore,
    artifact: &Descriptor,
    limit: u64,
) -> Result<Vec<(Descriptor, Vec<u8>)>, StoreError> {
    #[derive(Deserialize)]
    struct Layers {
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    let manifest = store.get_manifest(&ManifestRef::Digest(artifact.digest.clone()))?;
    let what = format!("artifact {} in {}", artifact.digest, store.location());
    let parsed: Layers =
        serde_json::from_slice(&manifest.bytes).map_err(|e| StoreError::malformed(&what, e))?;
    let mut out = Vec::with_capacity(parsed.layers.len());
    for layer in parsed.layers {
        if layer.size > limit {
            return Err(StoreError::TooLarge {
                what: format!("blob {} of {what}", layer.digest),
                size: layer.size,
                limit,
            });
        }
        let data = store.get_blob(&layer.digest, limit)?;
        if data.len() as u64 != layer.size {
            return Err(StoreError::malformed(
                format!("blob {} of {what}", layer.digest),
                format!("{} bytes, its descriptor says {}", data.len(), layer.size),
            ));
        }
        out.push((layer, data));
    }
    Ok(out)
}

/// Media types a manifest PUT may carry.
pub(crate) fn is_manifest_media_type(media_type: &str) -> bool {
    [
        MEDIA_OCI_MANIFEST,
        MEDIA_OCI_INDEX,
        MEDIA_DOCKER_MANIFEST,
        MEDIA_DOCKER_LIST,
    ]
    .contains(&media_type)
}

/// Checks a manifest before it is stored: size limit, JSON, and (for the
/// two OCI types) that its own `mediaType`, when present, agrees.
pub(crate) fn check_manifest(bytes: &[u8], media_type: &str) -> Result<(), StoreError> {
    let what = format!("manifest of type {media_type}");
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(StoreError::TooLarge {
            what,
            size: bytes.len() as u64,
            limit: MAX_MANIFEST_BYTES,
        });
    }
    if !is_manifest_media_type(media_type) {
        return Err(StoreError::Unsupported(format!(
            "manifest media type {media_type:?}"
        )));
    }
    let facts: ManifestFacts =
        serde_json::from_slice(bytes).map_err(|e| StoreError::malformed(&what, e))?;
    if let Some(inner) = facts.media_type.as_deref() {
        if inner != media_type {
            return Err(StoreError::malformed(
                &what,
                format!("its mediaType field says {inner:?}"),
            ));
        }
    }
    Ok(())
}

/// Sorts by digest and drops duplicates (the same referrer listed twice).
pub(crate) fn sort_referrers(mut list: Vec<Descriptor>) -> Vec<Descriptor> {
    list.sort_by_key(|a| a.digest.to_string());
    list.dedup_by(|a, b| a.digest == b.digest);
    list
}

pub(crate) fn filter_artifact_type(list: Vec<Descriptor>, wanted: Option<&str>) -> Vec<Descriptor> {
    match wanted {
        None => list,
        Some(t) => list
            .into_iter()
            .filter(|d| d.artifact_type.as_deref() == Some(t))
            .collect(),
    }
}

/// How stores are opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// Docker config directory (default `$DOCKER_CONFIG` or `~/.docker`).
    pub docker_config_dir: Option<PathBuf>,
    pub retry: RetryPolicy,
    /// Blobs larger than this are uploaded in chunks of this size.
    pub chunk_size: usize,
}

/// Default upload chunk: large enough to keep round trips few, small enough
/// that a dropped connection costs little.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024 * 1024;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            insecure_registries: Vec::new(),
            docker_config_dir: None,
            retry: RetryPolicy::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

impl From<&OpenOptions> for StoreOptions {
    fn from(o: &OpenOptions) -> Self {
        StoreOptions {
            insecure_registries: o.insecure_registries.clone(),
            docker_config_dir: o.docker_config_dir.clone(),
            ..StoreOptions::default()
        }
    }
}

/// A store and the manifest a user's reference names in it.
pub struct Target {
    pub store: Box<dyn ArtifactStore>,
    /// `None`: the only image of an OCI layout (`oci-dir:PATH`).
    pub reference: Option<ManifestRef>,
    /// The image's name as `stella scan` reports it: the whole reference for
    /// a registry, the `org.opencontainers.image.ref.name` of a layout entry.
    pub name: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("store", &self.store.location())
            .field("reference", &self.reference)
            .finish()
    }
}

impl Target {
    /// The descriptor of the manifest the reference names (media type,
    /// digest, size): what artifacts are attached to.
    pub fn subject(&self) -> Result<Descriptor, StoreError> {
        Ok(self.store.resolve(self.named()?)?.plain())
    }

    /// The reference, or why there is none (a layout of several images).
    fn named(&self) -> Result<&ManifestRef, StoreError> {
        self.reference.as_ref().ok_or_else(|| {
            let tags = match self.store.tags() {
                Ok(tags) if !tags.is_empty() => tags.join(", "),
                Ok(_) => "none".into(),
                Err(e) => return e,
            };
            StoreError::BadSource {
                input: self.store.location(),
                reason: format!(
                    "no single image to attach to; name one with :TAG or @DIGEST (tags: {tags})"
                ),
            }
        })
    }
}

/// Opens the store behind a source string: `oci-dir:PATH[:TAG|@DIGEST]`
/// (created when missing), `registry:HOST/REPO[:TAG|@DIGEST]` or a bare
/// reference. Archives and directories cannot hold artifacts.
pub fn open_target(spec: &str, opts: &StoreOptions) -> Result<Target, StoreError> {
    match SourceSpec::parse(spec)? {
        SourceSpec::OciDir { path, selector } => {
            let store = OciLayoutStore::open_or_create(&path)?;
            let (reference, name) = match selector {
                LayoutSelector::Tag(t) => (Some(ManifestRef::tag(&t)?), Some(t)),
                LayoutSelector::Digest(d) => {
                    let name = store.ref_name(&d)?;
                    (Some(ManifestRef::Digest(d)), name)
                }
                LayoutSelector::Only => match store.only_image()? {
                    Some(d) => {
                        let name = store.ref_name(&d)?;
                        (Some(ManifestRef::Digest(d)), name)
                    }
                    None => (None, None),
                },
            };
            Ok(Target {
                store: Box::new(store),
                reference,
                name,
            })
        }
        SourceSpec::Registry { reference } => {
            let name = crate::reference::parse(&reference).ok().map(|r| r.whole());
            let (store, named) = RegistryStore::open_reference(&reference, opts)?;
            Ok(Target {
                store: Box::new(store),
                reference: Some(named),
                name,
            })
        }
        other => Err(StoreError::Unsupported(format!(
            "{spec}: {} cannot hold artifacts; use oci-dir:PATH or a registry",
            match other {
                SourceSpec::OciArchive { .. } => "an oci-archive",
                SourceSpec::DockerArchive { .. } => "a docker-archive",
                SourceSpec::Containerd { .. } => "a containerd content store",
                _ => "a directory",
            }
        ))),
    }
}

/// Opens just the store of a source string (see [`open_target`]).
pub fn open_store(spec: &str, opts: &StoreOptions) -> Result<Box<dyn ArtifactStore>, StoreError> {
    Ok(open_target(spec, opts)?.store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_refs() {
        assert_eq!(
            "v1.0".parse::<ManifestRef>().unwrap(),
            ManifestRef::Tag("v1.0".into())
        );
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            d.parse::<ManifestRef>().unwrap(),
            ManifestRef::Digest(d.parse().unwrap())
        );
        assert!("-bad".parse::<ManifestRef>().is_err());
        assert!("a/b".parse::<ManifestRef>().is_err());
        assert!("x".repeat(129).parse::<ManifestRef>().is_err());
        assert!("x".repeat(128).parse::<ManifestRef>().is_ok());
        assert!("sha256:zz".parse::<ManifestRef>().is_err());
    }

    #[test]
    fn empty_descriptor_constants_agree() {
        assert_eq!(Digest::sha256_of(EMPTY_JSON).to_string(), EMPTY_JSON_DIGEST);
        use base64::Engine as _;
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(EMPTY_JSON),
            "e30="
        );
    }

    #[test]
    fn artifact_manifest_shape() {
        let subject = Descriptor {
            annotations: [("x".to_string(), "y".to_string())].into(),
            ..Descriptor::new(MEDIA_OCI_MANIFEST, Digest::sha256_of(b"img"), 3)
        };
        let blob = ArtifactBlob::new("application/spdx+json", b"{}".to_vec()).titled("sbom.json");
        let bytes = artifact_manifest(
            Some(&subject),
            "application/spdx+json",
            &[blob.descriptor()],
            &BTreeMap::new(),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["mediaType"], MEDIA_OCI_MANIFEST);
        assert_eq!(v["artifactType"], "application/spdx+json");
        assert_eq!(v["config"]["mediaType"], MEDIA_EMPTY_JSON);
        assert_eq!(v["config"]["size"], 2);
        assert_eq!(v["subject"]["digest"], subject.digest.to_string());
        assert!(
            v["subject"].get("annotations").is_none(),
            "subject is plain"
        );
        assert_eq!(v["layers"][0]["annotations"][ANNOTATION_TITLE], "sbom.json");
        assert!(v.get("annotations").is_none());
        assert!(artifact_manifest(Some(&subject), "", &[], &BTreeMap::new()).is_err());
    }

    #[test]
    fn manifest_checks() {
        assert!(check_manifest(br#"{"schemaVersion":2}"#, MEDIA_OCI_MANIFEST).is_ok());
        assert!(check_manifest(b"not json", MEDIA_OCI_MANIFEST).is_err());
        assert!(check_manifest(b"{}", "text/plain").is_err());
        let wrong = format!(r#"{{"mediaType":"{MEDIA_OCI_INDEX}"}}"#);
        assert!(check_manifest(wrong.as_bytes(), MEDIA_OCI_MANIFEST).is_err());
    }
}
