//! The contract between the layer engine and the package analyzers.
//!
//! An analyzer declares which paths it needs ([`PackageAnalyzer::wants`]); the
//! engine buffers only those files while streaming layers, builds the squashed
//! filesystem view, and calls [`PackageAnalyzer::analyze`] on it. The engine,
//! not the analyzer, works out which layer introduced each component.

use stella_model::{Component, Distro};

use crate::fs::FsView;

/// What an analyzer knows when it runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeContext<'a> {
    /// The distro from `os-release`, when one was found (used in purls).
    pub distro: Option<&'a Distro>,
}

/// A package database that could not be read as a whole. The engine fails the
/// scan with it (default) or, in lenient mode, keeps it as a warning and drops
/// that analyzer's result rather than emit a silently wrong SBOM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct AnalyzerError {
    /// The file (view path, no leading `/`) that was malformed.
    pub path: String,
    pub message: String,
}

impl AnalyzerError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> AnalyzerError {
        AnalyzerError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Components found by one analyzer, plus problems that did not spoil the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub components: Vec<Component>,
    /// `(path, message)` pairs for recoverable oddities (kept as scan warnings).
    pub notes: Vec<(String, String)>,
}

/// An analyzer of one kind of package database.
pub trait PackageAnalyzer: Send + Sync {
    /// Stable name, e.g. `dpkg`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the analyzer's output for the same input may change
    /// (part of cache keys).
    fn version(&self) -> u32;
    /// True when the file at `path` (normalized: no leading `/`, no `.`/`..`)
    /// must be buffered for this analyzer. Called for every file in every
    /// layer: keep it cheap.
    fn wants(&self, path: &str) -> bool;
    /// Reads the package database from the view.
    fn analyze(
        &self,
        view: &dyn FsView,
        ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError>;
}
