//! Building the DB from sources, and pushing it as one OCI artifact.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use stella_model::{Digest, ADVISORY_SCHEMA};
use stella_registry_store::oci::{Descriptor, ANNOTATION_TITLE, MEDIA_OCI_MANIFEST};
use stella_registry_store::ArtifactStore;

use super::classify::classify;
use super::metadata::{FeedMetadata, ShardEntry, SourceEntry, METADATA_SCHEMA_VERSION};
use super::shard::{self, PlainShard};
use super::source::{ImportedSource, SourceSpec};
use super::{DbError, ARTIFACT_TYPE, CONFIG_MEDIA_TYPE, SHARD_MEDIA_TYPE};
use crate::connector::Quarantined;

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Sources imported and shards compressed at once. The output does
    /// not depend on it.
    pub threads: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One compressed shard and its table entry.
#[derive(Debug, Clone)]
pub struct ShardBlob {
    pub entry: ShardEntry,
    pub data: Vec<u8>,
}

/// The DB, ready to push.
#[derive(Debug, Clone)]
pub struct BuiltDb {
    pub metadata: FeedMetadata,
    /// `metadata` serialized: the config blob.
    pub config: Vec<u8>,
    /// In [`FeedMetadata::shards`] order.
    pub shards: Vec<ShardBlob>,
    /// Every quarantined document, by source name.
    pub quarantined: Vec<(String, Quarantined)>,
}

/// Imports every source and builds the shards. Source names must be
/// distinct (they name the shards).
pub fn build(sources: &[SourceSpec], opts: &BuildOptions) -> Result<BuiltDb, DbError> {
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(DbError::BadSource {
            input: w[0].to_string(),
            reason: "two sources have this name; give each its own directory name".into(),
        });
    }
    let threads = opts.threads.max(1);
    let mut imported: Vec<ImportedSource> = par_map(sources, threads, SourceSpec::import)
        .into_iter()
        .collect::<Result<_, _>>()?;
    imported.sort_by(|a, b| a.name.cmp(&b.name));

    let mut plain: Vec<PlainShard> = Vec::new();
    for source in &imported {
        plain.extend(shard::split(&source.name, &source.import.advisories)?);
    }
    shard::assign_names(&mut plain);
    plain.sort_by(|a, b| a.name.cmp(&b.name));
    let compressed = par_map(&plain, threads, |s| shard::compress(&s.jsonl))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;

    let shards: Vec<ShardBlob> = plain
        .into_iter()
        .zip(compressed)
        .map(|(s, data)| ShardBlob {
            entry: ShardEntry {
                digest: Digest::sha256_of(&data).to_string(),
                size: data.len() as u64,
                content_digest: Digest::sha256_of(&s.jsonl).to_string(),
                content_size: s.jsonl.len() as u64,
                name: s.name,
                source: s.source,
                family: s.family,
                advisories: s.advisories,
                packages: s.packages,
            },
            data,
        })
        .collect();
    let metadata = FeedMetadata {
        schema_version: METADATA_SCHEMA_VERSION,
        advisory_schema: ADVISORY_SCHEMA.to_string(),
        sources: imported
            .iter()
            .map(|s| {
                let info = classify(s.kind, &s.name, &s.import.advisories);
                SourceEntry {
                    name: s.name.clone(),
                    kind: s.kind.to_string(),
                    input_digest: s.input_digest.clone(),
                    advisories: s.import.advisories.len(),
                    quarantined: s.import.quarantined.len(),
                    ignored: s.import.ignored,
                    class: Some(info.class),
                    ecosystems: info.ecosystems,
                }
            })
            .collect(),
        shards: shards.iter().map(|s| s.entry.clone()).collect(),
    };
    let quarantined = imported
        .into_iter()
        .flat_map(|s| {
            let name = s.name;
            s.import
                .quarantined
                .into_iter()
                .map(move |q| (name.clone(), q))
        })
        .collect();
    Ok(BuiltDb {
        config: metadata.to_bytes()?,
        metadata,
        shards,
        quarantined,
    })
}

