//! # stella-feeds
//!
//! Vulnerability data for the matcher: advisories from many sources in one
//! canonical model ([`stella_model::Advisory`]), the version logic their
//! ranges need, and the registry as their database.
//!
//! - [`version`]: the comparators of `stella-version`, re-exported (one
//!   per versioning scheme, each agreeing with its reference implementation).
//! - [`connector`]: feeds read offline from files, trees and zips — OSV
//!   (JSON/YAML), the GHSA repository layout, the Debian security tracker,
//!   Alpine secdb; bad records quarantined with a reason.
//! - [`merge`]: alias closure and per-field precedence with recorded
//!   decisions; [`parity`]: how two sources differ on the same records.
//! - [`db`]: the DB as one OCI artifact (a zstd layer per source/ecosystem
//!   shard, unchanged shards keep their digests), pulled into a verified
//!   cache with a key index ([`db::FeedDb`]).

pub mod connector;
pub mod db;
pub mod merge;
pub mod parity;
pub use stella_version as version;
