//! SemVer 2.0.0 precedence (npm, Go modules, crates.io, OSV's `SEMVER`).
//!
//! Ordering is the spec's §11: major, minor, patch numerically; a
//! pre-release sorts before its release; pre-release identifiers compare
//! numerically when all digits, otherwise in ASCII order (case-sensitive:
//! `R2 < r100`), numeric before alphanumeric, a longer list after its prefix.
//! Build metadata (`+…`) is validated but ignored (`1.0.0+a == 1.0.0+b`).
//! This agrees with node-semver's `compare` on every version it accepts.
//!
//! Accepted beyond strict SemVer, because OSV data written for the `SEMVER`
//! ecosystem (and OSV's own comparator) expects it:
//! - a leading `v` (Go's `v1.2.3`; node-semver accepts it too) and
//!   surrounding whitespace;
//! - fewer than three numbers, the missing ones 0 (`1.2 == 1.2.0`);
//! - more than three numbers: like OSV, the extra ones count as build
//!   metadata and are ignored (`1.2.3.4 == 1.2.3`);
//! - leading zeros (`01.2.3 == 1.2.3`, pre-release `rc.01 == rc.1`);
//! - numbers of any size (no 2^53 limit).
//!
//! Everything else is an error: empty identifiers (`1..2`, `1.2.3-`),
//! characters outside `[0-9A-Za-z-]` in identifiers, text glued to the
//! numbers (`1.2.3beta`, which OSV would read as a pre-release), wildcards.

use std::cmp::Ordering;
use std::fmt;

use super::common::{compare_prerelease, order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two SemVer versions by precedence.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(SemverVersion::parse(a)?.cmp(&SemverVersion::parse(b)?))
}

/// A parsed SemVer version. `Eq` and `Ord` are precedence: build metadata
/// and extra numbers are ignored.
#[derive(Debug, Clone)]
pub struct SemverVersion {
    major: Decimal,
    minor: Decimal,
    patch: Decimal,
    pre: Vec<Identifier>,
    /// Build metadata as written (without `+`), plus OSV-style extra numbers.
    build: String,
}

/// A pre-release identifier. Numeric identifiers sort before alphanumeric
/// ones (the declaration order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Numeric(Decimal),
    Alphanumeric(String),
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl SemverVersion {
    /// Parses a version (see the module documentation for what is accepted).
    pub fn parse(input: &str) -> Result<SemverVersion, VersionError> {
        let err = |reason: String| VersionError::new(Scheme::Semver, input, reason);
        let trimmed = input.trim();
        let text = trimmed.strip_prefix('v').unwrap_or(trimmed);
        if text.is_empty() {
            return Err(err("empty version".into()));
        }
        // The numbers end at the first `-` or `+`; `+` starts build metadata
        // everywhere, `-` after the numbers starts the pre-release.
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => {
                if let Some(bad) = build.split('.').find(|i| !is_identifier(i)) {
                    return Err(err(format!("invalid build metadata identifier {bad:?}")));
                }
                (rest, build.to_string())
            }
            None => (text, String::new()),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        if let Some(bad) = numbers.iter().find(|n| !is_digits(n)) {
            return Err(err(format!(
                "version number {bad:?} is not a non-empty run of digits"
            )));
        }
        let number = |i: usize| Decimal::from_digits(numbers.get(i).copied().unwrap_or("0"));
        let mut build = build;
        if numbers.len() > 3 {
            // OSV's reading: numbers after the third are build metadata.
            let extra = numbers[3..].join(".");
            build = if build.is_empty() {
                extra
            } else {
                format!("{extra}.{build}")
            };
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|id| {
                    if !is_identifier(id) {
                        Err(err(format!("invalid pre-release identifier {id:?}")))
                    } else if is_digits(id) {
                        Ok(Identifier::Numeric(Decimal::from_digits(id)))
                    } else {
                        Ok(Identifier::Alphanumeric(id.to_string()))
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(SemverVersion {
            major: number(0),
            minor: number(1),
            patch: number(2),
            pre,
            build,
        })
    }

    /// True when the version has a pre-release part.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// Build metadata (ignored for precedence), without the `+`.
    pub fn build(&self) -> &str {
        &self.build
    }
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &SemverVersion) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            // Identifiers compare case-sensitively (ASCII order), numbers
            // unbounded, numeric before alphanumeric: `Identifier`'s order.
            .then_with(|| compare_prerelease(&self.pre, &other.pre))
    }
}

order_from_ord!(SemverVersion);

/// `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, numbers without leading zeros.
impl fmt::Display for SemverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            let ids: Vec<&str> = self
                .pre
                .iter()
                .map(|id| match id {
                    Identifier::Numeric(n) => n.as_str(),
                    Identifier::Alphanumeric(s) => s.as_str(),
                })
                .collect();
            write!(f, "-{}", ids.join("."))?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerated_forms_read_as_documented() {
        let show = |s: &str| SemverVersion::parse(s).map(|v| v.to_string());
        assert_eq!(show("v1.2").as_deref(), Ok("1.2.0"));
        assert_eq!(show(" 01.002.3-rc.01 ").as_deref(), Ok("1.2.3-rc.1"));
        assert_eq!(show("1.2.3.4+b").as_deref(), Ok("1.2.3+4.b"));
    }

    #[test]
    fn non_semver_is_an_error() {
        for bad in [
            "",
            "v",
            "1..2",
            "1.2.3-",
            "1.2.3+",
            "1.2.3beta",
            "1.2.x",
            "1.2.3-a..b",
            "1.2.3-é",
        ] {
            assert!(SemverVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
