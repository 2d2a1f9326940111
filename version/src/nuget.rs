//! NuGet versions, read and ordered like NuGet.Versioning's
//! `NuGetVersion.TryParse` and `VersionComparer.Default`.
//!
//! A version is 1–4 dot-separated numbers (missing ones are 0, leading zeros
//! allowed: `1.0.01 == 1.0.1.0`), then an optional `-` release label list and
//! an optional `+` metadata list. Labels are dot-separated `[0-9A-Za-z-]`
//! identifiers, all-digit ones without leading zeros; metadata identifiers
//! are the same with leading zeros allowed. Whitespace around the version,
//! and around each number (System.Version's `int.TryParse`), is allowed.
//!
//! Order: the four numbers; a version with labels sorts before the same
//! version without; labels compare pairwise — both numeric (an `int`,
//! so `-1` counts and `2147483648` does not) by value, numeric before
//! non-numeric, otherwise ordinal case-insensitively — and a longer list
//! wins on a tie. Metadata is ignored.
//!
//! One deliberate divergence: NuGet rejects version numbers above
//! 2147483647 (System.Version holds `int`s); here they are unbounded, as OSV's
//! NuGet comparator and its test vectors have them.

use std::cmp::Ordering;
use std::fmt;

use super::common::{compare_prerelease, order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two NuGet versions (metadata ignored).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(NugetVersion::parse(a)?.cmp(&NugetVersion::parse(b)?))
}

/// A parsed NuGet version. `Eq` and `Ord` are `VersionComparer.Default`:
/// `1.0 == 1.0.0.0`, labels case-insensitive, metadata ignored.
#[derive(Debug, Clone)]
pub struct NugetVersion {
    numbers: [Decimal; 4],
    labels: Vec<Label>,
    metadata: String,
}

/// A release label. Numeric labels sort before text ones (declaration order).
#[derive(Debug, Clone)]
enum Label {
    Numeric { value: i32, text: String },
    Text(String),
}

impl Label {
    fn new(text: &str) -> Label {
        // C#'s `int.TryParse`: an optional minus sign, digits, within `int`.
        let digits = text.strip_prefix('-').unwrap_or(text);
        match text.parse::<i32>() {
            Ok(value) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Label::Numeric {
                    value,
                    text: text.to_string(),
                }
            }
            _ => Label::Text(text.to_string()),
        }
    }

    fn text(&self) -> &str {
        match self {
            Label::Numeric { text, .. } | Label::Text(text) => text,
        }
    }
}

impl Ord for Label {
    fn cmp(&self, other: &Label) -> Ordering {
        match (self, other) {
            (Label::Numeric { value: a, .. }, Label::Numeric { value: b, .. }) => a.cmp(b),
            (Label::Numeric { .. }, Label::Text(_)) => Ordering::Less,
            (Label::Text(_), Label::Numeric { .. }) => Ordering::Greater,
            // OrdinalIgnoreCase compares upper-cased UTF-16 units; labels
            // are ASCII.
            (Label::Text(a), Label::Text(b)) => a
                .bytes()
                .map(|c| c.to_ascii_uppercase())
                .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
        }
    }
}

order_from_ord!(Label);

/// The white space .NET's number parsing skips (`NumberStyles.Integer`).
fn is_number_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// NuGet's `IsValidPart`: non-empty, `[0-9A-Za-z-]`, and (unless allowed)
/// no leading zero on an all-digit part.
fn is_valid_part(part: &str, allow_leading_zeros: bool) -> bool {
    let bytes = part.as_bytes();
    if bytes.is_empty() || !bytes.iter().copied().all(is_label_char) {
        return false;
    }
    allow_leading_zeros
        || !(bytes.len() > 1 && bytes[0] == b'0' && bytes.iter().all(u8::is_ascii_digit))
}

