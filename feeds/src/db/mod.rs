//! The advisory DB as one OCI artifact, and its local cache.
//!
//! **Build** ([`build`]): every source ([`SourceSpec`], `KIND:PATH`) is
//! imported, its advisories are split into shards by (source, ecosystem
//! family) — the ecosystem up to its first `:` — and each shard becomes a
//! JSON Lines document sorted by id, zstd-compressed at a fixed level in a
//! single thread. Nothing in a shard depends on time, paths or thread
//! count, so an unchanged shard keeps its digest from build to build.
//!
//! **Push** ([`push`]): one layer per shard (titled with the shard's name,
//! so `oras pull` saves it as a file), the metadata ([`FeedMetadata`]:
//! schema version, per-source input digests, shard table, quarantine
//! counts) as the config, artifactType [`ARTIFACT_TYPE`]. Blobs the store
//! already has are not sent; the [`PushReport`] says what was.
//!
//! **Pull** ([`pull`]): the artifact is fetched into a cache directory,
//! only blobs not cached yet, every one digest-checked; then the shards are
//! unpacked and a key index built next to them, in a temporary directory
//! renamed into place, so a failed pull never leaves a half-written DB.
//!
//! **Lookup** ([`FeedDb`]): [`FeedDb::open`] reads the index in one go;
//! [`FeedDb::lookup`] binary-searches (ecosystem, name) and parses only the
//! advisories it returns; [`FeedDb::lookup_merged`] merges them by alias.
//! [`FeedDb::load`] merges every key into memory once ([`LoadedFeeds`]), for
//! a process that matches many images.
//!
//! **Where the merge happens.** The DB keeps each source's own records,
//! sharded by (source, ecosystem family), and merges at lookup time, over
//! the records that name the package asked about, with the same
//! [`crate::merge`] code and the source classes recorded at build time.
//! Merging at build time would put every source's change into the shards of
//! every record it aliases, and a delta would no longer be "only what that
//! source changed". For matching nothing is lost: the matcher only ever
//! needs the merged view of one package's advisories.

mod artifact;
mod classify;
mod error;
mod index;
mod loaded;
mod metadata;
mod pull;
mod shard;
mod source;

pub use artifact::{build, push, BuildOptions, BuiltDb, PushReport, PushedBlob, ShardBlob};
pub use classify::classify;
pub use error::DbError;
pub use index::{FeedDb, CURRENT_FILE};
pub use loaded::LoadedFeeds;
pub use metadata::{FeedMetadata, ShardEntry, SourceEntry, METADATA_SCHEMA_VERSION};
pub use pull::{default_cache_dir, pull, PullReport};
pub use source::{ImportedSource, SourceSpec};

/// `artifactType` of the feeds artifact.
pub const ARTIFACT_TYPE: &str = "application/vnd.stellaops.feeds.v1";
/// Media type of the config blob (the [`FeedMetadata`] JSON).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.stellaops.feeds.config.v1+json";
/// Media type of a shard layer: zstd-compressed JSON Lines of advisories.
pub const SHARD_MEDIA_TYPE: &str = "application/vnd.stellaops.feeds.shard.v1.jsonl+zstd";
/// The zstd level of shard layers. Fixed: a different level gives
/// different bytes, and every shard would look changed.
pub const ZSTD_LEVEL: i32 = 9;
/// Tag used when the target names none.
pub const DEFAULT_TAG: &str = "latest";
