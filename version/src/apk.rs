//! Alpine package versions, ordered as apk-tools 2.14 (`apk version -t`,
//! Alpine 3.18–3.22) orders them.
//!
//! A valid version is `digits{.digits}…{letter}{_suffix{digits}}…{-rN}`.
//! apk-tools reads it as a stream of tokens and compares the streams token
//! by token: numbers as numbers (except a dotted component with a leading
//! zero on either side, which compares as a string, as in Gentoo), the
//! letter by byte, suffixes by rank (`alpha < beta < pre < rc < (none) < cvs
//! < svn < git < hg < p`). When one stream has a different kind of token at
//! some point, a pre-release suffix there loses, otherwise the token kind
//! further along the grammar loses (so `1.0 > 1.0_rc1`, `1.0 < 1.0.1`,
//! `1.0 < 1.0-r1`).
//!
//! apk-tools 2.14 compares invalid versions too (its `version -t` does not
//! validate): a stream simply ends at the first token that breaks the
//! grammar, and "invalid" then ranks as the last token kind. We do the
//! same, so `compare` only refuses what apk cannot even be given (an empty
//! string, a NUL byte); [`ApkVersion::is_valid`] tells whether apk would
//! accept the version in a package.
//!
//! apk-tools 3.0 (Alpine 3.23+) orders the versions real packages carry the
//! same way. It differs on versions with an empty component (`1..2`, `1.`,
//! `1-r`, a bare `_`), which 3.0 calls invalid and 2.14 accepts, and it adds
//! `~hash` components; its `version -t` refuses invalid versions.

use std::cmp::Ordering;
use std::fmt;

use super::common::{check_c_string, order_from_ord};
use super::{Scheme, VersionError};

/// A version as apk-tools sees it. `Eq` is apk equality (`1-r1` == `1-r01`).
#[derive(Debug, Clone)]
pub struct ApkVersion {
    text: String,
}

impl ApkVersion {
    /// Accepts any non-empty string without NUL bytes, as `apk version -t`
    /// does (apk-tools 2.14); see [`ApkVersion::is_valid`] for apk's own
    /// validity rule.
    pub fn parse(input: &str) -> Result<ApkVersion, VersionError> {
        check_c_string(Scheme::Apk, input)?;
        Ok(ApkVersion {
            text: input.to_string(),
        })
    }

    /// Whether apk-tools accepts this as a package version
    /// (`apk_version_validate`: the token stream reaches the end).
    pub fn is_valid(&self) -> bool {
        let mut tokens = Tokens::new(self.text.as_bytes());
        let mut token = tokens.first();
        while token.kind < Kind::End {
            token = tokens.next(token);
        }
        token.kind == Kind::End
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Token kinds in grammar order; the order matters when two versions
/// diverge in kind (the later kind loses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
    End,
    Invalid,
}

/// Suffix ranks; `None` (a bare `_`) splits pre-releases from the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

impl Suffix {
    fn from_name(name: &[u8]) -> Option<Suffix> {
        Some(match name {
            b"" => Suffix::None,
            b"alpha" => Suffix::Alpha,
            b"beta" => Suffix::Beta,
            b"pre" => Suffix::Pre,
            b"rc" => Suffix::Rc,
            b"cvs" => Suffix::Cvs,
            b"svn" => Suffix::Svn,
            b"git" => Suffix::Git,
            b"hg" => Suffix::Hg,
            b"p" => Suffix::P,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    suffix: Suffix,
    /// The token's text: digits, the letter, or the suffix name.
    start: usize,
    end: usize,
}

struct Tokens<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a [u8]) -> Tokens<'a> {
        Tokens { s, pos: 0 }
    }

    fn span(&mut self, keep: impl Fn(u8) -> bool) -> (usize, usize) {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|&c| keep(c)) {
            self.pos += 1;
        }
        (start, self.pos)
    }

    fn token(kind: Kind, (start, end): (usize, usize)) -> Token {
        Token {
            kind,
            suffix: Suffix::None,
            start,
            end,
        }
    }

    /// The leading number; a version not starting with a digit is invalid
    /// from the start.
    fn first(&mut self) -> Token {
        let span = self.span(|c| c.is_ascii_digit());
        let kind = if span.0 == span.1 {
            Kind::Invalid
        } else {
            Kind::InitialDigit
        };
        Self::token(kind, span)
    }

