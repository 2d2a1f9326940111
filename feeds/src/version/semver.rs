//! Placeholder: the semver comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two semver versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Semver, a, "not implemented yet"))
}
