//! RubyGems versions, ordered like `Gem::Version#<=>`.
//!
//! A version must match RubyGems' pattern: digits, then `.`-separated
//! alphanumeric parts, then optionally `-` and `.`-separated parts of
//! alphanumerics and `-` (surrounding ASCII whitespace allowed; blank means
//! `0`). Every `-` reads as `.pre.`. The version splits into segments — runs
//! of digits (numbers, any size) and runs of letters (strings) — and trailing
//! zeros are dropped both from the numeric head and from the part from the
//! first string on (`1.0.a.0` → `[1, "a"]`). Segments compare pairwise,
//! padding the shorter side with `0`: a string is below any number (so a
//! version with a letter is a prerelease, `1.0.a < 1.0`), strings compare
//! bytewise (case-sensitive), numbers numerically.
//!
//! Reference: RubyGems 3.3 (`lib/rubygems/version.rb`), unchanged in this
//! respect in later releases. One leniency: RubyGems wants only digits before
//! the first `.` and rejects `1beta` or `1b2`; we accept letters there and
//! read `1beta` as `1.beta` (the segments are the same), because OSV data and
//! the shared test vectors carry such versions.

use std::cmp::Ordering;
use std::fmt;

use super::common::{compare_digits, first_difference, order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two RubyGems versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(RubyGemsVersion::parse(a)?.cmp(&RubyGemsVersion::parse(b)?))
}

/// A parsed `Gem::Version`; `Eq` and `Ord` follow `<=>`, so `1.0 == 1`.
#[derive(Debug, Clone)]
pub struct RubyGemsVersion {
    original: String,
    /// The canonical segments (trailing zeros dropped as described above).
    segments: Vec<Segment>,
    prerelease: bool,
}

#[derive(Debug, Clone)]
enum Segment {
    /// Decimal digits without leading zeros (`"0"` for zero).
    Number(Decimal),
    /// A run of ASCII letters, case kept.
    Letters(String),
}

impl RubyGemsVersion {
    /// Parses `input`; errors where `Gem::Version.new` raises "Malformed
    /// version number string", except for letters before the first `.`
    /// (see the module doc).
    pub fn parse(input: &str) -> Result<RubyGemsVersion, VersionError> {
        let trimmed = input.trim_matches(is_ruby_space);
        if let Err(reason) = check_pattern(trimmed) {
            return Err(VersionError::new(Scheme::RubyGems, input, reason));
        }
        let text = if trimmed.is_empty() { "0" } else { trimmed };
        let raw = split_segments(text);
        Ok(RubyGemsVersion {
            original: input.to_string(),
            prerelease: text.bytes().any(|b| b.is_ascii_alphabetic()) || text.contains('-'),
            segments: canonical(raw),
        })
    }

    /// The string this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// True when the version has a letter (or a `-`, read as `.pre.`).
    pub fn is_prerelease(&self) -> bool {
        self.prerelease
    }
}

impl fmt::Display for RubyGemsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Ruby's `\s`: space, tab, LF, VT, FF, CR.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// RubyGems' `VERSION_PATTERN` (or blank),
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`, with
/// letters allowed after the leading digits.
fn check_pattern(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
    {
        return Err(format!("character {c:?} is not allowed"));
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("must start with a digit".to_string());
    }
    // Up to the first `-`: dot-separated alphanumeric parts, none empty.
    let (release, pre) = match s.find('-') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if release.split('.').any(str::is_empty) {
        return Err("empty part between dots".to_string());
    }
    if let Some(pre) = pre {
        // After the first `-`: dot-separated parts of alphanumerics and `-`.
        if pre.split('.').any(str::is_empty) {
            return Err("empty part after '-'".to_string());
        }
    }
    Ok(())
}

/// `@version.gsub("-", ".pre.").scan(/[0-9]+|[a-z]+/i)`.
fn split_segments(text: &str) -> Vec<Segment> {
    let expanded = text.replace('-', ".pre.");
    let bytes = expanded.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            segments.push(Segment::Number(Decimal::from_digits(&expanded[start..i])));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            segments.push(Segment::Letters(expanded[start..i].to_string()));
        } else {
            i += 1;
        }
    }
    segments
}

/// `canonical_segments`: trailing zeros dropped from the numeric head and
/// from the rest (which starts at the first string).
fn canonical(segments: Vec<Segment>) -> Vec<Segment> {
    let first_string = segments
        .iter()
        .position(|s| matches!(s, Segment::Letters(_)))
        .unwrap_or(segments.len());
    let mut head = segments;
    let mut tail = head.split_off(first_string);
    drop_trailing_zeros(&mut head);
    drop_trailing_zeros(&mut tail);
    head.extend(tail);
    head
}

fn drop_trailing_zeros(segments: &mut Vec<Segment>) {
    while matches!(segments.last(), Some(Segment::Number(n)) if n.is_zero()) {
        segments.pop();
    }
}

/// A segment as compared: a missing one (past the end) is the number 0.
#[derive(Clone, Copy)]
enum View<'a> {
    Number(&'a str),
    Letters(&'a str),
}

fn view(segment: Option<&Segment>) -> View<'_> {
    match segment {
        Some(Segment::Number(n)) => View::Number(n.as_str()),
        Some(Segment::Letters(letters)) => View::Letters(letters),
        None => View::Number("0"),
    }
}

fn compare_segments(a: View<'_>, b: View<'_>) -> Ordering {
    match (a, b) {
        (View::Number(a), View::Number(b)) => compare_digits(a.as_bytes(), b.as_bytes()),
        (View::Letters(_), View::Number(_)) => Ordering::Less,
        (View::Number(_), View::Letters(_)) => Ordering::Greater,
        (View::Letters(a), View::Letters(b)) => a.as_bytes().cmp(b.as_bytes()),
    }
}

impl Ord for RubyGemsVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.segments.len().max(other.segments.len());
        first_difference(len, |i| {
            compare_segments(view(self.segments.get(i)), view(other.segments.get(i)))
        })
    }
}

order_from_ord!(RubyGemsVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn prereleases_and_padding() {
        assert_eq!(cmp("1.0.a", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-1", "1.pre.1"), Ordering::Equal);
        assert_eq!(cmp("", "0"), Ordering::Equal);
        assert!(RubyGemsVersion::parse("1.a").unwrap().is_prerelease());
        assert!(!RubyGemsVersion::parse("1.0").unwrap().is_prerelease());
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in ["a", "1..0", "1.", "1-", "1.-a", "1 0", "v1", "1_0"] {
            assert!(RubyGemsVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
