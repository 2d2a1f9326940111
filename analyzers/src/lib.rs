//! # stella-analyzers
//!
//! The scanning engine: streams each layer once (gzip/zstd/tar, digests
//! verified on the fly), keeps only the files analyzers ask for, applies
//! whiteouts to build the squashed view, runs the package analyzers on it and
//! attributes every component to the layer that introduced it.

pub mod analyzer;
pub mod fs;
pub mod os;

pub use analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
pub use fs::{FileRef, FsView, MemFs, ViewError};
