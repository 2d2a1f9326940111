//! The pulled DB on disk, and lookups in it.
//!
//! A DB directory holds `advisories.jsonl` (every shard's JSON Lines, in
//! shard order) and `index.bin`, a sorted key table:
//!
//! ```text
//! magic "STELLA-FEEDS-IX1" (16 bytes)
//! u64 keys, u64 postings, u64 string bytes          (little endian)
//! keys × { u32 string offset, u32 ecosystem length, u32 name length,
//!          u32 first posting, u32 posting count }    sorted by (ecosystem, name)
//! postings × { u64 record offset, u32 record length }
//! strings (ecosystem bytes then name bytes, per key)
//! ```
//!
//! [`FeedDb::open`] reads the index in one read and checks every bound
//! once; a lookup is a binary search and one positioned read per
//! advisory, parsed only then.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use stella_model::{Advisory, Digest};

use super::metadata::FeedMetadata;
use super::DbError;
use crate::merge::{merge, package_key, MergeOptions, SourceClass, SourceInfo};
use stella_model::AffectedPackage;

/// IX3: PyPI names keyed PEP 503-normalized (IX2 keyed them as spelled).
const MAGIC: &[u8; 16] = b"STELLA-FEEDS-IX3";
const HEADER: usize = 16 + 3 * 8;
const KEY_SIZE: usize = 20;
const POSTING_SIZE: usize = 36;
/// Parsed advisory heads kept per open DB (a few KiB each).
const MAX_CACHED_HEADS: usize = 1 << 16;

pub(crate) const RECORDS_FILE: &str = "advisories.jsonl";
pub(crate) const PARTS_FILE: &str = "parts.jsonl";
pub(crate) const INDEX_FILE: &str = "index.bin";
pub(crate) const METADATA_FILE: &str = "metadata.json";
pub(crate) const MANIFEST_FILE: &str = "manifest.json";
/// Names the DB directory in use (a manifest digest).
/// The cache file naming the DB in use (`sha256:MANIFEST-HEX`).
pub const CURRENT_FILE: &str = "current";
pub(crate) const DB_DIR: &str = "db";

/// One posting: where the record is, whole and split.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Posting {
    record: (u64, u32),
    head: (u64, u32),
    entry: (u64, u32),
}

