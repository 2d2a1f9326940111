//! Feed connectors: each turns one source's documents into canonical
//! advisories, and every document it cannot use into a [`files::Quarantined`]
//! entry with the reason.

pub mod files;
pub mod osv;
pub mod yaml;

pub use files::{import_osv, Import, ImportError, Quarantined};
