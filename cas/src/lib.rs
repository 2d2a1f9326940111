//! # stella-cas
//!
//! A content-addressed cache of per-layer analysis fragments. The caller
//! (the CLI) computes each key — a sha256 over the layer's diffID, the
//! analyzer set with versions and the options that change a layer's
//! analysis — and stores opaque fragment bytes under it. This crate knows
//! nothing about what a fragment holds; it only keeps the bytes safe:
//!
//! - every entry carries its key, its length and the sha256 of its payload,
//!   so a corrupt or truncated entry is detected, reported as
//!   [`CasError::Corrupt`] and removed, never returned;
//! - writes go to a temporary file that is renamed into place, so a reader
//!   (in this or another process sharing the directory) sees a whole entry
//!   or none;
//! - the directory is kept under a size cap by evicting the least recently
//!   used entries, with "used" being the time this crate recorded on each hit
//!   (the entry's mtime, set explicitly), not the filesystem's atime, which
//!   `noatime`/`relatime` mounts do not keep.
//!
//! [`FragmentStore`] is the seam between backends: [`LocalStore`] is the
//! local directory, [`OciFragmentStore`] keeps fragments as OCI artifacts in
//! any artifact store (a registry repository CI runners share).

mod entry;
mod local;
mod oci;
mod size;

use std::path::PathBuf;

pub use local::{Eviction, LocalStore, DEFAULT_MAX_BYTES};
pub use oci::{OciFragmentStore, FRAGMENT_ARTIFACT_TYPE};
pub use size::{parse_size, SizeError};
use stella_model::Digest;

/// Where fragments are kept. Implementations are shared by the scan's
/// worker threads.
pub trait FragmentStore: Send + Sync {
    /// The fragment stored under `key`; `Ok(None)` when there is none. A
    /// damaged entry is an error (and is dropped), so the caller can warn
    /// and then treat it as a miss.
    fn get(&self, key: &Digest) -> Result<Option<Vec<u8>>, CasError>;
    /// Stores `fragment` under `key`, replacing any entry there.
    fn put(&self, key: &Digest, fragment: &[u8]) -> Result<(), CasError>;
    /// Forgets `key` (no error when it is not there).
    fn remove(&self, key: &Digest) -> Result<(), CasError>;
    /// Housekeeping after a run that stored something (the local store
    /// evicts down to its size cap); nothing by default.
    fn maintain(&self) -> Result<(), CasError> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CasError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An entry that failed its checks; it has been removed.
    #[error("corrupt cache entry {key} ({}): {reason}; ignored", path.display())]
    Corrupt {
        key: Digest,
        path: PathBuf,
        reason: String,
    },
    #[error("cache keys are sha256 digests, not {0}")]
    UnsupportedKey(Digest),
    /// A store that holds fragments as OCI artifacts failed.
    #[error("cache entry {key} in {location}: {message}")]
    Remote {
        location: String,
        key: Digest,
        message: String,
    },
    #[error(
        "no cache directory: set STELLA_CACHE_DIR, XDG_CACHE_HOME or HOME, or pass --cache-dir"
    )]
    NoCacheDir,
}

impl CasError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CasError {
        CasError::Io {
            path: path.into(),
            source,
        }
    }
}
