//! `stella feeds pull`: the artifact into a local cache, only what is not
//! there yet, every blob digest-checked, the DB installed atomically.
//!
//! ```text
//! CACHE/blobs/sha256/HEX          verified blobs (layers, config)
//! CACHE/db/MANIFEST-HEX/          one unpacked DB (see `index`)
//! CACHE/current                   `sha256:MANIFEST-HEX` of the DB in use
//! ```
//!
//! A DB directory is built under a temporary name and renamed into place,
//! and `current` is replaced by a rename, so a reader sees the old DB or
//! the new one, never a mix; a failed pull leaves the old one in use.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stella_model::Digest;
use stella_registry_store::oci::{Descriptor, ANNOTATION_TITLE, MEDIA_OCI_MANIFEST};
use stella_registry_store::{ArtifactStore, ManifestRef};

use super::index::{
    build_index, FeedDb, CURRENT_FILE, DB_DIR, INDEX_FILE, MANIFEST_FILE, METADATA_FILE,
    PARTS_FILE, RECORDS_FILE,
};
use super::metadata::{FeedMetadata, MAX_METADATA_BYTES};
use super::shard::decompress;
use super::{DbError, PushedBlob, ARTIFACT_TYPE, CONFIG_MEDIA_TYPE, SHARD_MEDIA_TYPE};

/// A shard layer bigger than this (compressed or not) is refused.
pub const MAX_SHARD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// `$XDG_CACHE_HOME/stella/feeds`, else `~/.cache/stella/feeds`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("stella").join("feeds"))
}

/// What a pull did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub manifest_digest: String,
    /// Blobs fetched from the store.
    pub downloaded: Vec<PushedBlob>,
    /// Blobs already in the cache (and intact).
    pub cached: Vec<PushedBlob>,
    /// The DB directory now in use.
    pub db_dir: PathBuf,
    pub advisories: usize,
    pub keys: usize,
}

impl PullReport {
    pub fn downloaded_bytes(&self) -> u64 {
        self.downloaded.iter().map(|b| b.size).sum()
    }
}

