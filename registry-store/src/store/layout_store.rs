//! The OCI image layout backend of the artifact store (image-spec
//! `image-layout.md`): `oci-layout`, `index.json` and `blobs/ALG/HEX` in one
//! directory, readable by every OCI tool (oras, skopeo, umoci).
//!
//! Writes are atomic: a blob is written to a temporary file next to its
//! final place, verified, synced and renamed; `index.json` is rewritten the
//! same way, under an exclusive `flock` on `index.json.lock`, so concurrent
//! processes never lose each other's entries. Readers take no lock: they
//! see the old or the new `index.json`, never half of one.
//!
//! Tags are `org.opencontainers.image.ref.name` annotations of `index.json`
//! entries. Every manifest put here gets an entry (untagged when it has no
//! tag, with its `artifactType`), as oras' layout store does; referrers are
//! found by reading the manifests `index.json` lists and keeping those whose
//! `subject` is the digest asked about.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use stella_model::Digest;

use super::{
    filter_artifact_type, sort_referrers, ArtifactStore, ManifestBytes, ManifestFacts, ManifestRef,
};
use crate::layout::blob_path;
use crate::oci::{
    Descriptor, ANNOTATION_REF_NAME, MAX_MANIFEST_BYTES, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use crate::verify::{read_verified, VerifyingReader};
use crate::StoreError;

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = "index.json.lock";

/// An OCI image layout directory used as an artifact store.
#[derive(Debug, Clone)]
pub struct OciLayoutStore {
    root: PathBuf,
}

impl OciLayoutStore {
    /// Opens an existing layout.
    pub fn open(path: &Path) -> Result<OciLayoutStore, StoreError> {
        let store = OciLayoutStore {
            root: path.to_path_buf(),
        };
        if !path.join(LAYOUT_FILE).is_file() {
            return Err(StoreError::malformed(
                store.location(),
                "no oci-layout file: not an OCI image layout",
            ));
        }
        store.read_index()?;
        Ok(store)
    }

    /// Opens a layout, making an empty one when `path` does not exist or is
    /// an empty directory.
    pub fn open_or_create(path: &Path) -> Result<OciLayoutStore, StoreError> {
        let store = OciLayoutStore {
            root: path.to_path_buf(),
        };
        if path.join(LAYOUT_FILE).is_file() {
            return OciLayoutStore::open(path);
        }
        if path.exists() {
            let mut entries = fs::read_dir(path).map_err(|e| StoreError::io(path, e))?;
            if !path.is_dir() || entries.next().is_some() {
                return Err(StoreError::BadSource {
                    input: path.display().to_string(),
                    reason: "exists and is not an OCI image layout (no oci-layout file); \
                             refusing to write into it"
                        .into(),
                });
            }
        }
        fs::create_dir_all(path.join("blobs")).map_err(|e| StoreError::io(path, e))?;
        // Two processes creating the same layout: the lock orders them, the
        // second finds index.json there and leaves it alone.
        let _lock = store.lock()?;
        if !path.join(INDEX_FILE).exists() {
            let empty = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_OCI_INDEX,
                "manifests": []
            });
            store.write_atomic(&path.join(INDEX_FILE), &to_json(&empty)?)?;
        }
        store.write_atomic(&path.join(LAYOUT_FILE), LAYOUT_CONTENT)?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The digest of the one image (not a referrer) `index.json` lists, if
    /// there is exactly one.
    pub fn only_image(&self) -> Result<Option<Digest>, StoreError> {
        let mut images = BTreeSet::new();
        for entry in self.entries()? {
            if entry.artifact_type.is_some() {
                continue;
            }
            if self.read_facts(&entry)?.subject.is_some() {
                continue;
            }
            images.insert(entry.digest.to_string());
        }
        match images.len() {
            1 => Ok(images.into_iter().next().and_then(|d| d.parse().ok())),
            _ => Ok(None),
        }
    }

    /// The `org.opencontainers.image.ref.name` of the first index entry
    /// for `digest` (the entry an `oci-dir:PATH@DIGEST` source reads).
    pub fn ref_name(&self, digest: &Digest) -> Result<Option<String>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|e| &e.digest == digest)
            .and_then(|mut e| e.annotations.remove(ANNOTATION_REF_NAME)))
    }

    fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    /// `index.json` as JSON, bounded.
    fn read_index(&self) -> Result<Value, StoreError> {
        let path = self.index_path();
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io(&path, e))?;
        let what = format!("index.json of {}", self.location());
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(StoreError::TooLarge {
                what,
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::malformed(&what, e))?;
        if !value.get("manifests").is_some_and(Value::is_array) {
            return Err(StoreError::malformed(what, "no manifests array"));
        }
        Ok(value)
    }

    /// The descriptors `index.json` lists.
    fn entries(&self) -> Result<Vec<Descriptor>, StoreError> {
        let index = self.read_index()?;
        descriptors(&index, &format!("index.json of {}", self.location()))
    }

    /// Takes the index lock (released when the returned file is dropped).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| StoreError::io(&path, e.into()))?;
        Ok(file)
    }

    /// Reads, changes and atomically rewrites `index.json` under the lock.
    fn update_index(
        &self,
        change: impl FnOnce(&mut Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let what = format!("index.json of {}", self.location());
        let Some(manifests) = index.get_mut("manifests").and_then(Value::as_array_mut) else {
            return Err(StoreError::malformed(what, "no manifests array"));
        };
        let before = manifests.clone();
        change(manifests)?;
        if *manifests == before {
            return Ok(());
        }
        let bytes = to_json(&index)?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(StoreError::TooLarge {
                what,
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        self.write_atomic(&self.index_path(), &bytes)
    }

    /// Writes `bytes` to `path` through a synced temporary file in the same
    /// directory and a rename, so readers never see a partial file.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(|e| StoreError::io(dir, e))?;
        tmp.write_all(bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        tmp.persist(path)
            .map_err(|e| StoreError::io(path, e.error))?;
        Ok(())
    }

    fn blob_file(&self, digest: &Digest) -> PathBuf {
        self.root.join(blob_path(digest))
    }

    fn open_blob_file(&self, digest: &Digest) -> Result<Option<File>, StoreError> {
        let path = self.blob_file(digest);
        match File::open(&path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    /// A manifest's bytes by digest, verified; `None` when absent.
    fn read_manifest_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(file) = self.open_blob_file(digest)? else {
            return Ok(None);
        };
        read_verified(
            BufReader::new(file),
            digest,
            size,
            MAX_MANIFEST_BYTES,
            &format!("manifest {digest} in {}", self.location()),
        )
        .map(Some)
    }

    /// Does the stored blob hash to its name?
    fn is_intact(&self, digest: &Digest) -> Result<bool, StoreError> {
        let Some(file) = self.open_blob_file(digest)? else {
            return Ok(false);
        };
        let mut reader = VerifyingReader::new(
            BufReader::with_capacity(256 * 1024, file),
            digest.clone(),
            None,
        );
        Ok(std::io::copy(&mut reader, &mut std::io::sink()).is_ok())
    }

    fn read_facts(&self, entry: &Descriptor) -> Result<ManifestFacts, StoreError> {
        if !is_manifest_type(&entry.media_type) && !entry.media_type.is_empty() {
            return Ok(ManifestFacts::default());
        }
        let bytes = self
            .read_manifest_blob(&entry.digest, Some(entry.size))?
            .ok_or_else(|| StoreError::BlobNotFound {
                digest: entry.digest.clone(),
                location: format!("{} (listed in index.json)", self.location()),
            })?;
        Ok(ManifestFacts::parse(&bytes))
    }
}

impl OciLayoutStore {
    /// Refuses a manifest whose config, layers or child manifests are not
    /// stored (as registries do); foreign layers (with `urls`) and the
    /// `subject` need not be.
    fn check_references(&self, bytes: &[u8], digest: &Digest) -> Result<(), StoreError> {
        #[derive(serde::Deserialize)]
        struct Referenced {
            #[serde(default)]
            config: Option<Value>,
            #[serde(default)]
            layers: Vec<Value>,
            #[serde(default)]
            manifests: Vec<Value>,
        }
        let what = format!("manifest {digest} for {}", self.location());
        let refs: Referenced =
            serde_json::from_slice(bytes).map_err(|e| StoreError::malformed(&what, e))?;
        for d in refs
            .config
            .iter()
            .chain(&refs.layers)
            .chain(&refs.manifests)
        {
            if d.get("urls")
                .is_some_and(|u| u.as_array().is_some_and(|a| !a.is_empty()))
            {
                continue;
            }
            let text = d.get("digest").and_then(Value::as_str).unwrap_or_default();
            let wanted: Digest = text.parse().map_err(|e| {
                StoreError::malformed(&what, format!("descriptor digest {text:?}: {e}"))
            })?;
            if !self.blob_file(&wanted).is_file() {
                return Err(StoreError::BlobNotFound {
                    digest: wanted,
                    location: format!("{} (referenced by {what})", self.location()),
                });
            }
        }
        Ok(())
    }
}

fn is_manifest_type(media_type: &str) -> bool {
    [
        MEDIA_OCI_MANIFEST,
        MEDIA_OCI_INDEX,
        MEDIA_DOCKER_MANIFEST,
        MEDIA_DOCKER_LIST,
    ]
    .contains(&media_type)
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value)
        .map_err(|e| StoreError::malformed("index.json", format!("cannot serialize: {e}")))
}

fn descriptors(index: &Value, what: &str) -> Result<Vec<Descriptor>, StoreError> {
    let list = index
        .get("manifests")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(list).map_err(|e| StoreError::malformed(what, e))
}

fn ref_name(entry: &Value) -> Option<&str> {
    entry
        .get("annotations")
        .and_then(|a| a.get(ANNOTATION_REF_NAME))
        .and_then(Value::as_str)
}

fn digest_of_entry(entry: &Value) -> Option<&str> {
    entry.get("digest").and_then(Value::as_str)
}

/// The media type of manifest bytes not listed in `index.json`: their own
/// `mediaType`, else their shape; `None` when they are no manifest.
fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    if let Some(m) = value.get("mediaType").and_then(Value::as_str) {
        return is_manifest_type(m).then(|| m.to_string());
    }
    if value.get("manifests").is_some() {
        Some(MEDIA_OCI_INDEX.to_string())
    } else if value.get("config").is_some() && value.get("schemaVersion").is_some() {
        Some(MEDIA_OCI_MANIFEST.to_string())
    } else {
        None
    }
}

impl ArtifactStore for OciLayoutStore {
    fn location(&self) -> String {
        format!("OCI layout {}", self.root.display())
    }

    fn blob_exists(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.open_blob_file(digest)?.is_some())
    }

    fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let file = self
            .open_blob_file(digest)?
            .ok_or_else(|| StoreError::BlobNotFound {
                digest: digest.clone(),
                location: self.location(),
            })?;
        read_verified(
            BufReader::new(file),
            digest,
            None,
            limit,
            &format!("blob {digest} in {}", self.location()),
        )
    }

    fn open_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let file =
            self.open_blob_file(&descriptor.digest)?
                .ok_or_else(|| StoreError::BlobNotFound {
                    digest: descriptor.digest.clone(),
                    location: self.location(),
                })?;
        Ok(Box::new(VerifyingReader::new(
            BufReader::with_capacity(256 * 1024, file),
            descriptor.digest.clone(),
            Some(descriptor.size),
        )))
    }

    fn put_blob(&self, expected: &Digest, data: &[u8]) -> Result<(), StoreError> {
        super::check_blob_to_store(&self.location(), expected, data)?;
        let path = self.blob_file(expected);
        // A blob already there is kept when it is intact, else replaced.
        if fs::metadata(&path).is_ok_and(|m| m.len() == data.len() as u64)
            && self.is_intact(expected)?
        {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        self.write_atomic(&path, data)
    }

    fn get_manifest(&self, reference: &ManifestRef) -> Result<ManifestBytes, StoreError> {
        let not_found = || StoreError::NotFound {
            what: "manifest",
            reference: reference.to_string(),
            location: self.location(),
        };
        let entries = self.entries()?;
        let (digest, size, listed_type) = match reference {
            ManifestRef::Tag(tag) => {
                let entry = entries
                    .iter()
                    .find(|e| e.annotations.get(ANNOTATION_REF_NAME) == Some(tag))
                    .ok_or_else(not_found)?;
                (
                    entry.digest.clone(),
                    Some(entry.size),
                    Some(entry.media_type.clone()),
                )
            }
            ManifestRef::Digest(d) => {
                let entry = entries.iter().find(|e| &e.digest == d);
                (
                    d.clone(),
                    entry.map(|e| e.size),
                    entry.map(|e| e.media_type.clone()),
                )
            }
        };
        let bytes = self
            .read_manifest_blob(&digest, size)?
            .ok_or_else(not_found)?;
        let media_type = listed_type
            .filter(|m| is_manifest_type(m))
            .or_else(|| sniff_media_type(&bytes))
            .ok_or_else(not_found)?;
        Ok(ManifestBytes {
            digest,
            media_type,
            bytes,
        })
    }

    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError> {
        let manifest = ManifestBytes::to_put(bytes, media_type, tag)?;
        self.check_references(bytes, &manifest.digest)?;
        self.put_blob(&manifest.digest, bytes)?;
        let described = manifest.descriptor();
        let mut entry = described.plain();
        entry.artifact_type = described.artifact_type.clone();
        let digest_text = manifest.digest.to_string();
        let entry_value =
            serde_json::to_value(&entry).map_err(|e| StoreError::malformed("index entry", e))?;
        self.update_index(|manifests| {
            match tag {
                None => {
                    if !manifests
                        .iter()
                        .any(|m| digest_of_entry(m) == Some(digest_text.as_str()))
                    {
                        manifests.push(entry_value);
                    }
                }
                Some(tag) => {
                    // The tag moves here; what it named stays reachable untagged.
                    let mut kept = Vec::with_capacity(manifests.len() + 1);
                    for mut m in manifests.drain(..) {
                        let same_digest = digest_of_entry(&m) == Some(digest_text.as_str());
                        if ref_name(&m) == Some(tag) {
                            if !same_digest {
                                if let Some(a) =
                                    m.get_mut("annotations").and_then(Value::as_object_mut)
                                {
                                    a.remove(ANNOTATION_REF_NAME);
                                    if a.is_empty() {
                                        m.as_object_mut().map(|o| o.remove("annotations"));
                                    }
                                }
                                kept.push(m);
                            }
                        } else if same_digest && ref_name(&m).is_none() {
                            // Replaced by the tagged entry below.
                        } else {
                            kept.push(m);
                        }
                    }
                    // Drop untagged duplicates left behind by the move.
                    let mut seen_untagged = BTreeSet::new();
                    kept.retain(|m| {
                        ref_name(m).is_some()
                            || digest_of_entry(m)
                                .is_none_or(|d| seen_untagged.insert(d.to_string()))
                    });
                    let mut tagged = entry_value;
                    tagged["annotations"] = serde_json::json!({ ANNOTATION_REF_NAME: tag });
                    kept.push(tagged);
                    *manifests = kept;
                }
            }
            Ok(())
        })?;
        Ok(described)
    }

    fn tags(&self) -> Result<Vec<String>, StoreError> {
        let mut tags: Vec<String> = self
            .entries()?
            .into_iter()
            .filter_map(|e| e.annotations.get(ANNOTATION_REF_NAME).cloned())
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        let mut seen = BTreeSet::new();
        let mut found = Vec::new();
        for entry in self.entries()? {
            if &entry.digest == subject || !seen.insert(entry.digest.to_string()) {
                continue;
            }
            let facts = self.read_facts(&entry)?;
            if facts.subject.as_ref().map(|s| &s.digest) != Some(subject) {
                continue;
            }
            found.push(facts.referrer_descriptor(&entry.media_type, entry.digest, entry.size));
        }
        Ok(sort_referrers(filter_artifact_type(found, artifact_type)))
    }
}