/// `f` over `items` on up to `threads` threads; results in input order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// The image manifest: artifactType, the metadata as config, one layer
/// per shard. Field order fixed by this struct.
#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    #[serde(rename = "artifactType")]
    artifact_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

impl BuiltDb {
    pub fn config_descriptor(&self) -> Descriptor {
        Descriptor::new(
            CONFIG_MEDIA_TYPE,
            Digest::sha256_of(&self.config),
            self.config.len() as u64,
        )
    }

    /// Layer descriptors, titled with the shard names.
    pub fn layer_descriptors(&self) -> Result<Vec<Descriptor>, DbError> {
        self.shards
            .iter()
            .map(|s| {
                let digest: Digest =
                    s.entry.digest.parse().map_err(|e| {
                        DbError::Encode(format!("shard {} digest: {e}", s.entry.name))
                    })?;
                let mut d = Descriptor::new(SHARD_MEDIA_TYPE, digest, s.entry.size);
                d.annotations = BTreeMap::from([(ANNOTATION_TITLE.into(), s.entry.name.clone())]);
                Ok(d)
            })
            .collect()
    }

    /// The manifest's exact bytes.
    pub fn manifest(&self) -> Result<Vec<u8>, DbError> {
        let manifest = Manifest {
            schema_version: 2,
            media_type: MEDIA_OCI_MANIFEST,
            artifact_type: ARTIFACT_TYPE,
            config: self.config_descriptor(),
            layers: self.layer_descriptors()?,
        };
        serde_json::to_vec(&manifest).map_err(|e| DbError::Encode(format!("manifest: {e}")))
    }
}

/// A blob of the artifact, as the push report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedBlob {
    /// The shard name, or `config`.
    pub name: String,
    pub digest: String,
    pub size: u64,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    pub location: String,
    pub tag: String,
    pub manifest_digest: String,
    pub manifest_size: u64,
    /// Blobs (layers and config) the store did not have: sent.
    pub uploaded: Vec<PushedBlob>,
    /// Blobs it had already: not sent.
    pub reused: Vec<PushedBlob>,
}

impl PushReport {
    pub fn uploaded_bytes(&self) -> u64 {
        self.uploaded.iter().map(|b| b.size).sum()
    }

    /// Uploaded shard layers (the config not counted).
    pub fn uploaded_layers(&self) -> usize {
        self.uploaded.iter().filter(|b| b.name != "config").count()
    }
}

/// Pushes the DB to `store` as `tag`: layers, config, then the manifest.
/// A blob the store already has is not sent (the store's own check), and
/// the report says which were sent.
pub fn push(store: &dyn ArtifactStore, db: &BuiltDb, tag: &str) -> Result<PushReport, DbError> {
    let manifest = db.manifest()?;
    let mut uploaded = Vec::new();
    let mut reused = Vec::new();
    let blobs = db
        .shards
        .iter()
        .map(|s| (s.entry.name.as_str(), s.data.as_slice()))
        .chain(std::iter::once(("config", db.config.as_slice())));
    for (name, data) in blobs {
        let digest = Digest::sha256_of(data);
        let entry = PushedBlob {
            name: name.to_string(),
            digest: digest.to_string(),
            size: data.len() as u64,
        };
        // Asked first only to report it: put_blob skips existing blobs itself
        // (and a layout store replaces a damaged one).
        let had = store.blob_exists(&digest)?;
        store.put_blob(&digest, data)?;
        if had {
            reused.push(entry);
        } else {
            uploaded.push(entry);
        }
    }
    let descriptor = store.put_manifest(&manifest, MEDIA_OCI_MANIFEST, Some(tag))?;
    Ok(PushReport {
        location: store.location(),
        tag: tag.to_string(),
        manifest_digest: descriptor.digest.to_string(),
        manifest_size: descriptor.size,
        uploaded,
        reused,
    })
}
