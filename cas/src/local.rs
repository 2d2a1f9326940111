//! The local directory backend.
//!
//! ```text
//! ROOT/CACHEDIR.TAG          marks the directory as a cache for backup tools
//! ROOT/layers-v1/ab/cdef…    one entry per key (sha256 hex, split after 2 chars)
//! ROOT/tmp/                  entries being written, renamed into place when whole
//! ```
//!
//! Several processes may share ROOT: entries appear by `rename(2)` (atomic on
//! one filesystem), are only ever replaced by another whole entry for the
//! same key, and a reader that loses a race with eviction sees a miss. No
//! lock is taken and no index is kept, so there is nothing to corrupt but
//! single entries, and those are checked on every read.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stella_model::{Digest, DigestAlgorithm};

use crate::entry::{self, Invalid, HEADER_LEN};
use crate::{CasError, FragmentStore};

/// Default size cap of a cache directory: 2 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// Subdirectory of the entries; renamed when the entry format changes, so an
/// old build and a new one sharing a directory never read each other's.
const ENTRIES_DIR: &str = "layers-v1";
const TMP_DIR: &str = "tmp";
/// A temporary file this old was left by a writer that died.
const STALE_TMP: Duration = Duration::from_secs(3600);

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by stella.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// A cache directory with a size cap.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    entries: PathBuf,
    tmp: PathBuf,
    max_bytes: u64,
}

/// What one eviction pass found and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Eviction {
    /// Entries and their bytes before the pass.
    pub entries: usize,
    pub bytes: u64,
    /// Entries removed and their bytes.
    pub removed: usize,
    pub removed_bytes: u64,
}

impl LocalStore {
    /// The default cache directory: `$XDG_CACHE_HOME/stella`, else
    /// `$HOME/.cache/stella` (relative or empty values are ignored, as the
    /// XDG base directory spec says).
    pub fn default_dir() -> Result<PathBuf, CasError> {
        default_dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
    }

    /// Opens (creating when needed) the cache at `root`, capped at `max_bytes`.
    pub fn open(root: impl Into<PathBuf>, max_bytes: u64) -> Result<LocalStore, CasError> {
        let root = root.into();
        let store = LocalStore {
            entries: root.join(ENTRIES_DIR),
            tmp: root.join(TMP_DIR),
            root,
            max_bytes,
        };
        for dir in [&store.entries, &store.tmp] {
            fs::create_dir_all(dir).map_err(|e| CasError::io(dir, e))?;
        }
        let tag = store.root.join("CACHEDIR.TAG");
        if !tag.exists() {
            // Best effort: the tag only helps backup tools.
            let _ = store.write_atomically(&tag, &[CACHEDIR_TAG.as_bytes()]);
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn raw_key(key: &Digest) -> Result<[u8; 32], CasError> {
        let mut raw = [0u8; 32];
        if key.algorithm() != DigestAlgorithm::Sha256
            || hex::decode_to_slice(key.hex(), &mut raw).is_err()
        {
            return Err(CasError::UnsupportedKey(key.clone()));
        }
        Ok(raw)
    }

    fn path_of(&self, key: &Digest) -> Result<PathBuf, CasError> {
        Self::raw_key(key)?;
        let (shard, rest) = key.hex().split_at(2);
        Ok(self.entries.join(shard).join(rest))
    }

    /// Writes `parts` to a fresh temporary file and renames it to `dest`.
    fn write_atomically(&self, dest: &Path, parts: &[&[u8]]) -> Result<(), CasError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        fs::create_dir_all(&self.tmp).map_err(|e| CasError::io(&self.tmp, e))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp = self.tmp.join(format!(
            "{}-{}-{nanos}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| -> io::Result<()> {
            let mut f = File::create_new(&tmp)?;
            for part in parts {
                f.write_all(part)?;
            }
            // No fsync: an entry torn by a crash fails its digest check and
            // is dropped on the next read, which is all a cache needs.
            Ok(())
        })()
        .map_err(|e| CasError::io(&tmp, e))
        .and_then(|()| {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| CasError::io(parent, e))?;
            }
            fs::rename(&tmp, dest).map_err(|e| CasError::io(dest, e))
        });
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Removes least recently used entries until the directory holds at most
    /// `max_bytes`, and temporary files abandoned by dead writers. Entries
    /// that vanish meanwhile (another process evicting) are simply skipped.
    pub fn evict(&self) -> Result<Eviction, CasError> {
        let mut all = self.list()?;
        let mut report = Eviction {
            entries: all.len(),
            bytes: all.iter().map(|e| e.len).sum(),
            ..Eviction::default()
        };
        let mut total = report.bytes;
        if total > self.max_bytes {
            all.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
            for e in all {
                if total <= self.max_bytes {
                    break;
                }
                match fs::remove_file(&e.path) {
                    Ok(()) => {
                        report.removed += 1;
                        report.removed_bytes += e.len;
                        total -= e.len;
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => total -= e.len,
                    Err(err) => return Err(CasError::io(&e.path, err)),
                }
            }
        }
        self.remove_stale_tmp();
        Ok(report)
    }

    fn remove_stale_tmp(&self) {
        let Ok(dir) = fs::read_dir(&self.tmp) else {
            return;
        };
        let now = SystemTime::now();
        for f in dir.flatten() {
            let stale = f
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_TMP));
            if stale {
                let _ = fs::remove_file(f.path());
            }
        }
    }

    /// Every entry file with its size and last use.
    fn list(&self) -> Result<Vec<Listed>, CasError> {
        let mut out = Vec::new();
        let shards = match fs::read_dir(&self.entries) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(CasError::io(&self.entries, e)),
        };
        for shard in shards {
            let shard = shard.map_err(|e| CasError::io(&self.entries, e))?;
            let name = shard.file_name();
            if name.len() != 2 || !shard.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let files = match fs::read_dir(shard.path()) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CasError::io(shard.path(), e)),
            };
            for f in files.flatten() {
                let Ok(meta) = f.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                out.push(Listed {
                    used: meta.modified().unwrap_or(UNIX_EPOCH),
                    len: meta.len(),
                    path: f.path(),
                });
            }
        }
        Ok(out)
    }
}

