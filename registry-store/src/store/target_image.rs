//! The image a [`Target`] names, resolved through its store: manifests and
//! config only, over the store's one connection (what `stella attach`
//! needs — it reads no layer, and a second client would cost a second
//! auth round and TLS setup).

use std::io::{Cursor, Read};

use stella_model::ImageInfo;

use super::{is_manifest_media_type, ManifestBytes, ManifestRef, Target};
use crate::image::{image_info, resolve_chain, LayerDescriptor};
use crate::oci::{Descriptor, ImageConfig};
use crate::{Platform, StoreError};

/// An image's facts as its manifests and config state them.
#[derive(Debug, Clone)]
pub struct TargetImage {
    /// As `stella scan` reports it for the same source.
    pub info: ImageInfo,
    pub config: ImageConfig,
    pub layers: Vec<LayerDescriptor>,
    /// The platform's image manifest: what referrers attach to.
    pub manifest: Descriptor,
    /// What the reference names (an index or that manifest), as stored.
    pub top: ManifestBytes,
}

impl Target {
    /// Resolves the target's reference to `platform`'s image manifest and
    /// config, every document digest-checked.
    pub fn image(&self, platform: &Platform, source_text: &str) -> Result<TargetImage, StoreError> {
        let reference = self.named()?;
        let store = self.store.as_ref();
        let location = store.location();
        let top = store.get_manifest(reference)?;
        let fetch = |d: &Descriptor, limit: u64| -> Result<Box<dyn Read + Send>, StoreError> {
            let bytes = if is_manifest_media_type(&d.media_type) {
                store
                    .get_manifest(&ManifestRef::Digest(d.digest.clone()))?
                    .bytes
            } else {
                store.get_blob(&d.digest, limit)?
            };
            Ok(Box::new(Cursor::new(bytes)))
        };
        let resolved = resolve_chain(
            top.bytes.clone(),
            top.digest.clone(),
            platform,
            &location,
            &fetch,
        )?;
        let manifest = if resolved.manifest_digest == top.digest {
            top.descriptor().plain()
        } else if let Some(entry) = index_entry(&top.bytes, &resolved.manifest_digest) {
            entry
        } else {
            // Nested indexes: ask the store for the manifest's descriptor.
            store
                .resolve(&ManifestRef::Digest(resolved.manifest_digest.clone()))?
                .plain()
        };
        let mut info = image_info(&resolved, self.name.clone());
        info.source = source_text.to_string();
        Ok(TargetImage {
            info,
            config: resolved.config,
            layers: resolved.layers,
            manifest,
            top,
        })
    }
}

/// The descriptor an index holds for `digest`, if it is an index that does.
fn index_entry(index: &[u8], digest: &stella_model::Digest) -> Option<Descriptor> {
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Descriptor>,
    }
    let index: Index = serde_json::from_slice(index).ok()?;
    index
        .manifests
        .iter()
        .find(|d| &d.digest == digest)
        .map(Descriptor::plain)
}
