//! Image archives: `oci-archive:` (an OCI layout in a tar) and
//! `docker-archive:` (`docker save`). Nothing is extracted: the tar is indexed
//! once (entry → offset, size) and blobs are read in place, each reader with
//! its own file handle so layers can stream in parallel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use stella_model::{Digest, ImageInfo};

use crate::image::{
    config_platform, layer_table, BlobSource, LayerDescriptor, OpenOptions, ResolvedImage,
};
use crate::layout::{open_layout, LayoutFiles};
use crate::oci::{ImageConfig, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES};
use crate::source::LayoutSelector;
use crate::verify::{read_verified, VerifyingReader};
use crate::StoreError;

/// Archives with more entries than this are refused (a layout has a handful).
const MAX_ARCHIVE_ENTRIES: usize = 1_000_000;

enum Entry {
    File { offset: u64, size: u64 },
    Link(String),
}

/// Where each member of a plain tar archive lives.
pub(crate) struct TarIndex {
    path: PathBuf,
    entries: HashMap<String, Entry>,
}

fn normalize(name: &str) -> String {
    name.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

impl TarIndex {
    pub(crate) fn build(path: &Path) -> Result<TarIndex, StoreError> {
        let mut file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(|e| StoreError::io(path, e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(StoreError::Unsupported(format!(
                "{} is a compressed archive; decompress it first (image archives are plain tar)",
                path.display()
            )));
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| StoreError::io(path, e))?;
        let what = || format!("archive {}", path.display());
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut entries = HashMap::new();
        for entry in archive
            .entries_with_seek()
            .map_err(|e| StoreError::malformed(what(), e))?
        {
            let entry = entry.map_err(|e| StoreError::malformed(what(), e))?;
            if entries.len() >= MAX_ARCHIVE_ENTRIES {
                return Err(StoreError::malformed(what(), "too many entries"));
            }
            let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            if kind.is_file() {
                entries.insert(
                    name,
                    Entry::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            } else if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let resolved = if kind.is_hard_link() {
                    normalize(&target)
                } else {
                    resolve_relative(&name, &target)
                };
                entries.insert(name, Entry::Link(resolved));
            }
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            entries,
        })
    }

    fn locate(&self, rel: &str) -> Option<(u64, u64)> {
        let mut name = rel.to_string();
        for _ in 0..8 {
            match self.entries.get(&name)? {
                Entry::File { offset, size } => return Some((*offset, *size)),
                Entry::Link(target) => name = target.clone(),
            }
        }
        None
    }
}

/// Resolves a symlink target relative to the link's directory, staying inside the archive.
fn resolve_relative(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        link.split('/').collect()
    };
    if !target.starts_with('/') {
        parts.pop();
    }
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

impl LayoutFiles for TarIndex {
    fn open(&self, rel: &str) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        let Some((offset, size)) = self.locate(rel) else {
            return Ok(None);
        };
        let mut f = File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| StoreError::io(&self.path, e))?;
        Ok(Some(Box::new(
            BufReader::with_capacity(256 * 1024, f).take(size),
        )))
    }

    fn location(&self) -> String {
        format!("archive {}", self.path.display())
    }
}