#[derive(Deserialize)]
struct FeedsManifest {
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Pulls the feeds artifact `reference` of `store` into `cache` and makes
/// it the DB [`FeedDb::open`] opens.
pub fn pull(
    store: &dyn ArtifactStore,
    reference: &ManifestRef,
    cache: &Path,
) -> Result<PullReport, DbError> {
    let manifest = store.get_manifest(reference)?;
    let mdigest = manifest.digest.to_string();
    let not_feeds = |reason: String| DbError::NotFeeds {
        what: format!("manifest {mdigest} in {}", store.location()),
        reason,
    };
    if manifest.media_type != MEDIA_OCI_MANIFEST {
        return Err(not_feeds(format!("media type {}", manifest.media_type)));
    }
    let parsed: FeedsManifest = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| DbError::bad_blob(&mdigest, format!("malformed manifest: {e}")))?;
    if parsed.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        return Err(not_feeds(format!(
            "artifactType {:?}, expected {ARTIFACT_TYPE}",
            parsed.artifact_type.unwrap_or_default()
        )));
    }
    if parsed.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(not_feeds(format!(
            "config media type {:?}",
            parsed.config.media_type
        )));
    }
    if let Some(l) = parsed
        .layers
        .iter()
        .find(|l| l.media_type != SHARD_MEDIA_TYPE)
    {
        return Err(not_feeds(format!(
            "layer {} has media type {:?}",
            l.digest, l.media_type
        )));
    }

    let blobs = Blobs::new(cache)?;
    let mut downloaded = Vec::new();
    let mut cached = Vec::new();
    let mut fetch = |d: &Descriptor, name: &str, limit: u64| -> Result<Vec<u8>, DbError> {
        let (data, was_cached) = blobs.get(store, d, limit)?;
        let entry = PushedBlob {
            name: name.to_string(),
            digest: d.digest.to_string(),
            size: d.size,
        };
        if was_cached {
            cached.push(entry);
        } else {
            downloaded.push(entry);
        }
        Ok(data)
    };
    let config = fetch(&parsed.config, "config", MAX_METADATA_BYTES)?;
    let cdigest = parsed.config.digest.to_string();
    let metadata = FeedMetadata::parse(&cdigest, &config)?;
    check_shard_table(&cdigest, &metadata, &parsed.layers)?;
    let mut layers = Vec::with_capacity(parsed.layers.len());
    for (layer, shard) in parsed.layers.iter().zip(&metadata.shards) {
        layers.push(fetch(layer, &shard.name, MAX_SHARD_BYTES)?);
    }

    let db_root = cache.join(DB_DIR);
    let hex = manifest.digest.hex().to_string();
    let db_dir = db_root.join(&hex);
    let db = match FeedDb::open_dir(&db_dir) {
        Ok(db) => db,
        Err(_) => {
            install(
                &db_root,
                &db_dir,
                &manifest.bytes,
                &config,
                &metadata,
                &layers,
            )?;
            FeedDb::open_dir(&db_dir)?
        }
    };
    write_atomic(
        cache,
        &cache.join(CURRENT_FILE),
        format!("{mdigest}\n").as_bytes(),
    )?;
    // Older DBs are no longer named by `current`; open handles keep theirs.
    if let Ok(entries) = fs::read_dir(&db_root) {
        for entry in entries.flatten() {
            if entry.file_name() != hex.as_str() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(PullReport {
        manifest_digest: mdigest,
        downloaded,
        cached,
        db_dir,
        advisories: metadata.shards.iter().map(|s| s.advisories).sum(),
        keys: db.key_count(),
    })
}

/// The config's shard table and the manifest's layers must agree one to
/// one: digest, size, title.
fn check_shard_table(
    config_digest: &str,
    metadata: &FeedMetadata,
    layers: &[Descriptor],
) -> Result<(), DbError> {
    if metadata.shards.len() != layers.len() {
        return Err(DbError::bad_blob(
            config_digest,
            format!(
                "the shard table lists {} shards, the manifest has {} layers",
                metadata.shards.len(),
                layers.len()
            ),
        ));
    }
    for (shard, layer) in metadata.shards.iter().zip(layers) {
        let title = layer.annotations.get(ANNOTATION_TITLE);
        if shard.digest != layer.digest.to_string()
            || shard.size != layer.size
            || title != Some(&shard.name)
        {
            return Err(DbError::bad_blob(
                config_digest,
                format!(
                    "shard {} ({} bytes, {}) does not match layer {} ({} bytes, title {:?})",
                    shard.name, shard.size, shard.digest, layer.digest, layer.size, title
                ),
            ));
        }
    }
    Ok(())
}

/// Unpacks the shards and writes the index into a temporary directory,
/// then renames it to `db_dir`.
fn install(
    db_root: &Path,
    db_dir: &Path,
    manifest: &[u8],
    config: &[u8],
    metadata: &FeedMetadata,
    layers: &[Vec<u8>],
) -> Result<(), DbError> {
    let mut records = Vec::new();
    for (shard, data) in metadata.shards.iter().zip(layers) {
        let plain = decompress(&shard.digest, data, shard.content_size)?;
        let got = Digest::sha256_of(&plain).to_string();
        if plain.len() as u64 != shard.content_size || got != shard.content_digest {
            return Err(DbError::bad_blob(
                &shard.digest,
                format!(
                    "shard {} unpacks to {} bytes with digest {got}; the metadata says {} bytes, {}",
                    shard.name,
                    plain.len(),
                    shard.content_size,
                    shard.content_digest
                ),
            ));
        }
        if !plain.is_empty() && !plain.ends_with(b"\n") {
            return Err(DbError::bad_blob(
                &shard.digest,
                "last record has no newline",
            ));
        }
        let lines = plain.iter().filter(|&&b| b == b'\n').count();
        if lines != shard.advisories {
            return Err(DbError::bad_blob(
                &shard.digest,
                format!(
                    "shard {} holds {lines} records, the metadata says {}",
                    shard.name, shard.advisories
                ),
            ));
        }
        records.extend_from_slice(&plain);
    }
    let (index, parts) = build_index("feeds records", &records)?;

    fs::create_dir_all(db_root).map_err(|e| DbError::io(db_root, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(db_root)
        .map_err(|e| DbError::io(db_root, e))?;
    for (name, bytes) in [
        (MANIFEST_FILE, manifest),
        (METADATA_FILE, config),
        (RECORDS_FILE, records.as_slice()),
        (PARTS_FILE, parts.as_slice()),
        (INDEX_FILE, index.as_slice()),
    ] {
        let path = tmp.path().join(name);
        let mut f = fs::File::create(&path).map_err(|e| DbError::io(&path, e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| DbError::io(&path, e))?;
    }
    let tmp_path = tmp.keep();
    if let Err(e) = fs::rename(&tmp_path, db_dir) {
        let _ = fs::remove_dir_all(&tmp_path);
        // Another pull of the same artifact may have won the race.
        if FeedDb::open_dir(db_dir).is_err() {
            return Err(DbError::io(db_dir, e));
        }
    }
    Ok(())
}

/// The cache's blob directory.
struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    fn new(cache: &Path) -> Result<Blobs, DbError> {
        let dir = cache.join("blobs").join("sha256");
        fs::create_dir_all(&dir).map_err(|e| DbError::io(&dir, e))?;
        Ok(Blobs { dir })
    }

    /// The blob `d`, from the cache when it is there and intact, else from
    /// the store (verified, then cached). `true`: it was cached.
    fn get(
        &self,
        store: &dyn ArtifactStore,
        d: &Descriptor,
        limit: u64,
    ) -> Result<(Vec<u8>, bool), DbError> {
        if d.size > limit {
            return Err(DbError::bad_blob(
                &d.digest,
                format!("{} bytes, over the {limit}-byte limit", d.size),
            ));
        }
        if d.digest.algorithm().as_str() != "sha256" {
            return Err(DbError::bad_blob(&d.digest, "not a sha256 digest"));
        }
        let path = self.dir.join(d.digest.hex());
        if let Ok(data) = fs::read(&path) {
            if data.len() as u64 == d.size && Digest::sha256_of(&data) == d.digest {
                return Ok((data, true));
            }
        }
        let data = store.get_blob(&d.digest, limit)?;
        if data.len() as u64 != d.size {
            return Err(DbError::bad_blob(
                &d.digest,
                format!("{} bytes, its descriptor says {}", data.len(), d.size),
            ));
        }
        if Digest::sha256_of(&data) != d.digest {
            return Err(DbError::bad_blob(
                &d.digest,
                "content does not match its digest",
            ));
        }
        write_atomic(&self.dir, &path, &data)?;
        Ok((data, false))
    }
}

/// Writes `path` through a temporary file in `dir` and a rename.
fn write_atomic(dir: &Path, path: &Path, data: &[u8]) -> Result<(), DbError> {
    fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DbError::io(dir, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| DbError::io(path, e))?;
    tmp.persist(path).map_err(|e| DbError::io(path, e.error))?;
    Ok(())
}
