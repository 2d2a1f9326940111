//! Placeholder: the apk comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two apk versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Apk, a, "not implemented yet"))
}