pub(crate) fn open_oci_archive(
    path: &Path,
    selector: &LayoutSelector,
    opts: &OpenOptions,
) -> Result<ResolvedImage, StoreError> {
    open_layout(Arc::new(TarIndex::build(path)?), selector, opts)
}

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Reads `docker save` output through its `manifest.json`.
pub(crate) fn open_docker_archive(path: &Path) -> Result<ResolvedImage, StoreError> {
    let index = Arc::new(TarIndex::build(path)?);
    let location = index.location();
    let read_member = |rel: &str, limit: u64| -> Result<Vec<u8>, StoreError> {
        let mut r = index
            .open(rel)?
            .ok_or_else(|| StoreError::malformed(&location, format!("{rel} is missing")))?
            .take(limit + 1);
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .map_err(|e| StoreError::io(path, e))?;
        if buf.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                what: format!("{rel} in {location}"),
                size: buf.len() as u64,
                limit,
            });
        }
        Ok(buf)
    };
    let manifest_bytes = read_member("manifest.json", MAX_MANIFEST_BYTES)?;
    let entries: Vec<DockerManifestEntry> = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| StoreError::malformed(format!("manifest.json in {location}"), e))?;
    let entry = match entries.as_slice() {
        [one] => one,
        [] => {
            return Err(StoreError::malformed(
                &location,
                "manifest.json lists no images",
            ))
        }
        _ => {
            return Err(StoreError::Unsupported(format!(
                "{location} holds {} images; save one image per archive",
                entries.len()
            )))
        }
    };
    let config_raw = read_member(&entry.config, MAX_CONFIG_BYTES)?;
    let config_digest = Digest::sha256_of(&config_raw);
    // The config's file name is its digest in both docker save layouts; check it.
    let named_hex = entry
        .config
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".json");
    if named_hex.len() == 64 && named_hex != config_digest.hex() {
        return Err(StoreError::DigestMismatch {
            what: format!("config {} in {location}", entry.config),
            expected: format!("sha256:{named_hex}")
                .parse()
                .map_err(|e| StoreError::malformed(&location, e))?,
            actual: config_digest,
        });
    }
    let config: ImageConfig = serde_json::from_slice(&config_raw)
        .map_err(|e| StoreError::malformed(format!("config {} in {location}", entry.config), e))?;
    let mut blobs = Vec::new();
    let mut members = HashMap::new();
    for (i, member) in entry.layers.iter().enumerate() {
        let size = index.locate(member).map(|(_, s)| s).ok_or_else(|| {
            StoreError::malformed(&location, format!("layer {member} is missing"))
        })?;
        // `blobs/sha256/<hex>` members are named by their digest; legacy
        // `<id>/layer.tar` members are uncompressed, so their digest is the diffID.
        let digest = match member.strip_prefix("blobs/sha256/") {
            Some(hex) => format!("sha256:{hex}")
                .parse()
                .map_err(|e| StoreError::malformed(format!("layer {member} in {location}"), e))?,
            None => config.rootfs.diff_ids.get(i).cloned().ok_or_else(|| {
                StoreError::malformed(&location, "fewer diff_ids than layers in the config")
            })?,
        };
        members.insert(digest.clone(), member.clone());
        blobs.push((
            digest,
            "application/vnd.docker.image.rootfs.diff.tar".to_string(),
            Some(size),
        ));
    }
    let layers = layer_table(blobs, &config, &location)?;
    // Docker ≥ 25 also writes an OCI index; its manifest digest names the image.
    let manifest_digest = docker_manifest_digest(&index, &location)?;
    let info = ImageInfo {
        source: String::new(),
        name: entry.repo_tags.as_ref().and_then(|t| t.first().cloned()),
        manifest_digest,
        config_digest: Some(config_digest),
        platform: config_platform(&config),
        created: config.created.clone(),
    };
    Ok(ResolvedImage {
        info,
        config,
        layers,
        blobs: Box::new(ArchiveBlobs { index, members }),
    })
}

fn docker_manifest_digest(index: &TarIndex, location: &str) -> Result<Option<Digest>, StoreError> {
    let Some(mut r) = index.open("index.json")? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    (&mut r)
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut buf)
        .map_err(|e| StoreError::malformed(format!("index.json in {location}"), e))?;
    let parsed: crate::oci::Index = serde_json::from_slice(&buf)
        .map_err(|e| StoreError::malformed(format!("index.json in {location}"), e))?;
    match parsed.manifests.as_slice() {
        [one] => {
            // Only trust it if the manifest is actually there with those bytes.
            let Some(blob) = index.open(&crate::layout::blob_path(&one.digest))? else {
                return Ok(None);
            };
            read_verified(
                blob,
                &one.digest,
                Some(one.size),
                MAX_MANIFEST_BYTES,
                &format!("manifest {} in {location}", one.digest),
            )?;
            Ok(Some(one.digest.clone()))
        }
        _ => Ok(None),
    }
}

struct ArchiveBlobs {
    index: Arc<TarIndex>,
    members: HashMap<Digest, String>,
}

impl BlobSource for ArchiveBlobs {
    fn open_layer(&self, layer: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        let missing = || StoreError::BlobNotFound {
            digest: layer.digest.clone(),
            location: self.index.location(),
        };
        let member = self.members.get(&layer.digest).ok_or_else(missing)?;
        let raw = self.index.open(member)?.ok_or_else(missing)?;
        Ok(Box::new(VerifyingReader::new(
            raw,
            layer.digest.clone(),
            layer.size,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_relative;

    #[test]
    fn relative_links_stay_inside() {
        assert_eq!(
            resolve_relative("a/b/layer.tar", "../c/layer.tar"),
            "a/c/layer.tar"
        );
        assert_eq!(
            resolve_relative("x/layer.tar", "../../../../etc/passwd"),
            "etc/passwd"
        );
        assert_eq!(resolve_relative("x/layer.tar", "/abs/file"), "abs/file");
    }
}
