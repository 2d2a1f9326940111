//! The config blob of the feeds artifact: what the DB was built from and
//! what each layer holds. Sorted, no time, no paths: the same inputs give
//! the same bytes.

use serde::{Deserialize, Serialize};

use super::DbError;
use crate::merge::SourceClass;

/// Version of this document's shape (and of the shard format).
pub const METADATA_SCHEMA_VERSION: u32 = 1;
/// The config is small; a bigger one is refused before parsing.
pub(crate) const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedMetadata {
    pub schema_version: u32,
    /// Schema of the records in the shards (`stella-advisory@1`).
    pub advisory_schema: String,
    /// Sorted by name.
    pub sources: Vec<SourceEntry>,
    /// Sorted by name; the manifest's layers are in this order.
    pub shards: Vec<ShardEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceEntry {
    /// `osv/osv-go`.
    pub name: String,
    /// The connector (`osv`).
    pub kind: String,
    /// `sha256:` over the source's documents (see `SourceSpec::import`).
    pub input_digest: String,
    pub advisories: usize,
    /// Documents that did not become advisories.
    pub quarantined: usize,
    /// Files that are not documents by name (README, licence…).
    pub ignored: usize,
    /// How the merge ranks the source (inferred at build time, see
    /// [`super::classify`]); absent in DBs built before it was recorded,
    /// which then rank as `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<SourceClass>,
    /// For a language database: the ecosystems it is authoritative for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecosystems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardEntry {
    /// File name, also the layer's `org.opencontainers.image.title`.
    pub name: String,
    pub source: String,
    /// Ecosystem family (`Debian` for `Debian:12`), `_none` for advisories
    /// that name no package.
    pub family: String,
    pub advisories: usize,
    /// Distinct (ecosystem, name) keys.
    pub packages: usize,
    /// The layer: `sha256:` of the compressed bytes, and their size.
    pub digest: String,
    pub size: u64,
    /// `sha256:` of the JSON Lines, and their size.
    pub content_digest: String,
    pub content_size: u64,
}

impl FeedMetadata {
    pub fn to_bytes(&self) -> Result<Vec<u8>, DbError> {
        serde_json::to_vec(self).map_err(|e| DbError::Encode(format!("metadata: {e}")))
    }

    /// Parses and checks the config blob `digest`.
    pub fn parse(digest: &str, bytes: &[u8]) -> Result<FeedMetadata, DbError> {
        // The version first: a newer shape is "too new", not "malformed".
        #[derive(Deserialize)]
        struct Version {
            #[serde(rename = "schemaVersion")]
            schema_version: u32,
        }
        let version: Version = serde_json::from_slice(bytes)
            .map_err(|e| DbError::bad_blob(digest, format!("malformed feeds metadata: {e}")))?;
        if version.schema_version != METADATA_SCHEMA_VERSION {
            return Err(DbError::bad_blob(
                digest,
                format!(
                    "feeds metadata schemaVersion {} (this stella reads {METADATA_SCHEMA_VERSION})",
                    version.schema_version
                ),
            ));
        }
        let meta: FeedMetadata = serde_json::from_slice(bytes)
            .map_err(|e| DbError::bad_blob(digest, format!("malformed feeds metadata: {e}")))?;
        let mut names: Vec<&str> = meta.shards.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(DbError::bad_blob(digest, "two shards share a name"));
        }
        for s in &meta.shards {
            if !is_file_name(&s.name) {
                return Err(DbError::bad_blob(
                    digest,
                    format!("shard name {:?} is not a plain file name", s.name),
                ));
            }
        }
        Ok(meta)
    }
}

/// A name safe to use as a file in the cache: `[A-Za-z0-9._-]`, not `.`/`..`.
pub(crate) fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_metadata() {
        assert!(FeedMetadata::parse("d", b"{").is_err());
        let v2 = br#"{"schemaVersion":2,"newField":true}"#;
        assert!(FeedMetadata::parse("d", v2)
            .unwrap_err()
            .to_string()
            .contains("schemaVersion 2"));
        let evil = br#"{"schemaVersion":1,"advisorySchema":"x","sources":[],"shards":[{"name":"../x","source":"s","family":"f","advisories":0,"packages":0,"digest":"d","size":0,"contentDigest":"c","contentSize":0}]}"#;
        assert!(FeedMetadata::parse("d", evil).is_err());
        assert!(!is_file_name(".."));
        assert!(is_file_name("osv.osv-go.Go.jsonl.zst"));
    }
}
