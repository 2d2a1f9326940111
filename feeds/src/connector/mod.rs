//! Feed connectors: each turns one source's documents into canonical
//! advisories, and every document (or part of one) it cannot use into a
//! [`files::Quarantined`] entry with the reason.
//!
//! [`SourceKind`] names the formats; [`import`] reads a file, tree or zip
//! of one kind offline.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub mod alpine_secdb;
pub mod debian_tracker;
pub mod files;
pub mod ghsa;
pub mod osv;
pub mod yaml;

pub use files::{import_osv, Import, ImportError, Quarantined};

/// The formats a source can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// OSV records, JSON or YAML, one per file.
    Osv,
    /// The Debian security tracker's JSON dump.
    DebianTracker,
    /// Alpine secdb, YAML or JSON, one file per release and repository.
    AlpineSecdb,
    /// The github/advisory-database layout (OSV JSON plus GHSA's
    /// `database_specific` fields).
    Ghsa,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Osv,
        SourceKind::DebianTracker,
        SourceKind::AlpineSecdb,
        SourceKind::Ghsa,
    ];

    /// The name `FromStr` accepts (`osv`, `debian-tracker`, `alpine-secdb`,
    /// `ghsa`).
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Osv => "osv",
            SourceKind::DebianTracker => "debian-tracker",
            SourceKind::AlpineSecdb => "alpine-secdb",
            SourceKind::Ghsa => "ghsa",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A source kind name that is none of [`SourceKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source kind {0:?} (expected osv, debian-tracker, alpine-secdb or ghsa)")]
pub struct UnknownSourceKind(pub String);

impl FromStr for SourceKind {
    type Err = UnknownSourceKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownSourceKind(s.to_string()))
    }
}

/// Imports `path` (file, directory or `.zip`) read as `kind`, naming the
/// source `source` in provenance and severities.
pub fn import(kind: SourceKind, path: &Path, source: &str) -> Result<Import, ImportError> {
    match kind {
        SourceKind::Osv => import_osv(path, source),
        SourceKind::DebianTracker => debian_tracker::import(path, source),
        SourceKind::AlpineSecdb => alpine_secdb::import(path, source),
        SourceKind::Ghsa => ghsa::import(path, source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in SourceKind::ALL {
            assert_eq!(kind.name().parse::<SourceKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        let e = "debian".parse::<SourceKind>().unwrap_err();
        assert!(e.to_string().contains("\"debian\""), "{e}");
        assert!("OSV".parse::<SourceKind>().is_err(), "names are exact");
    }
}
