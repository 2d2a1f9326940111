//! Placeholder: the rubygems comparator is being written.

use std::cmp::Ordering;

use super::{Scheme, VersionError};

/// Compares two rubygems versions.
pub fn compare(a: &str, _b: &str) -> Result<Ordering, VersionError> {
    Err(VersionError::new(Scheme::RubyGems, a, "not implemented yet"))
}