/// [`LocalStore::default_dir`] given the two variables' values.
pub(crate) fn default_dir_from(
    xdg_cache_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, CasError> {
    let absolute = |v: Option<std::ffi::OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(xdg) = absolute(xdg_cache_home) {
        return Ok(xdg.join("stella"));
    }
    absolute(home)
        .map(|home| home.join(".cache").join("stella"))
        .ok_or(CasError::NoCacheDir)
}

struct Listed {
    /// When the entry was last written or read (its mtime, which we set).
    used: SystemTime,
    len: u64,
    path: PathBuf,
}

impl FragmentStore for LocalStore {
    fn get(&self, key: &Digest) -> Result<Option<Vec<u8>>, CasError> {
        let raw = Self::raw_key(key)?;
        let path = self.path_of(key)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CasError::io(&path, e)),
        };
        let len = file.metadata().map_err(|e| CasError::io(&path, e))?.len();
        match entry::read_verified(&file, &raw, len, self.max_bytes) {
            Ok(payload) => {
                // Our own access clock for LRU eviction. Failing to record a
                // use only makes the entry look older: not worth an error.
                let _ = file.set_modified(SystemTime::now());
                Ok(Some(payload))
            }
            Err(Invalid::Io(e)) => Err(CasError::io(&path, e)),
            Err(Invalid::Corrupt(reason)) => {
                // Dropped so that the rescan's put starts clean; if another
                // process has just replaced it with a good entry, that one
                // is lost, which costs one more miss, never a wrong result.
                let _ = fs::remove_file(&path);
                Err(CasError::Corrupt {
                    key: key.clone(),
                    path,
                    reason,
                })
            }
        }
    }

    fn put(&self, key: &Digest, fragment: &[u8]) -> Result<(), CasError> {
        let raw = Self::raw_key(key)?;
        let path = self.path_of(key)?;
        if (fragment.len() + HEADER_LEN) as u64 > self.max_bytes {
            // Eviction would drop it at once (and everything else first).
            return Ok(());
        }
        let header = entry::header(&raw, fragment);
        self.write_atomically(&path, &[&header, fragment])
    }

    fn maintain(&self) -> Result<(), CasError> {
        self.evict().map(|_| ())
    }

    fn remove(&self, key: &Digest) -> Result<(), CasError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CasError::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_follows_xdg_then_home() {
        let dir = |x: Option<&str>, h: Option<&str>| {
            default_dir_from(x.map(Into::into), h.map(Into::into)).ok()
        };
        assert_eq!(
            dir(Some("/x/cache"), Some("/home/u")),
            Some(PathBuf::from("/x/cache/stella"))
        );
        assert_eq!(
            dir(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/stella"))
        );
        // Relative and empty values are ignored (XDG base directory spec).
        assert_eq!(
            dir(Some("rel/cache"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/stella"))
        );
        assert_eq!(
            dir(Some(""), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/stella"))
        );
        assert_eq!(dir(None, None), None);
        assert_eq!(dir(Some(""), Some("")), None);
    }
}
