//! Typed errors of the store; each names the artifact that was wrong.

use std::path::PathBuf;

use stella_model::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid source {input:?}: {reason}")]
    BadSource { input: String, reason: String },
    // The io error is in the message, so it is not also the `source()`:
    // chained reports (anyhow's `{:#}`) would print it twice.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{what} is not valid: {reason}")]
    Malformed { what: String, reason: String },
    #[error("blob {digest} not found in {location}")]
    BlobNotFound { digest: Digest, location: String },
    #[error("{what} {reference} not found in {location}")]
    NotFound {
        what: &'static str,
        reference: String,
        location: String,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge { what: String, size: u64, limit: u64 },
    #[error("no image for platform {wanted} in {location}; available: {available}")]
    PlatformNotFound {
        wanted: String,
        location: String,
        available: String,
    },
    #[error("authentication failed for {registry}/{repository}: {reason}")]
    AuthFailed {
        registry: String,
        repository: String,
        reason: String,
    },
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    #[error(
        "this build of stella lacks the `{feature}` cargo feature, needed for {what} \
         (rebuild with `--features stella-cli/{feature}`)"
    )]
    FeatureMissing { feature: &'static str, what: String },
    #[error("containerd at {address}: {reason}")]
    Containerd { address: String, reason: String },
    #[error("containerd namespace {namespace:?} does not exist at {address} (namespaces there: {available}){hint}")]
    ContainerdNamespaceNotFound {
        namespace: String,
        address: String,
        available: String,
        /// Where the image was found instead, when it was (`; …`), else empty.
        hint: String,
    },
    #[error(
        "{what} {digest} is not in containerd's content store (namespace {namespace:?} at \
         {address}): it was never fetched. containerd and docker pull only one platform of a \
         multi-platform image; fetch the content first (`docker pull --platform OS/ARCH REF`, \
         `ctr -n {namespace} content fetch --platform OS/ARCH REF`)"
    )]
    ContentNotFetched {
        what: String,
        digest: Digest,
        namespace: String,
        address: String,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            error: source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl ToString) -> StoreError {
        StoreError::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