    /// The token after `prev`, which decides what may follow.
    fn next(&mut self, prev: Token) -> Token {
        let invalid = Self::token(Kind::Invalid, (self.pos, self.pos));
        let Some(&c) = self.s.get(self.pos) else {
            return Self::token(Kind::End, (self.pos, self.pos));
        };
        match c {
            b'a'..=b'z' => {
                if prev.kind > Kind::Digit {
                    return invalid;
                }
                self.pos += 1;
                Self::token(Kind::Letter, (self.pos - 1, self.pos))
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if prev.kind > Kind::Digit {
                        return invalid;
                    }
                    self.pos += 1;
                }
                // A `.` not followed by digits still makes an (empty)
                // number, as in apk-tools 2.14.
                let span = self.span(|c| c.is_ascii_digit());
                match prev.kind {
                    Kind::Suffix => Self::token(Kind::SuffixNumber, span),
                    Kind::InitialDigit | Kind::Digit => Self::token(Kind::Digit, span),
                    _ => invalid,
                }
            }
            b'_' => {
                if prev.kind > Kind::SuffixNumber {
                    return invalid;
                }
                self.pos += 1;
                let span = self.span(|c| c.is_ascii_lowercase());
                match Suffix::from_name(&self.s[span.0..span.1]) {
                    Some(suffix) => Token {
                        suffix,
                        ..Self::token(Kind::Suffix, span)
                    },
                    None => invalid,
                }
            }
            b'-' => {
                if prev.kind >= Kind::Revision || self.s.get(self.pos + 1) != Some(&b'r') {
                    return invalid;
                }
                self.pos += 2;
                // `-r` without digits is revision 0.
                let span = self.span(|c| c.is_ascii_digit());
                Self::token(Kind::Revision, span)
            }
            _ => invalid,
        }
    }
}

/// apk's number parsing: decimal digits into a wrapping 64-bit value.
fn number(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, &d| {
        n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    })
}

/// Compares two tokens of the same kind.
fn compare_tokens(a: &[u8], ta: Token, b: &[u8], tb: Token) -> Ordering {
    let (va, vb) = (&a[ta.start..ta.end], &b[tb.start..tb.end]);
    match ta.kind {
        Kind::Digit => {
            // apk peeks at the byte where the digits start, even when there
            // are none (after a bare `.`): the next byte, or the end.
            let leading_zero = |s: &[u8], t: Token| s.get(t.start) == Some(&b'0');
            if leading_zero(a, ta) || leading_zero(b, tb) {
                va.cmp(vb)
            } else {
                number(va).cmp(&number(vb))
            }
        }
        Kind::InitialDigit | Kind::SuffixNumber | Kind::Revision => number(va).cmp(&number(vb)),
        Kind::Letter => va.cmp(vb),
        Kind::Suffix => ta.suffix.cmp(&tb.suffix),
        Kind::End | Kind::Invalid => va.cmp(vb),
    }
}

fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let (mut ia, mut ib) = (Tokens::new(a), Tokens::new(b));
    let (mut ta, mut tb) = (ia.first(), ib.first());
    while ta.kind == tb.kind && ta.kind < Kind::End {
        let by_token = compare_tokens(a, ta, b, tb);
        if by_token != Ordering::Equal {
            return by_token;
        }
        ta = ia.next(ta);
        tb = ib.next(tb);
    }
    if ta.kind == tb.kind {
        return Ordering::Equal;
    }
    // Equal so far; the one that goes on is newer unless it goes on with a
    // pre-release suffix.
    if ta.kind == Kind::Suffix && ta.suffix < Suffix::None {
        return Ordering::Less;
    }
    if tb.kind == Kind::Suffix && tb.suffix < Suffix::None {
        return Ordering::Greater;
    }
    tb.kind.cmp(&ta.kind)
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_bytes(self.text.as_bytes(), other.text.as_bytes())
    }
}

order_from_ord!(ApkVersion);

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Compares two apk versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(ApkVersion::parse(a)?.cmp(&ApkVersion::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(s: &str) -> bool {
        ApkVersion::parse(s).is_ok_and(|v| v.is_valid())
    }

    #[test]
    fn validity_follows_the_grammar() {
        for ok in ["1", "1.2.3a_rc1_p2-r3", "0.1_alpha", "1_", "1-r"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["a", "1.2A", "1-x", "1_foo", "1ab", "1-r1-r2", "1~abc"] {
            assert!(!valid(bad), "{bad}");
        }
    }

    #[test]
    fn pre_release_suffixes_sort_first() {
        assert_eq!(compare("1.0_rc1", "1.0"), Ok(Ordering::Less));
        assert_eq!(compare("1.0_p1", "1.0"), Ok(Ordering::Greater));
        assert_eq!(compare("1.0", "1.0-r1"), Ok(Ordering::Less));
        assert!(compare("", "1").is_err());
    }
}
