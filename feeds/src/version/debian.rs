//! Placeholder: the debian comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two debian versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Debian, a, "not implemented yet"))
}