impl NugetVersion {
    /// Parses a version the way `NuGetVersion.TryParse` does (but without
    /// its `int` limit on the numbers).
    pub fn parse(input: &str) -> Result<NugetVersion, VersionError> {
        let err = |reason: String| VersionError::new(Scheme::Nuget, input, reason);
        let text = input.trim();
        // The numbers end at the first `-` or `+`; labels run to the first
        // `+` after that; the rest is metadata.
        let (numbers_text, rest) = match text.find(['-', '+']) {
            Some(i) => (&text[..i], Some(&text[i..])),
            None => (text, None),
        };
        let (labels_text, metadata) = match rest {
            None => (None, None),
            Some(rest) => match rest.strip_prefix('-') {
                Some(after_dash) => match after_dash.split_once('+') {
                    Some((labels, metadata)) => (Some(labels), Some(metadata)),
                    None => (Some(after_dash), None),
                },
                None => (None, Some(&rest[1..])),
            },
        };
        if numbers_text.is_empty() {
            return Err(err("no version numbers".into()));
        }
        let parts: Vec<&str> = numbers_text.split('.').collect();
        if parts.len() > 4 {
            return Err(err(format!("{} version numbers, at most 4", parts.len())));
        }
        let mut numbers: [Decimal; 4] = std::array::from_fn(|_| Decimal::from_digits("0"));
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            let digits = part.trim_matches(is_number_space);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("version number {part:?} is not a number")));
            }
            *slot = Decimal::from_digits(digits);
        }
        let labels = match labels_text {
            None => Vec::new(),
            Some(labels) => labels
                .split('.')
                .map(|label| {
                    if is_valid_part(label, false) {
                        Ok(Label::new(label))
                    } else {
                        Err(err(format!("invalid release label {label:?}")))
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        if let Some(metadata) = metadata {
            if let Some(bad) = metadata.split('.').find(|p| !is_valid_part(p, true)) {
                return Err(err(format!("invalid metadata part {bad:?}")));
            }
        }
        Ok(NugetVersion {
            numbers,
            labels,
            metadata: metadata.unwrap_or_default().to_string(),
        })
    }

    /// True when the version has release labels.
    pub fn is_prerelease(&self) -> bool {
        !self.labels.is_empty()
    }

    /// Metadata (ignored for precedence), without the `+`.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }
}

impl Ord for NugetVersion {
    fn cmp(&self, other: &NugetVersion) -> Ordering {
        // Labels compare case-insensitively, numbers within `int`:
        // `Label`'s order, unlike SemVer's identifiers.
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| compare_prerelease(&self.labels, &other.labels))
    }
}

order_from_ord!(NugetVersion);

/// NuGet's normalized form: three numbers, the fourth only when not 0,
/// labels as written, metadata after `+`.
impl fmt::Display for NugetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = &self.numbers;
        write!(f, "{a}.{b}.{c}")?;
        if !d.is_zero() {
            write!(f, ".{d}")?;
        }
        if !self.labels.is_empty() {
            let labels: Vec<&str> = self.labels.iter().map(Label::text).collect();
            write!(f, "-{}", labels.join("."))?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_nuget() {
        let show = |s: &str| NugetVersion::parse(s).map(|v| v.to_string());
        assert_eq!(show(" 1 ").as_deref(), Ok("1.0.0"));
        assert_eq!(
            show("1.0.01.0-Beta.1+Meta.01").as_deref(),
            Ok("1.0.1-Beta.1+Meta.01")
        );
        assert_eq!(show("1.2.3.4").as_deref(), Ok("1.2.3.4"));
        assert_eq!(show("1.0+-").as_deref(), Ok("1.0.0+-"));
    }

    #[test]
    fn non_nuget_is_an_error() {
        for bad in [
            "",
            "-1",
            "1.2.3.4.5",
            "1..2",
            "1.0-",
            "1.0+",
            "1.0-01",
            "1.0-a+",
            "a.b",
            "1.0-a_b",
            "v1.0",
        ] {
            assert!(NugetVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels_are_ints_or_text() {
        assert!(Label::new("-1") < Label::new("0"));
        assert!(Label::new("2147483648") > Label::new("9"));
        assert!(Label::new("2147483648") < Label::new("a"));
        assert_eq!(Label::new("BETA"), Label::new("beta"));
    }
}
