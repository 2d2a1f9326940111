//! What can go wrong building, pushing, pulling or reading the DB.

use std::path::PathBuf;

use stella_registry_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid feed source {input:?}: {reason}")]
    BadSource { input: String, reason: String },
    #[error("source {source_name}: {error}")]
    Import {
        source_name: String,
        error: crate::connector::ImportError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A blob (layer, config, manifest) that is not what it should be.
    #[error("blob {digest}: {reason}")]
    BadBlob { digest: String, reason: String },
    #[error("not a feeds artifact ({what}): {reason}")]
    NotFeeds { what: String, reason: String },
    #[error("feeds cache {path}: {reason}")]
    BadCache { path: PathBuf, reason: String },
    #[error("{0}")]
    Encode(String),
}

impl DbError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> DbError {
        DbError::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn bad_blob(digest: impl ToString, reason: impl ToString) -> DbError {
        DbError::BadBlob {
            digest: digest.to_string(),
            reason: reason.to_string(),
        }
    }
}
