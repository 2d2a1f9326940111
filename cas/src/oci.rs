//! Fragments kept as OCI artifacts in any artifact store — a registry
//! repository shared by CI runners (`--cas registry:HOST/REPO`) or an OCI
//! layout. Each fragment is one artifact: an image-spec 1.1 manifest
//! (`artifactType` [`FRAGMENT_ARTIFACT_TYPE`], empty config, one layer holding
//! the fragment bytes) tagged `cas-<key hex>`.
//!
//! Integrity comes from the store: the tag resolves to a manifest that is
//! digest-checked, and the layer blob is checked against the digest that
//! manifest names, so a registry that serves wrong bytes is caught. A
//! fragment under the wrong tag (a registry that lies about tags) is caught
//! by an annotation naming the key, checked on read.

use std::collections::BTreeMap;

use stella_model::{Digest, DigestAlgorithm};
use stella_registry_store::oci::Descriptor;
use stella_registry_store::{
    artifact_manifest, ArtifactBlob, ArtifactStore, ManifestRef, StoreError,
};

use crate::{CasError, FragmentStore};

/// artifactType of a cached fragment.
pub const FRAGMENT_ARTIFACT_TYPE: &str = "application/vnd.stellaops.cas.fragment.v1";
/// Media type of the fragment layer (opaque bytes, versioned by the caller's key).
const FRAGMENT_MEDIA_TYPE: &str = "application/vnd.stellaops.cas.fragment.v1+octet-stream";
/// Annotation holding the key the fragment was stored under.
const ANNOTATION_KEY: &str = "dev.stellaops.cas.key";
/// Fragments larger than this are neither stored nor read.
const MAX_FRAGMENT_BYTES: u64 = 256 << 20;

/// A [`FragmentStore`] on an [`ArtifactStore`].
pub struct OciFragmentStore {
    store: Box<dyn ArtifactStore>,
}

impl OciFragmentStore {
    pub fn new(store: Box<dyn ArtifactStore>) -> OciFragmentStore {
        OciFragmentStore { store }
    }

    fn remote(&self, key: &Digest, e: StoreError) -> CasError {
        CasError::Remote {
            location: self.store.location(),
            key: key.clone(),
            message: e.to_string(),
        }
    }
}

fn tag_of(key: &Digest) -> Result<String, CasError> {
    if key.algorithm() != DigestAlgorithm::Sha256 {
        return Err(CasError::UnsupportedKey(key.clone()));
    }
    Ok(format!("cas-{}", key.hex()))
}

