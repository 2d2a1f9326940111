//! Debian package versions (dpkg): `[epoch:]upstream[-revision]`.
//!
//! Parsing follows dpkg's Perl `Dpkg::Version` with `check => 1` (the
//! validation `dpkg-dev` applies): the epoch is what precedes the first
//! colon and must be decimal digits, the revision is what follows the last
//! hyphen and must not be empty, the upstream part must start with a digit,
//! and only `A-Za-z0-9.+-~:` may appear. Ordering is dpkg's `verrevcmp`
//! applied to the upstream part and then the revision: alternating runs of
//! non-digits (letters before other characters, `~` before everything,
//! even the end) and digit runs compared as numbers.

use std::cmp::Ordering;
use std::fmt;

use super::common::{compare_digits, order_from_ord, take_run};
use super::{Scheme, VersionError};

/// dpkg rejects epochs above `INT_MAX` ("epoch in version is too big").
const MAX_EPOCH: u64 = i32::MAX as u64;

/// A parsed Debian version. `Eq` is dpkg equality: `1.0` == `0:1.0-0`.
#[derive(Debug, Clone)]
pub struct DebianVersion {
    epoch: u64,
    upstream: String,
    /// Empty when the version has none; dpkg orders that like `0`.
    revision: String,
}

impl DebianVersion {
    /// Parses a version as `Dpkg::Version->new($v, check => 1)` does.
    pub fn parse(input: &str) -> Result<DebianVersion, VersionError> {
        let err = |reason: &str| VersionError::new(Scheme::Debian, input, reason);
        if input.is_empty() {
            return Err(err("version number cannot be empty"));
        }
        // The epoch is split off only when something follows the colon
        // (`1:` is an upstream version "1:", as in Dpkg::Version).
        let (epoch_text, rest) = match input.split_once(':') {
            Some((epoch, rest)) if !rest.is_empty() => (Some(epoch), rest),
            _ => (None, input),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => (upstream, Some(revision)),
            None => (rest, None),
        };
        if epoch_text == Some("") {
            return Err(err("epoch part of the version number cannot be empty"));
        }
        if upstream.is_empty() {
            return Err(err("upstream version cannot be empty"));
        }
        if revision == Some("") {
            return Err(err("revision cannot be empty"));
        }
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err("version number does not start with digit"));
        }
        if let Some(bad) = input.chars().find(|&c| !is_version_char(c)) {
            return Err(err(&format!(
                "version number contains illegal character {bad:?}"
            )));
        }
        let epoch = match epoch_text {
            None => 0,
            Some(text) => parse_epoch(text).ok_or_else(|| {
                err(&format!(
                    "epoch part of the version number is not a number up to {MAX_EPOCH}: {text:?}"
                ))
            })?,
        };
        Ok(DebianVersion {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.unwrap_or("").to_string(),
        })
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision; empty when the version has none.
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '~' | ':')
}

fn parse_epoch(text: &str) -> Option<u64> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = text.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let value: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    (value <= MAX_EPOCH).then_some(value)
}

/// dpkg's weight of a non-digit character (the end of the string is 0).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: compares an upstream version or a revision.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit run, character by character.
        while a.get(i).is_some_and(|c| !c.is_ascii_digit())
            || b.get(j).is_some_and(|c| !c.is_ascii_digit())
        {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            // A side that is at a digit (or at the end) stays put.
            if a.get(i).is_some_and(|c| !c.is_ascii_digit()) {
                i += 1;
            }
            if b.get(j).is_some_and(|c| !c.is_ascii_digit()) {
                j += 1;
            }
        }
        // The digit run, as a number of any length.
        let a_digits = take_run(a, &mut i, u8::is_ascii_digit);
        let b_digits = take_run(b, &mut j, u8::is_ascii_digit);
        let by_number = compare_digits(a_digits, b_digits);
        if by_number != Ordering::Equal {
            return by_number;
        }
    }
    Ordering::Equal
}

impl Ord for DebianVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

order_from_ord!(DebianVersion);

impl fmt::Display for DebianVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

/// Compares two Debian versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(DebianVersion::parse(a)?.cmp(&DebianVersion::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_sorts_before_the_end() {
        assert_eq!(compare("1.0~rc1", "1.0"), Ok(Ordering::Less));
        assert_eq!(compare("1.0~~", "1.0~"), Ok(Ordering::Less));
        assert_eq!(compare("1.0a", "1.0+"), Ok(Ordering::Less));
    }

    #[test]
    fn missing_revision_is_zero() {
        assert_eq!(DebianVersion::parse("1.0"), DebianVersion::parse("0:1.0-0"));
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        for bad in ["", "a1", "1.0-", ":1", "x:1", "1_0", "1 0", "99999999999:1"] {
            assert!(DebianVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
