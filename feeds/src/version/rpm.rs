//! Placeholder: the rpm comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two rpm versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Rpm, a, "not implemented yet"))
}
