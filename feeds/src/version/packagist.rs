//! Placeholder: the packagist comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two packagist versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(
        Scheme::Packagist,
        a,
        "not implemented yet",
    ))
}