#[derive(serde::Deserialize)]
struct FragmentManifest {
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl FragmentStore for OciFragmentStore {
    fn get(&self, key: &Digest) -> Result<Option<Vec<u8>>, CasError> {
        let tag = tag_of(key)?;
        let reference = ManifestRef::tag(&tag).map_err(|e| self.remote(key, e))?;
        let manifest = match self.store.get_manifest(&reference) {
            Ok(m) => m,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.remote(key, e)),
        };
        let corrupt = |reason: String| CasError::Corrupt {
            key: key.clone(),
            path: format!("{}:{tag}", self.store.location()).into(),
            reason,
        };
        let parsed: FragmentManifest = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| corrupt(format!("unreadable manifest: {e}")))?;
        if parsed.artifact_type.as_deref() != Some(FRAGMENT_ARTIFACT_TYPE) {
            return Err(corrupt(format!(
                "artifactType {:?} is not a fragment",
                parsed.artifact_type
            )));
        }
        if parsed.annotations.get(ANNOTATION_KEY) != Some(&key.to_string()) {
            return Err(corrupt("stored under another key".to_string()));
        }
        let [layer] = parsed.layers.as_slice() else {
            return Err(corrupt(format!(
                "{} layers, expected one",
                parsed.layers.len()
            )));
        };
        if layer.size > MAX_FRAGMENT_BYTES {
            return Err(corrupt(format!("fragment of {} bytes", layer.size)));
        }
        let data = self
            .store
            .get_blob(&layer.digest, MAX_FRAGMENT_BYTES)
            .map_err(|e| self.remote(key, e))?;
        if data.len() as u64 != layer.size {
            return Err(corrupt(format!(
                "{} bytes, the manifest says {}",
                data.len(),
                layer.size
            )));
        }
        Ok(Some(data))
    }

    fn put(&self, key: &Digest, fragment: &[u8]) -> Result<(), CasError> {
        let tag = tag_of(key)?;
        if fragment.len() as u64 > MAX_FRAGMENT_BYTES {
            return Ok(());
        }
        let blob = ArtifactBlob::new(FRAGMENT_MEDIA_TYPE, fragment.to_vec());
        let layer = blob.descriptor();
        let annotations = BTreeMap::from([(ANNOTATION_KEY.to_string(), key.to_string())]);
        let bytes = artifact_manifest_without_subject(&layer, &annotations)
            .map_err(|e| self.remote(key, e))?;
        let empty: Digest = stella_registry_store::oci::EMPTY_JSON_DIGEST
            .parse()
            .map_err(|_| CasError::UnsupportedKey(key.clone()))?;
        self.store
            .put_blob(&empty, stella_registry_store::oci::EMPTY_JSON)
            .and_then(|()| self.store.put_blob(&layer.digest, &blob.data))
            .and_then(|()| {
                self.store.put_manifest(
                    &bytes,
                    stella_registry_store::oci::MEDIA_OCI_MANIFEST,
                    Some(&tag),
                )
            })
            .map_err(|e| self.remote(key, e))?;
        Ok(())
    }

    /// Registries own deletion (and garbage collection); a stale fragment is
    /// harmless because its key names everything it depends on.
    fn remove(&self, _key: &Digest) -> Result<(), CasError> {
        Ok(())
    }
}

/// An artifact manifest with no subject: a fragment belongs to no image.
fn artifact_manifest_without_subject(
    layer: &Descriptor,
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>, StoreError> {
    artifact_manifest(
        None,
        FRAGMENT_ARTIFACT_TYPE,
        std::slice::from_ref(layer),
        annotations,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_registry_store::OciLayoutStore;

    fn store(dir: &std::path::Path) -> OciFragmentStore {
        OciFragmentStore::new(Box::new(OciLayoutStore::open_or_create(dir).unwrap()))
    }

    #[test]
    fn round_trip_and_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cas = store(dir.path());
        let key = Digest::sha256_of(b"layer key");
        assert_eq!(cas.get(&key).unwrap(), None);
        cas.put(&key, b"fragment bytes").unwrap();
        assert_eq!(
            cas.get(&key).unwrap().as_deref(),
            Some(&b"fragment bytes"[..])
        );
        // Another key misses.
        assert_eq!(cas.get(&Digest::sha256_of(b"other")).unwrap(), None);
    }

    /// A store that serves another key's fragment under this key's tag
    /// (a registry that lies about tags) is caught by the key annotation.
    #[test]
    fn fragment_under_the_wrong_tag_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cas = store(dir.path());
        let (a, b) = (Digest::sha256_of(b"a"), Digest::sha256_of(b"b"));
        cas.put(&a, b"fragment of a").unwrap();
        let layout = OciLayoutStore::open(dir.path()).unwrap();
        let manifest = layout
            .get_manifest(&ManifestRef::tag(&tag_of(&a).unwrap()).unwrap())
            .unwrap();
        layout
            .put_manifest(
                &manifest.bytes,
                &manifest.media_type,
                Some(&tag_of(&b).unwrap()),
            )
            .unwrap();
        let err = cas.get(&b).unwrap_err();
        assert!(matches!(err, CasError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("another key"), "{err}");
        // Not a fragment at all (an image manifest under a cas- tag).
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let c = Digest::sha256_of(b"c");
        layout
            .put_manifest(
                image,
                "application/vnd.oci.image.manifest.v1+json",
                Some(&tag_of(&c).unwrap()),
            )
            .unwrap();
        let err = cas.get(&c).unwrap_err();
        assert!(err.to_string().contains("not a fragment"), "{err}");
    }
}
