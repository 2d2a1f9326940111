//! Composer (Packagist) versions, ordered like PHP's `version_compare`.
//!
//! Composer compares version strings with PHP's `version_compare`, and so
//! do OSV's Packagist records and the shared test vectors (`1.0.0 > 1.0`):
//! Composer's `VersionParser::normalize` (padding to four parts, `.x-dev`
//! branches) is not applied. The one Composer step taken first: surrounding
//! whitespace is trimmed and a `v`/`V` before a digit is dropped
//! (`v1.0` = `1.0`), as Composer does when it reads a tag.
//!
//! PHP's canonical form (php-src `ext/standard/versioning.c`): `-`, `_`, `+`
//! become `.`; a `.` goes between a digit and a non-digit; other
//! non-alphanumerics become `.` unless they follow a digit (then they start
//! a name part); dots never double. Parts then compare one by one: numbers
//! numerically; names by their special form — the first of `dev` < `alpha`
//! = `a` < `beta` = `b` < `RC` = `rc` < `#` < `pl` = `p` that is a prefix of
//! the name (case-sensitive), any other name below `dev`; a number ranks
//! like `#` against names. When one side runs out, each extra part is held
//! against `#`: a number wins, `pl` wins, `alpha` loses (`1.0 < 1.0pl1`,
//! `1.0 > 1.0rc1`).
//!
//! Where `version_compare` is no order at all, this one is total:
//! - a trailing separator (`1.`, `1-`) is dropped — PHP even calls `1.`
//!   less than `1.`;
//! - a name starting with `#` (PHP keeps `#` only after a digit, `1#`)
//!   equals a missing part — PHP makes it equal to every number, which is
//!   not transitive;
//! - numbers of any size compare exactly — PHP saturates them at 2^63-1.
//!
//! Not accepted (a [`VersionError`]): an empty version, whitespace inside,
//! non-ASCII or control characters, and a leading `#` (PHP would skip
//! canonicalization for it altogether).

use std::cmp::Ordering;
use std::fmt;

use super::common::{first_difference, order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two Composer versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(PackagistVersion::parse(a)?.cmp(&PackagistVersion::parse(b)?))
}

/// A parsed Composer version; `Eq` and `Ord` follow `version_compare`
/// (with the fixes above), so `1.0RC1 == 1.0rc1`.
#[derive(Debug, Clone)]
pub struct PackagistVersion {
    original: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    /// Decimal digits without leading zeros (`"0"` for zero).
    Number(Decimal),
    /// A name part, by its special-form rank.
    Name(Form),
}

/// PHP's special forms, in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    Unknown,
    Dev,
    Alpha,
    Beta,
    Rc,
    /// `#`: where a number or a missing part ranks against names.
    Hash,
    Patch,
}

/// The prefixes PHP tries, in its order (the first match wins).
const FORMS: [(&str, Form); 10] = [
    ("dev", Form::Dev),
    ("alpha", Form::Alpha),
    ("a", Form::Alpha),
    ("beta", Form::Beta),
    ("b", Form::Beta),
    ("RC", Form::Rc),
    ("rc", Form::Rc),
    ("#", Form::Hash),
    ("pl", Form::Patch),
    ("p", Form::Patch),
];

impl PackagistVersion {
    /// Parses `input` (see the module doc for what is refused).
    pub fn parse(input: &str) -> Result<PackagistVersion, VersionError> {
        let error = |reason: String| VersionError::new(Scheme::Packagist, input, reason);
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let version = match trimmed.as_bytes() {
            [b'v' | b'V', second, ..] if second.is_ascii_digit() => &trimmed[1..],
            _ => trimmed,
        };
        if version.is_empty() {
            return Err(error("empty version".to_string()));
        }
        if let Some(c) = version.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(error(format!("character {c:?} is not allowed")));
        }
        if version.starts_with('#') {
            return Err(error("starts with '#'".to_string()));
        }
        Ok(PackagistVersion {
            original: input.to_string(),
            parts: parts(&canonicalize(version.as_bytes())),
        })
    }

    /// The string this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for PackagistVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// PHP's canonical form of a non-empty ASCII version (see the module doc).
/// The first character is kept as it is, as PHP does.
fn canonicalize(version: &[u8]) -> String {
    let is_digit = |c: u8| c.is_ascii_digit();
    let is_other = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut out = Vec::with_capacity(version.len() * 2);
    let mut previous = version[0];
    out.push(previous);
    for &c in &version[1..] {
        let last_is_dot = out.last() == Some(&b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if !last_is_dot {
                out.push(b'.');
            }
        } else if (is_other(previous) && is_digit(c)) || (is_digit(previous) && is_other(c)) {
            if !last_is_dot {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if !last_is_dot {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        previous = c;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a canonical version into parts; a trailing empty part (from a
/// trailing separator) is dropped, a leading one is a name like any other.
fn parts(canonical: &str) -> Vec<Part> {
    let mut pieces: Vec<&str> = canonical.split('.').collect();
    if pieces.len() > 1 && pieces.last() == Some(&"") {
        pieces.pop();
    }
    pieces
        .into_iter()
        .map(|piece| {
            if piece.starts_with(|c: char| c.is_ascii_digit()) {
                Part::Number(Decimal::from_digits(piece))
            } else {
                Part::Name(form(piece))
            }
        })
        .collect()
}

fn form(name: &str) -> Form {
    FORMS
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or(Form::Unknown, |&(_, form)| form)
}

/// A part's place in the total order: names below `#`, then a missing part
/// and `#` names (equal), then numbers by value, then `pl` names.
fn key(part: Option<&Part>) -> (u8, usize, Option<&Decimal>) {
    match part {
        Some(Part::Name(Form::Patch)) => (3, 0, None),
        Some(Part::Number(n)) => (2, 0, Some(n)),
        None | Some(Part::Name(Form::Hash)) => (1, 0, None),
        Some(Part::Name(form)) => (0, *form as usize, None),
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.parts.len().max(other.parts.len());
        first_difference(len, |i| {
            key(self.parts.get(i)).cmp(&key(other.parts.get(i)))
        })
    }
}

order_from_ord!(PackagistVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn canonical_form() {
        assert_eq!(canonicalize(b"1.0rc1"), "1.0.rc.1");
        assert_eq!(canonicalize(b"1.0-dev"), "1.0.dev");
        assert_eq!(canonicalize(b"1__2"), "1.2");
        assert_eq!(canonicalize(b"1/2"), "1./.2");
        assert_eq!(canonicalize(b"a/b"), "a.b");
    }

    #[test]
    fn special_forms() {
        assert_eq!(cmp("1.0-dev", "1.0alpha"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0pl1"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0.", "1.0"), Ordering::Equal);
        assert_eq!(cmp("v1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0foo", "1.0dev"), Ordering::Less);
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in ["", "  ", "1 0", "#1", "1\u{e9}"] {
            assert!(PackagistVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
