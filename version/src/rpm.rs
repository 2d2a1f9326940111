//! RPM versions: `[epoch:]version[-release]` (EVR), compared as rpm 4.18's
//! `rpmverParse` + `rpmverCmp` do (what `rpm.vercmp` in rpm's Lua runs).
//!
//! Splitting: a leading run of digits followed by `:` is the epoch (`:1` has
//! epoch 0); anything else before a colon stays in the version, so
//! `a:1` is a version. The release is what follows the last hyphen. Order:
//! epoch (absent = 0), then version, then release, each with `rpmvercmp`;
//! a missing release sorts before any release, even an empty one
//! (`1` < `1-` < `1-0`).
//!
//! `rpmvercmp` walks both strings segment by segment: separators (anything
//! but ASCII letters, digits, `~` and `^`) are skipped, `~` sorts before
//! everything (even the end), `^` sorts after the end but before anything
//! else, a digit segment beats a letter segment, digit segments compare as
//! numbers and letter segments bytewise.

use std::cmp::Ordering;
use std::fmt;

use super::common::{check_c_string, compare_digits, order_from_ord, take_run};
use super::{Scheme, VersionError};

/// A parsed RPM EVR. `Eq` is rpm equality: `1.0` == `0:1.00`.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    /// Decimal digits, possibly empty for `:1` (rpm reads that as `0`);
    /// `None` when there is no epoch (compared as `0`).
    epoch: Option<String>,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    /// Splits an EVR the way rpm's `parseEVR` does. Only the empty string
    /// (`rpmverParse` returns nothing for it) and NUL bytes are refused: rpm
    /// compares any other string.
    pub fn parse(input: &str) -> Result<RpmVersion, VersionError> {
        check_c_string(Scheme::Rpm, input)?;
        let digits = input.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match input[digits..].strip_prefix(':') {
            Some(rest) => (Some(input[..digits].to_string()), rest),
            None => (None, input),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release.to_string())),
            None => (rest, None),
        };
        Ok(RpmVersion {
            epoch,
            version: version.to_string(),
            release,
        })
    }

    /// The epoch as written (digits); `None` when absent.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    fn epoch_or_zero(&self) -> &str {
        match self.epoch.as_deref() {
            None | Some("") => "0",
            Some(e) => e,
        }
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        rpmvercmp(self.epoch_or_zero(), other.epoch_or_zero())
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

order_from_ord!(RpmVersion);

impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = &self.epoch {
            write!(f, "{epoch}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

/// rpm's segmented string comparison of one EVR part.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let is_separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while a.get(i).is_some_and(|&c| is_separator(c)) {
            i += 1;
        }
        while b.get(j).is_some_and(|&c| is_separator(c)) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca.is_none() && cb.is_none() {
            return Ordering::Equal;
        }
        // `~` sorts before anything, the end included.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // `^` sorts after the end but before any other segment.
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first_a), Some(_)) = (ca, cb) else {
            // One side is exhausted: the longer one is newer.
            return if ca.is_none() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        };
        let numeric = first_a.is_ascii_digit();
        let in_segment = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let seg_a = take_run(a, &mut i, in_segment);
        let seg_b = take_run(b, &mut j, in_segment);
        if seg_b.is_empty() {
            // Segments of different kinds: a number beats letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let by_segment = if numeric {
            compare_digits(seg_a, seg_b)
        } else {
            seg_a.cmp(seg_b)
        };
        if by_segment != Ordering::Equal {
            return by_segment;
        }
    }
}

/// Compares two RPM EVR strings.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(RpmVersion::parse(a)?.cmp(&RpmVersion::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_and_caret() {
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^git1", "1.0.1"), Ordering::Less);
    }

    #[test]
    fn missing_release_sorts_first() {
        assert_eq!(compare("1", "1-"), Ok(Ordering::Less));
        assert_eq!(compare("1-", "1-0"), Ok(Ordering::Less));
        assert_eq!(compare("0:1", "1"), Ok(Ordering::Equal));
        assert!(compare("", "1").is_err());
    }
}
