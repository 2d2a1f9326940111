//! OCI image layout (image-spec `image-layout.md`) reading, over a directory
//! or over a tar archive of one.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stella_model::Digest;

use crate::image::{
    image_info, resolve_chain, BlobSource, LayerDescriptor, OpenOptions, ResolvedImage,
};
use crate::oci::{Index, MAX_MANIFEST_BYTES};
use crate::source::LayoutSelector;
use crate::verify::{read_verified, VerifyingReader};
use crate::StoreError;

use crate::oci::ANNOTATION_REF_NAME as REF_NAME;

/// Read access to the files of a layout, wherever they live.
pub(crate) trait LayoutFiles: Send + Sync {
    /// Opens a file by its path inside the layout; `Ok(None)` when absent.
    fn open(&self, rel: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError>;
    /// Human name of the layout for messages.
    fn location(&self) -> String;
}

pub(crate) struct DirFiles {
    root: PathBuf,
}

impl LayoutFiles for DirFiles {
    fn open(&self, rel: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        let path = self.root.join(rel);
        match File::open(&path) {
            Ok(f) => Ok(Some(Box::new(BufReader::with_capacity(256 * 1024, f)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    fn location(&self) -> String {
        format!("OCI layout {}", self.root.display())
    }
}

pub(crate) fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
}

fn open_blob(files: &dyn LayoutFiles, digest: &Digest) -> Result<Box<dyn Read + Send>, StoreError> {
    files
        .open(&blob_path(digest))?
        .ok_or_else(|| StoreError::BlobNotFound {
            digest: digest.clone(),
            location: files.location(),
        })
}

/// Layer blobs straight from the layout.
struct LayoutBlobs {
    files: Arc<dyn LayoutFiles>,
}

impl BlobSource for LayoutBlobs {
    fn open_layer(&self, layer: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let raw = open_blob(self.files.as_ref(), &layer.digest)?;
        Ok(Box::new(VerifyingReader::new(
            raw,
            layer.digest.clone(),
            layer.size,
        )))
    }
}

pub(crate) fn open_oci_dir(
    path: &Path,
    selector: &LayoutSelector,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    if !meta.is_dir() {
        return Err(StoreError::BadSource {
            input: path.display().to_string(),
            reason: "oci-dir: needs a directory holding an OCI image layout".into(),
        });
    }
    open_layout(
        Arc::new(DirFiles {
            root: path.to_path_buf(),
        }),
        selector,
        opts,
    )
}

pub(crate) fn open_layout(
    files: Arc<dyn LayoutFiles>,
    selector: &LayoutSelector,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    let location = files.location();
    let layout_marker = files.open("oci-layout")?;
    if layout_marker.is_none() {
        return Err(StoreError::malformed(
            &location,
            "no oci-layout file: not an OCI image layout",
        ));
    }
    let index_bytes = {
        let mut r = files
            .open("index.json")?
            .ok_or_else(|| StoreError::malformed(&location, "no index.json"))?
            .take(MAX_MANIFEST_BYTES + 1);
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .map_err(|e| StoreError::malformed(format!("index.json of {location}"), e))?;
        if buf.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(StoreError::TooLarge {
                what: format!("index.json of {location}"),
                size: buf.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        buf
    };
    let index: Index = serde_json::from_slice(&index_bytes)
        .map_err(|e| StoreError::malformed(format!("index.json of {location}"), e))?;
    let index = match selector {
        // Artifacts attached to the image (SBOMs, signatures) are entries of
        // index.json too; "the only image" means the only non-referrer.
        LayoutSelector::Only if index.manifests.len() > 1 => {
            without_referrers(files.as_ref(), index)?
        }
        _ => index,
    };
    let entry = select_entry(&index, selector, &location)?;
    let name = entry.annotations.get(REF_NAME).cloned();
    let root = read_verified(
        open_blob(files.as_ref(), &entry.digest)?,
        &entry.digest,
        Some(entry.size),
        MAX_MANIFEST_BYTES,
        &format!("manifest {} in {location}", entry.digest),
    )?;
    let fetch_files = files.clone();
    let fetch =
        move |d: &crate::oci::Descriptor, _limit: u64| open_blob(fetch_files.as_ref(), &d.digest);
    let resolved = resolve_chain(
        root,
        entry.digest.clone(),
        &opts.platform,
        &location,
        &fetch,
    )?;
    Ok(ResolvedImage {
        info: image_info(&resolved, name),
        config: resolved.config,
        layers: resolved.layers,
        blobs: Box::new(LayoutBlobs { files }),
    })
}

/// `index` without the entries that are referrers: those carrying an
/// `artifactType`, or whose manifest has a `subject`.
fn without_referrers(files: &dyn LayoutFiles, mut index: Index) -> Result<Index, StoreError> {
    #[derive(serde::Deserialize)]
    struct Subject {
        #[serde(default)]
        subject: Option<serde_json::Value>,
    }
    let location = files.location();
    let mut kept = Vec::with_capacity(index.manifests.len());
    for entry in index.manifests {
        if entry.artifact_type.is_some() {
            continue;
        }
        let bytes = read_verified(
            open_blob(files, &entry.digest)?,
            &entry.digest,
            Some(entry.size),
            MAX_MANIFEST_BYTES,
            &format!("manifest {} in {location}", entry.digest),
        )?;
        let has_subject = serde_json::from_slice::<Subject>(&bytes)
            .map(|s| s.subject.is_some())
            .unwrap_or(false);
        if !has_subject {
            kept.push(entry);
        }
    }
    index.manifests = kept;
    Ok(index)
}

fn select_entry<'a>(
    index: &'a Index,
    selector: &LayoutSelector,
    location: &str,
) -> Result<&'a crate::oci::Descriptor, StoreError> {
    let not_found = |what: &'static str, reference: String| StoreError::NotFound {
        what,
        reference,
        location: location.to_string(),
    };
    match selector {
        LayoutSelector::Digest(d) => index
            .manifests
            .iter()
            .find(|m| &m.digest == d)
            .ok_or_else(|| not_found("manifest", d.to_string())),
        LayoutSelector::Tag(tag) => index
            .manifests
            .iter()
            .find(|m| m.annotations.get(REF_NAME) == Some(tag))
            .ok_or_else(|| not_found("tag", tag.clone())),
        LayoutSelector::Only => match index.manifests.as_slice() {
            [only] => Ok(only),
            [] => Err(StoreError::malformed(
                location,
                "index.json lists no manifests",
            )),
            many => {
                let mut tags: Vec<&str> = many
                    .iter()
                    .filter_map(|m| m.annotations.get(REF_NAME).map(String::as_str))
                    .collect();
                tags.sort();
                Err(StoreError::BadSource {
                    input: location.to_string(),
                    reason: format!(
                        "{} manifests in index.json; pick one with :TAG or @DIGEST (tags: {})",
                        many.len(),
                        if tags.is_empty() {
                            "none".to_string()
                        } else {
                            tags.join(", ")
                        }
                    ),
                })
            }
        },
    }
}
