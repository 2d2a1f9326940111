//! Pieces several schemes share: unbounded decimal numbers, the
//! "no pre-release sorts last" rule, and the order-trait boilerplate.
//!
//! Only what really is the same rule lives here. What differs between
//! schemes stays in the scheme: whether leading zeros are allowed (a parse
//! rule, not an order rule), case folding of text identifiers (NuGet folds,
//! SemVer does not), and numeric overflow (apk wraps at 64 bits, NuGet
//! labels stop at C#'s `int`, the rest are unbounded).

use std::cmp::Ordering;
use std::fmt;

use super::{Scheme, VersionError};

/// Compares two runs of ASCII digits as unbounded non-negative integers:
/// leading zeros do not count (`007` = `7`), and no run is too long.
pub(crate) fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (trim_zeros(a), trim_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `digits` without leading zeros; empty for zero.
fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// The run of bytes from `*pos` that `keep` accepts; `*pos` moves past it.
pub(crate) fn take_run<'a>(s: &'a [u8], pos: &mut usize, keep: impl Fn(&u8) -> bool) -> &'a [u8] {
    let start = (*pos).min(s.len());
    let len = s[start..].iter().take_while(|c| keep(c)).count();
    *pos = start + len;
    &s[start..*pos]
}

/// An unbounded non-negative integer, kept as its decimal digits without
/// leading zeros (`"0"` for zero), so equal numbers are equal strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal(String);

impl Decimal {
    /// `digits` must be ASCII digits (callers have checked); leading zeros go.
    pub(crate) fn from_digits(digits: &str) -> Decimal {
        let trimmed = digits.trim_start_matches('0');
        Decimal(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    }

    pub(crate) fn zero() -> Decimal {
        Decimal("0".to_string())
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// The canonical digits (no leading zeros).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        compare_digits(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first unequal `cmp_at(i)` for `i` in `0..len`, else `Equal`: the
/// element-wise order of two sequences padded to `len` (the caller's
/// `cmp_at` says what a missing element counts as).
pub(crate) fn first_difference(len: usize, cmp_at: impl FnMut(usize) -> Ordering) -> Ordering {
    (0..len)
        .map(cmp_at)
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// apk-tools and rpm compare any string, but as a C string: the empty
/// string is refused, and so is a NUL, which would silently cut the
/// version short.
pub(crate) fn check_c_string(scheme: Scheme, input: &str) -> Result<(), VersionError> {
    if input.is_empty() {
        return Err(VersionError::new(scheme, input, "version is empty"));
    }
    if input.contains('\0') {
        return Err(VersionError::new(
            scheme,
            input,
            "version contains a NUL byte",
        ));
    }
    Ok(())
}

/// SemVer-style pre-release precedence (SemVer 2.0 §11, which NuGet
/// follows): a version without pre-release identifiers sorts after one
/// with them; otherwise identifiers compare pairwise and, all equal, the
/// longer list wins (the order of `[T]`). How two identifiers compare is
/// the scheme's own `T: Ord`.
pub(crate) fn compare_prerelease<T: Ord>(a: &[T], b: &[T]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

/// `PartialOrd`, `PartialEq` and `Eq` from the type's `Ord`, so equality
/// is "compares equal" (`1.0` == `1.0.0` where the scheme says so), never
/// field-by-field.
macro_rules! order_from_ord {
    ($($t:ty),+ $(,)?) => {$(
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &$t) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &$t) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $t {}
    )+};
}
pub(crate) use order_from_ord;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_as_unbounded_numbers() {
        let cmp = |a: &str, b: &str| compare_digits(a.as_bytes(), b.as_bytes());
        assert_eq!(cmp("9", "10"), Ordering::Less);
        assert_eq!(cmp("007", "7"), Ordering::Equal);
        assert_eq!(cmp("", "0"), Ordering::Equal);
        assert_eq!(cmp("000", ""), Ordering::Equal);
        assert_eq!(cmp("0100", "99"), Ordering::Greater);
        assert_eq!(
            cmp("18446744073709551616", "18446744073709551615"),
            Ordering::Greater
        );
        assert_eq!(
            cmp("123456789012345678901234567890", "2"),
            Ordering::Greater
        );
    }

    #[test]
    fn decimal_keeps_canonical_digits() {
        assert_eq!(Decimal::from_digits("000").as_str(), "0");
        assert_eq!(Decimal::from_digits("0042").to_string(), "42");
        assert!(Decimal::from_digits("00").is_zero());
        assert_eq!(Decimal::zero(), Decimal::from_digits("0"));
        assert!(Decimal::from_digits("10") > Decimal::from_digits("9"));
        assert!(Decimal::from_digits("100000000000000000000") > Decimal::from_digits("99"));
    }

    #[test]
    fn first_difference_is_the_first_unequal_position() {
        let (a, b) = ([1, 2, 3], [1, 2, 4, 0]);
        let at = |i: usize| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0));
        assert_eq!(first_difference(4, at), Ordering::Less);
        assert_eq!(first_difference(2, at), Ordering::Equal);
        assert_eq!(first_difference(0, |_| Ordering::Greater), Ordering::Equal);
    }

    #[test]
    fn c_strings_refuse_empty_and_nul() {
        assert!(check_c_string(Scheme::Rpm, "1.0-1").is_ok());
        let empty = check_c_string(Scheme::Apk, "").unwrap_err();
        assert_eq!(
            (empty.scheme, empty.reason.as_str()),
            (Scheme::Apk, "version is empty")
        );
        let nul = check_c_string(Scheme::Rpm, "1\0").unwrap_err();
        assert_eq!(nul.input, "1\0");
        assert!(nul.reason.contains("NUL"), "{}", nul.reason);
    }

    #[test]
    fn missing_prerelease_sorts_last_then_pairwise_then_longer() {
        let none: [u32; 0] = [];
        assert_eq!(compare_prerelease(&none, &none), Ordering::Equal);
        assert_eq!(compare_prerelease(&none, &[1]), Ordering::Greater);
        assert_eq!(compare_prerelease(&[1], &none), Ordering::Less);
        assert_eq!(compare_prerelease(&[1, 2], &[1, 3]), Ordering::Less);
        assert_eq!(compare_prerelease(&[1, 2], &[1]), Ordering::Greater);
        assert_eq!(compare_prerelease(&[2], &[1, 9]), Ordering::Greater);
    }
}