/// Builds `index.bin` and `parts.jsonl` over `records` (JSON Lines of
/// advisories); `what` names the data in errors.
pub(crate) fn build_index(what: &str, records: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DbError> {
    let mut entries: Vec<(String, String, Posting)> = Vec::new();
    let mut parts: Vec<u8> = Vec::new();
    let mut offset = 0usize;
    for line in records.split_inclusive(|&b| b == b'\n') {
        let at =
            |reason: String| DbError::bad_blob(what, format!("record at byte {offset}: {reason}"));
        let mut advisory: Advisory =
            serde_json::from_slice(line).map_err(|e| at(format!("not an advisory: {e}")))?;
        if advisory.id.is_empty() {
            return Err(at("empty id".into()));
        }
        let too_long = || at("too long".into());
        let record = (
            offset as u64,
            u32::try_from(line.len()).map_err(|_| too_long())?,
        );
        let affected = std::mem::take(&mut advisory.affected);
        let mut put = |bytes: Vec<u8>| -> Result<(u64, u32), DbError> {
            let span = (
                parts.len() as u64,
                u32::try_from(bytes.len()).map_err(|_| too_long())?,
            );
            parts.extend_from_slice(&bytes);
            parts.push(b'\n');
            Ok(span)
        };
        let head = put(serde_json::to_vec(&advisory).map_err(|e| at(e.to_string()))?)?;
        for a in &affected {
            let entry = put(serde_json::to_vec(a).map_err(|e| at(e.to_string()))?)?;
            entries.push((
                a.ecosystem.clone(),
                package_key(&a.ecosystem, &a.name).1,
                Posting {
                    record,
                    head,
                    entry,
                },
            ));
        }
        offset += line.len();
    }
    entries.sort();
    Ok((encode(what, &entries)?, parts))
}

fn encode(what: &str, entries: &[(String, String, Posting)]) -> Result<Vec<u8>, DbError> {
    let too_big = || DbError::bad_blob(what, "too large for the index format");
    let mut keys: Vec<u8> = Vec::new();
    let mut postings: Vec<u8> = Vec::with_capacity(entries.len() * POSTING_SIZE);
    let mut strings: Vec<u8> = Vec::new();
    let mut n_keys = 0u64;
    let mut i = 0;
    while i < entries.len() {
        let (eco, name) = (&entries[i].0, &entries[i].1);
        let first = i;
        while i < entries.len() && (&entries[i].0, &entries[i].1) == (eco, name) {
            let p = entries[i].2;
            for (off, len) in [p.record, p.head, p.entry] {
                postings.extend_from_slice(&off.to_le_bytes());
                postings.extend_from_slice(&len.to_le_bytes());
            }
            i += 1;
        }
        let fields = [
            u32::try_from(strings.len()).map_err(|_| too_big())?,
            u32::try_from(eco.len()).map_err(|_| too_big())?,
            u32::try_from(name.len()).map_err(|_| too_big())?,
            u32::try_from(first).map_err(|_| too_big())?,
            u32::try_from(i - first).map_err(|_| too_big())?,
        ];
        for f in fields {
            keys.extend_from_slice(&f.to_le_bytes());
        }
        strings.extend_from_slice(eco.as_bytes());
        strings.extend_from_slice(name.as_bytes());
        n_keys += 1;
    }
    let mut out = Vec::with_capacity(HEADER + keys.len() + postings.len() + strings.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&n_keys.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    out.extend_from_slice(&(strings.len() as u64).to_le_bytes());
    out.extend_from_slice(&keys);
    out.extend_from_slice(&postings);
    out.extend_from_slice(&strings);
    Ok(out)
}

/// A pulled DB, ready for lookups.
pub struct FeedDb {
    dir: PathBuf,
    index: Vec<u8>,
    n_keys: usize,
    postings_at: usize,
    strings_at: usize,
    records: File,
    /// `parts.jsonl`, read whole at open: lookups then cost no system
    /// calls (tens of thousands of small reads cost more than one big one).
    parts: Vec<u8>,
    /// Advisory heads parsed so far, by offset: a distro advisory is
    /// shared by many binary packages of one source, and a matcher asks
    /// about all of them. Bounded by [`MAX_CACHED_HEADS`].
    heads: Mutex<HashMap<u64, Advisory>>,
    /// False after [`FeedDb::without_details`].
    keep_details: bool,
    metadata: FeedMetadata,
    /// sha256 of the artifact manifest the DB was unpacked from.
    manifest_digest: Digest,
}

impl std::fmt::Debug for FeedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedDb")
            .field("dir", &self.dir)
            .field("keys", &self.n_keys)
            .finish()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
}

/// One key record, decoded.
struct Key {
    string: usize,
    eco_len: usize,
    name_len: usize,
    first: usize,
    count: usize,
}

impl FeedDb {
    /// Opens the DB the cache directory's last pull installed.
    pub fn open(cache: &Path) -> Result<FeedDb, DbError> {
        let current = cache.join(CURRENT_FILE);
        let text = std::fs::read_to_string(&current).map_err(|e| DbError::BadCache {
            path: cache.to_path_buf(),
            reason: format!("no pulled feeds DB ({CURRENT_FILE}: {e}); run `stella feeds pull`"),
        })?;
        let hex = text
            .trim()
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| DbError::BadCache {
                path: current.clone(),
                reason: format!("not a manifest digest: {:?}", text.trim()),
            })?;
        FeedDb::open_dir(&cache.join(DB_DIR).join(hex))
    }

    /// Opens one DB directory.
    pub fn open_dir(dir: &Path) -> Result<FeedDb, DbError> {
        let bad = |reason: String| DbError::BadCache {
            path: dir.to_path_buf(),
            reason,
        };
        let index_path = dir.join(INDEX_FILE);
        let index = std::fs::read(&index_path).map_err(|e| DbError::io(&index_path, e))?;
        let meta_path = dir.join(METADATA_FILE);
        let meta_bytes = std::fs::read(&meta_path).map_err(|e| DbError::io(&meta_path, e))?;
        let metadata = FeedMetadata::parse(&meta_path.display().to_string(), &meta_bytes)?;
        let records_path = dir.join(RECORDS_FILE);
        let records = File::open(&records_path).map_err(|e| DbError::io(&records_path, e))?;
        let records_len = records
            .metadata()
            .map_err(|e| DbError::io(&records_path, e))?
            .len();
        let parts_path = dir.join(PARTS_FILE);
        let parts = std::fs::read(&parts_path).map_err(|e| DbError::io(&parts_path, e))?;
        let parts_len = parts.len() as u64;
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = std::fs::read(&manifest_path).map_err(|e| DbError::io(&manifest_path, e))?;
        let manifest_digest = Digest::sha256_of(&manifest);

        if index.get(..16) != Some(MAGIC.as_slice()) {
            return Err(bad(format!("{INDEX_FILE}: not a feeds index")));
        }
        let header = |at| u64_at(&index, at).and_then(|v| usize::try_from(v).ok());
        let (Some(n_keys), Some(n_postings), Some(n_strings)) =
            (header(16), header(24), header(32))
        else {
            return Err(bad(format!("{INDEX_FILE}: truncated header")));
        };
        let postings_at = n_keys
            .checked_mul(KEY_SIZE)
            .and_then(|k| k.checked_add(HEADER));
        let strings_at = postings_at.and_then(|p| {
            n_postings
                .checked_mul(POSTING_SIZE)
                .and_then(|q| q.checked_add(p))
        });
        let (Some(postings_at), Some(strings_at)) = (postings_at, strings_at) else {
            return Err(bad(format!("{INDEX_FILE}: sizes overflow")));
        };
        if strings_at.checked_add(n_strings) != Some(index.len()) {
            return Err(bad(format!(
                "{INDEX_FILE}: {} bytes, its header says otherwise",
                index.len()
            )));
        }
        let db = FeedDb {
            dir: dir.to_path_buf(),
            index,
            n_keys,
            postings_at,
            strings_at,
            records,
            parts,
            heads: Mutex::new(HashMap::new()),
            keep_details: true,
            metadata,
            manifest_digest,
        };
        // Every bound checked once, so lookups cannot go astray.
        let mut previous: Option<(&[u8], &[u8])> = None;
        for i in 0..n_keys {
            let k = db
                .key(i)
                .ok_or_else(|| bad(format!("{INDEX_FILE}: key {i} out of bounds")))?;
            let eco = db.string(k.string, k.eco_len);
            let name = db.string(k.string + k.eco_len, k.name_len);
            let (Some(eco), Some(name)) = (eco, name) else {
                return Err(bad(format!("{INDEX_FILE}: key {i} strings out of bounds")));
            };
            if previous.is_some_and(|p| p >= (eco, name)) {
                return Err(bad(format!("{INDEX_FILE}: keys not sorted at {i}")));
            }
            previous = Some((eco, name));
            if k.first
                .checked_add(k.count)
                .is_none_or(|end| end > n_postings)
            {
                return Err(bad(format!("{INDEX_FILE}: key {i} postings out of bounds")));
            }
            for p in k.first..k.first + k.count {
                let posting = db
                    .posting(p)
                    .ok_or_else(|| bad(format!("{INDEX_FILE}: posting {p} out of bounds")))?;
                let within = |(off, len): (u64, u32), size: u64| {
                    off.checked_add(len as u64).is_some_and(|end| end <= size)
                };
                if !within(posting.record, records_len)
                    || !within(posting.head, parts_len)
                    || !within(posting.entry, parts_len)
                {
                    return Err(bad(format!(
                        "{INDEX_FILE}: posting {p} points past the end of its file"
                    )));
                }
            }
        }
        Ok(db)
    }

    fn key(&self, i: usize) -> Option<Key> {
        let at = HEADER + i * KEY_SIZE;
        let f = |n: usize| u32_at(&self.index, at + 4 * n).map(|v| v as usize);
        Some(Key {
            string: f(0)?,
            eco_len: f(1)?,
            name_len: f(2)?,
            first: f(3)?,
            count: f(4)?,
        })
    }

    fn string(&self, at: usize, len: usize) -> Option<&[u8]> {
        let start = self.strings_at.checked_add(at)?;
        self.index.get(start..start.checked_add(len)?)
    }

    fn posting(&self, i: usize) -> Option<Posting> {
        let at = self.postings_at + i * POSTING_SIZE;
        let span = |n: usize| {
            Some((
                u64_at(&self.index, at + 12 * n)?,
                u32_at(&self.index, at + 12 * n + 8)?,
            ))
        };
        Some(Posting {
            record: span(0)?,
            head: span(1)?,
            entry: span(2)?,
        })
    }

    fn key_strings(&self, k: &Key) -> (&[u8], &[u8]) {
        (
            self.string(k.string, k.eco_len).unwrap_or_default(),
            self.string(k.string + k.eco_len, k.name_len)
                .unwrap_or_default(),
        )
    }

    /// The digest of the feeds artifact's manifest: the DB's revision, as
    /// a verdict records it.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }

    /// The DB directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the DB was built from.
    pub fn metadata(&self) -> &FeedMetadata {
        &self.metadata
    }

    /// Number of distinct (ecosystem, name) keys.
    pub fn key_count(&self) -> usize {
        self.n_keys
    }

    /// Every (ecosystem, name) key, sorted.
    pub fn keys(&self) -> Vec<(String, String)> {
        (0..self.n_keys)
            .filter_map(|i| self.key(i))
            .map(|k| {
                let (e, n) = self.key_strings(&k);
                (
                    String::from_utf8_lossy(e).into_owned(),
                    String::from_utf8_lossy(n).into_owned(),
                )
            })
            .collect()
    }

    /// Every ecosystem string some key names, sorted (what a matcher picks
    /// a distro release's ecosystem from: `Alpine:v3.19`, `Debian:12`).
    pub fn ecosystems(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in (0..self.n_keys).filter_map(|i| self.key(i)) {
            let (e, _) = self.key_strings(&k);
            // Keys are sorted by ecosystem first: compare with the last.
            if out.last().map(String::as_bytes) != Some(e) {
                out.push(String::from_utf8_lossy(e).into_owned());
            }
        }
        out
    }

    /// The key's postings, or none.
    fn find(&self, ecosystem: &str, name: &str) -> Vec<Posting> {
        let (_, name) = package_key(ecosystem, name);
        let wanted = (ecosystem.as_bytes(), name.as_bytes());
        let (mut lo, mut hi) = (0usize, self.n_keys);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let Some(k) = self.key(mid) else { break };
            match self.key_strings(&k).cmp(&wanted) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    return (k.first..k.first + k.count)
                        .filter_map(|p| self.posting(p))
                        .collect()
                }
            }
        }
        Vec::new()
    }

    /// The advisory without `affected` at `span`, parsed once.
    /// This handle's lookups leave out each advisory's `details` (the long
    /// description), which a matcher never reports: a third of a distro
    /// advisory's bytes, held once per advisory in the head cache. Merged
    /// records then carry no `details` decision either.
    pub fn without_details(mut self) -> FeedDb {
        self.keep_details = false;
        self
    }

    fn head(&self, span: (u64, u32)) -> Result<Advisory, DbError> {
        if let Some(a) = self.heads.lock().ok().and_then(|h| h.get(&span.0).cloned()) {
            return Ok(a);
        }
        let mut advisory: Advisory = self.part(span)?;
        if !self.keep_details {
            advisory.details = None;
        }
        if let Ok(mut heads) = self.heads.lock() {
            if heads.len() < MAX_CACHED_HEADS {
                heads.insert(span.0, advisory.clone());
            }
        }
        Ok(advisory)
    }

    /// A part of `parts.jsonl` (bounds checked at open).
    fn part<T: serde::de::DeserializeOwned>(
        &self,
        (offset, len): (u64, u32),
    ) -> Result<T, DbError> {
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|start| self.parts.get(start..start.checked_add(len as usize)?))
            .unwrap_or_default();
        sonic_rs::from_slice(bytes).map_err(|e| DbError::BadCache {
            path: self.dir.join(PARTS_FILE),
            reason: format!("record at byte {offset}: {e}"),
        })
    }

    fn read<T: serde::de::DeserializeOwned>(
        &self,
        file: &File,
        name: &str,
        (offset, len): (u64, u32),
        buf: &mut Vec<u8>,
    ) -> Result<T, DbError> {
        let path = || self.dir.join(name);
        buf.resize(len as usize, 0);
        file.read_exact_at(buf, offset)
            .map_err(|e| DbError::io(path(), e))?;
        serde_json::from_slice(buf).map_err(|e| DbError::BadCache {
            path: path(),
            reason: format!("record at byte {offset}: {e}"),
        })
    }

    /// The advisories about package `name` of `ecosystem` (the ecosystem
    /// exactly as the sources spell it: `PyPI`, `Debian:12`; the name too,
    /// except PyPI names, which are keyed PEP 503-normalized, so
    /// `GitPython` and `gitpython` are one key, `git_python` another), in shard order (by
    /// source, then id); empty when there are none. Each advisory is
    /// complete except `affected`, which holds only the entries for this
    /// package — what a matcher needs, and a distro advisory naming
    /// hundreds of packages is not parsed whole. [`FeedDb::lookup_full`]
    /// returns the records unabridged.
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        let mut out: Vec<Advisory> = Vec::new();
        let mut last_record = None;
        for p in self.find(ecosystem, name) {
            if last_record != Some(p.record) {
                out.push(self.head(p.head)?);
                last_record = Some(p.record);
            }
            let entry: AffectedPackage = self.part(p.entry)?;
            if let Some(advisory) = out.last_mut() {
                advisory.affected.push(entry);
            }
        }
        Ok(out)
    }

    /// [`FeedDb::lookup`], merged: the records of all sources about the
    /// package are grouped by alias closure and merged ([`crate::merge`]),
    /// each source ranked by the class the build recorded for it. A merged
    /// advisory's id is the group's CVE id when it has one; `affected`
    /// holds only this package's entries, each with the `sources` that
    /// state it; `decisions` say which source each field came from.
    pub fn lookup_merged(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        let records = self.lookup(ecosystem, name)?;
        if records.is_empty() {
            return Ok(records);
        }
        let mut by_source: BTreeMap<&str, Vec<Advisory>> = BTreeMap::new();
        for record in records {
            let source = record
                .provenance
                .first()
                .map(|p| p.source.clone())
                .unwrap_or_default();
            let key = self
                .metadata
                .sources
                .iter()
                .find(|s| s.name == source)
                .map_or("", |s| s.name.as_str());
            by_source.entry(key).or_default().push(record);
        }
        let sources = by_source
            .into_iter()
            .map(|(name, records)| (self.source_info(name), records))
            .collect();
        Ok(merge(sources, &MergeOptions::default()).advisories)
    }

    /// How the merge ranks the source `name` (unknown sources and DBs built
    /// before classes were recorded: `other`).
    fn source_info(&self, name: &str) -> SourceInfo {
        match self.metadata.sources.iter().find(|s| s.name == name) {
            Some(entry) => SourceInfo {
                name: entry.name.clone(),
                class: entry.class.unwrap_or(SourceClass::Other),
                ecosystems: entry.ecosystems.clone(),
            },
            None => SourceInfo::new(name, SourceClass::Other),
        }
    }

    /// [`FeedDb::lookup`] with every advisory whole (all its packages).
    pub fn lookup_full(&self, ecosystem: &str, name: &str) -> Result<Vec<Advisory>, DbError> {
        let mut records: Vec<(u64, u32)> = self
            .find(ecosystem, name)
            .iter()
            .map(|p| p.record)
            .collect();
        records.dedup();
        let mut buf = Vec::new();
        records
            .into_iter()
            .map(|r| self.read(&self.records, RECORDS_FILE, r, &mut buf))
            .collect()
    }
}
