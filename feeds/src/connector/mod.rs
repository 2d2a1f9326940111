//! Feed connectors: each turns one source's documents into canonical
//! advisories, and every document it cannot use into a [`files::Quarantined`]
//! entry with the reason.

pub mod alpine_secdb;
pub mod debian_tracker;
pub mod files;
pub mod ghsa;
pub mod osv;
pub mod yaml;

pub use files::{import_osv, Import, ImportError, Quarantined};
