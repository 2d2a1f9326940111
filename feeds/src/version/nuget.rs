//! Placeholder: the nuget comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two nuget versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::Nuget, a, "not implemented yet"))
}
