//! The whole DB merged into memory, for a process that matches many times.
//!
//! [`FeedDb`] parses and merges a package's advisories when a matcher asks
//! for them: right for `stella scan`, which matches one image and exits.
//! A long-lived matcher (an admission service answering image after image)
//! pays that per request; [`FeedDb::load`] pays it once, for every key, and
//! [`LoadedFeeds`] then hands out the same merged advisories without
//! parsing or copying. Built from [`FeedDb::lookup_merged`] itself, so a
//! loaded DB answers exactly what the lazy one does.

use std::collections::HashMap;
use std::sync::Arc;

use stella_model::{Advisory, Digest};

use super::{DbError, FeedDb};
use crate::merge::package_key;

/// One key's merged advisories, or why they could not be read.
type Merged = Result<Vec<Advisory>, DbError>;

/// Every key's merged advisories, in memory.
#[derive(Debug)]
pub struct LoadedFeeds {
    /// ecosystem → name (as the index keys it) → merged advisories.
    by_key: HashMap<String, HashMap<String, Arc<[Advisory]>>>,
    ecosystems: Vec<String>,
    keys: usize,
    manifest_digest: Digest,
}

impl FeedDb {
    /// Merges every key of the DB into memory with `threads` threads (0:
    /// all cores). The handle's settings apply ([`FeedDb::without_details`]).
    /// The first failing key (in key order) fails the load.
    pub fn load(&self, threads: usize) -> Result<LoadedFeeds, DbError> {
        let keys = self.keys();
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
        .clamp(1, keys.len().max(1));
        // Interleaved, so every thread meets large and small ecosystems.
        let merged: Vec<Vec<(usize, Merged)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let keys = &keys;
                    scope.spawn(move || {
                        (t..keys.len())
                            .step_by(threads)
                            .map(|i| (i, self.lookup_merged(&keys[i].0, &keys[i].1)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .collect()
        });
        let mut results: Vec<Option<Merged>> = (0..keys.len()).map(|_| None).collect();
        for (i, result) in merged.into_iter().flatten() {
            results[i] = Some(result);
        }
        let mut by_key: HashMap<String, HashMap<String, Arc<[Advisory]>>> = HashMap::new();
        for ((ecosystem, name), result) in keys.into_iter().zip(results) {
            let Some(result) = result else {
                // A worker that panicked returned nothing for its keys.
                return Err(DbError::BadCache {
                    path: self.dir().to_path_buf(),
                    reason: format!("loading ({ecosystem}, {name}) failed"),
                });
            };
            by_key
                .entry(ecosystem)
                .or_default()
                .insert(name, result?.into());
        }
        let keys = by_key.values().map(HashMap::len).sum();
        Ok(LoadedFeeds {
            by_key,
            ecosystems: self.ecosystems(),
            keys,
            manifest_digest: self.manifest_digest().clone(),
        })
    }
}

impl LoadedFeeds {
    /// What [`FeedDb::lookup_merged`] answers for the key, shared.
    pub fn lookup_merged(&self, ecosystem: &str, name: &str) -> Arc<[Advisory]> {
        let (_, name) = package_key(ecosystem, name);
        self.by_key
            .get(ecosystem)
            .and_then(|names| names.get(&name))
            .cloned()
            .unwrap_or_else(|| Arc::new([]))
    }

    /// Every ecosystem string some key names, sorted.
    pub fn ecosystems(&self) -> &[String] {
        &self.ecosystems
    }

    /// Number of (ecosystem, name) keys loaded.
    pub fn key_count(&self) -> usize {
        self.keys
    }

    /// The manifest digest of the DB it was loaded from.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }
}
