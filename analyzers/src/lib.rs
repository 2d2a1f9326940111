//! # stella-analyzers
//!
//! The scanning engine: streams each layer once (gzip/zstd/tar, digests
//! verified on the fly), keeps only the files analyzers ask for, applies
//! whiteouts to build the squashed view, runs the package analyzers on it and
//! attributes every component to the layer that introduced it.
//!
//! Entry points: [`scan_image`] for OCI images from any store
//! ([`scan_image_with`] adds a per-layer [`LayerCache`]), [`scan_dir`] for a
//! root filesystem on disk.

pub mod analyzer;
pub mod binary;
mod dir;
pub mod entrytrace;
pub mod file_analyzer;
pub mod fragment;
pub mod fs;
mod gzip;
pub mod lang;
pub mod layer;
pub mod layer_cache;
pub mod os;
pub mod ownership;
mod scan;
pub mod squash;
pub mod usage;

pub use analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
pub use file_analyzer::{ElfInfo, FileAnalyzer, FileReport, ScriptText};
pub use fs::{FileRef, FsView, MemFs, ViewError};
pub use layer_cache::LayerCache;
pub use scan::{
    default_analyzers, default_file_analyzers, layer_info, scan_dir, scan_image, scan_image_with,
    Progress, ScanError, ScanOptions, Silent,
};
