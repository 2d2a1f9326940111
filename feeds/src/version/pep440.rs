//! Placeholder: the pep440 comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two pep440 versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Pep440, a, "not implemented yet"))
}
