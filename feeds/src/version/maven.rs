//! Placeholder: the maven comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two maven versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Maven, a, "not implemented yet"))
}
