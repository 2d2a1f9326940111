//! PEP 440 versions (PyPI), ordered like Python's `packaging.version.Version`.
//!
//! Accepted is exactly what `packaging` (22 and later) accepts: its
//! `VERSION_PATTERN`, case-insensitive, with the alternative spellings PEP 440
//! normalizes (`v1.0`, `1.0alpha1`, `1.0-post1`, `1.0-1`, `1.0.rev`,
//! `1.0c1`, `1.0.preview`, separators `-`/`_`/`.`, surrounding whitespace).
//! Anything else — including the "legacy" versions old `packaging` sorted
//! before all others (`0.1-bulbasaur`) — is a [`VersionError`].
//!
//! Ordering follows `packaging`'s sort key: epoch, release (trailing zeros
//! ignored, so `1.0 == 1.0.0`), pre-release (`a < b < rc`; a bare `.devN`
//! sorts before any pre-release of the same release), post-release,
//! development release, then the local version (absent < present; numeric
//! segments above alphanumeric ones). Numbers are unbounded, like Python ints.
//!
//! One deliberate divergence: Python's case-insensitive matching also lets
//! four non-ASCII letters (`ı`, `İ`, `ſ`, `K`) stand for ASCII ones, which
//! `packaging` then mis-normalizes (`1.0.poſt1` gets a post label `poſt`).
//! Here every non-ASCII character inside the version is an error.

use std::cmp::Ordering;
use std::fmt;

use super::common::{compare_digits, first_difference, order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two PEP 440 versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Pep440Version::parse(a)?.cmp(&Pep440Version::parse(b)?))
}

/// A parsed PEP 440 version. `Eq` and `Ord` follow PEP 440 precedence, so
/// `1.0 == 1.0.0` and `1.0+01 == 1.0+1`.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: Decimal,
    release: Vec<Decimal>,
    pre: Option<(PreKind, Decimal)>,
    post: Option<Decimal>,
    dev: Option<Decimal>,
    local: Option<Vec<LocalSegment>>,
}

/// The pre-release phase; the declaration order is the precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Rc,
}

/// One dot-separated part of a local version label. Alphanumeric segments
/// sort before numeric ones (the declaration order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Text(String),
    Number(Decimal),
}

impl Pep440Version {
    /// Parses a version the way `packaging.version.Version(...)` does.
    pub fn parse(input: &str) -> Result<Pep440Version, VersionError> {
        let err = |reason: &str| VersionError::new(Scheme::Pep440, input, reason);
        let trimmed = input.trim_matches(is_python_space);
        if trimmed.is_empty() {
            return Err(err("empty version"));
        }
        if !trimmed.is_ascii() {
            return Err(err("non-ASCII character in version"));
        }
        let lower = trimmed.to_ascii_lowercase();
        parse_normalized(lower.as_bytes()).ok_or_else(|| err("not a valid PEP 440 version"))
    }

    /// True for pre-releases and development releases (PEP 440's
    /// `is_prerelease`).
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The sort key's pre-release part: a development release without a
    /// pre- or post-release sorts before every pre-release of its release.
    fn pre_key(&self) -> PreKey<'_> {
        match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => PreKey::BeforeAll,
            (None, _, _) => PreKey::Final,
            (Some((kind, n)), _, _) => PreKey::Pre(*kind, n),
        }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    BeforeAll,
    Pre(PreKind, &'a Decimal),
    Final,
}

/// Python's `str.isspace` for the `\s` around a version (ASCII exactly,
/// including the information separators 0x1C–0x1F; Unicode approximately).
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{1c}'..='\u{1f}' | ' '
    ) || (!c.is_ascii() && c.is_whitespace())
}

/// Release segments padded with zeros (`1.0` = `1.0.0`); comparisons are
/// the matcher's inner loop, so nothing here allocates.
fn compare_release(a: &[Decimal], b: &[Decimal]) -> Ordering {
    fn digits(d: Option<&Decimal>) -> &[u8] {
        d.map_or(b"0", |d| d.as_str().as_bytes())
    }
    first_difference(a.len().max(b.len()), |i| {
        compare_digits(digits(a.get(i)), digits(b.get(i)))
    })
}

/// A missing development release sorts after every present one.
fn compare_dev(a: &Option<Decimal>, b: &Option<Decimal>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Pep440Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_release(&self.release, &other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| compare_dev(&self.dev, &other.dev))
            .then_with(|| self.local.cmp(&other.local))
    }
}

order_from_ord!(Pep440Version);

/// The normalized form (`1!2.0rc1.post3.dev4+ubuntu.1`), like `str(Version)`.
impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.epoch.is_zero() {
            write!(f, "{}!", self.epoch)?;
        }
        let release: Vec<&str> = self.release.iter().map(|n| n.as_str()).collect();
        f.write_str(&release.join("."))?;
        if let Some((kind, n)) = &self.pre {
            let label = match kind {
                PreKind::Alpha => "a",
                PreKind::Beta => "b",
                PreKind::Rc => "rc",
            };
            write!(f, "{label}{}", n)?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{}", n)?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{}", n)?;
        }
        if let Some(local) = &self.local {
            let parts: Vec<&str> = local
                .iter()
                .map(|s| match s {
                    LocalSegment::Text(t) => t.as_str(),
                    LocalSegment::Number(n) => n.as_str(),
                })
                .collect();
            write!(f, "+{}", parts.join("."))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The parser. `packaging` matches one regular expression; its optional
// separators and overlapping labels (`a` vs `alpha`, `pre` vs `preview`,
// `r` vs `rc`) make the first match depend on backtracking order, e.g.
// `1.0ar` is `1.0a0.post0` and `1.0a..post1` is `1.0a0.post1`. So each
// optional part below lists its possible matches in the regex's preference
// order, and the parts are tried depth-first: the first combination that
// reaches the end of the input is the regex's match.

const PRE_LABELS: [(&str, PreKind); 8] = [
    ("alpha", PreKind::Alpha),
    ("a", PreKind::Alpha),
    ("beta", PreKind::Beta),
    ("b", PreKind::Beta),
    ("preview", PreKind::Rc),
    ("pre", PreKind::Rc),
    ("c", PreKind::Rc),
    ("rc", PreKind::Rc),
];
const POST_LABELS: [&str; 3] = ["post", "rev", "r"];
const DEV_LABELS: [&str; 1] = ["dev"];

fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.')
}

/// The end of the run of ASCII digits starting at `pos`.
fn digits_end(s: &[u8], pos: usize) -> usize {
    pos + s[pos.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

fn num(s: &[u8], from: usize, to: usize) -> Decimal {
    // The slice is ASCII digits (checked by the callers).
    Decimal::from_digits(std::str::from_utf8(&s[from..to]).unwrap_or("0"))
}

/// Positions after an optional separator at `pos`, greedy first.
fn optional_separator(s: &[u8], pos: usize) -> Vec<usize> {
    if s.get(pos).copied().is_some_and(is_separator) {
        vec![pos + 1, pos]
    } else {
        vec![pos]
    }
}

/// Matches of `[-_.]? LABEL [-_.]? [0-9]*` at `pos` for each label, in
/// preference order: (end, label index, number).
fn labelled_number(s: &[u8], pos: usize, labels: &[&str]) -> Vec<(usize, usize, Decimal)> {
    let mut out = Vec::new();
    for start in optional_separator(s, pos) {
        for (index, label) in labels.iter().enumerate() {
            if !s[start..].starts_with(label.as_bytes()) {
                continue;
            }
            for number_start in optional_separator(s, start + label.len()) {
                let end = digits_end(s, number_start);
                if end > number_start {
                    out.push((end, index, num(s, number_start, end)));
                }
                out.push((number_start, index, Decimal::zero()));
            }
        }
    }
    out
}

fn pre_candidates(s: &[u8], pos: usize) -> Vec<(usize, Option<(PreKind, Decimal)>)> {
    let labels: Vec<&str> = PRE_LABELS.iter().map(|(l, _)| *l).collect();
    let mut out: Vec<_> = labelled_number(s, pos, &labels)
        .into_iter()
        .map(|(end, i, n)| (end, Some((PRE_LABELS[i].1, n))))
        .collect();
    out.push((pos, None));
    out
}

fn post_candidates(s: &[u8], pos: usize) -> Vec<(usize, Option<Decimal>)> {
    let mut out = Vec::new();
    // The implicit form `-N`.
    if s.get(pos) == Some(&b'-') {
        let end = digits_end(s, pos + 1);
        if end > pos + 1 {
            out.push((end, Some(num(s, pos + 1, end))));
        }
    }
    out.extend(
        labelled_number(s, pos, &POST_LABELS)
            .into_iter()
            .map(|(end, _, n)| (end, Some(n))),
    );
    out.push((pos, None));
    out
}

fn dev_candidates(s: &[u8], pos: usize) -> Vec<(usize, Option<Decimal>)> {
    let mut out: Vec<_> = labelled_number(s, pos, &DEV_LABELS)
        .into_iter()
        .map(|(end, _, n)| (end, Some(n)))
        .collect();
    out.push((pos, None));
    out
}

/// `(\+[a-z0-9]+([-_.][a-z0-9]+)*)?` up to the end of the input.
fn local_to_end(s: &[u8], pos: usize) -> Option<Option<Vec<LocalSegment>>> {
    if pos == s.len() {
        return Some(None);
    }
    if s[pos] != b'+' {
        return None;
    }
    let mut segments = Vec::new();
    for part in s[pos + 1..].split(|b| is_separator(*b)) {
        if part.is_empty() || !part.iter().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let text = std::str::from_utf8(part).ok()?;
        segments.push(if part.iter().all(u8::is_ascii_digit) {
            LocalSegment::Number(Decimal::from_digits(text))
        } else {
            LocalSegment::Text(text.to_string())
        });
    }
    Some(Some(segments))
}

/// Parses a trimmed, lowercased ASCII version; `None` when it does not match.
fn parse_normalized(s: &[u8]) -> Option<Pep440Version> {
    let mut pos = 0;
    if s.first() == Some(&b'v') {
        pos = 1;
    }
    let mut epoch = Decimal::zero();
    let epoch_end = digits_end(s, pos);
    if epoch_end > pos && s.get(epoch_end) == Some(&b'!') {
        epoch = num(s, pos, epoch_end);
        pos = epoch_end + 1;
    }
    let mut release = Vec::new();
    loop {
        let end = digits_end(s, pos);
        if end == pos {
            return None;
        }
        release.push(num(s, pos, end));
        pos = end;
        // Another release number only if a digit follows the dot.
        if s.get(pos) == Some(&b'.') && s.get(pos + 1).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        } else {
            break;
        }
    }
    for (pre_end, pre) in pre_candidates(s, pos) {
        for (post_end, post) in post_candidates(s, pre_end) {
            for (dev_end, dev) in dev_candidates(s, post_end) {
                if let Some(local) = local_to_end(s, dev_end) {
                    return Some(Pep440Version {
                        epoch,
                        release,
                        pre,
                        post,
                        dev,
                        local,
                    });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(s: &str) -> String {
        match Pep440Version::parse(s) {
            Ok(v) => v.to_string(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn alternative_spellings_normalize() {
        assert_eq!(normalized("v1.0"), "1.0");
        assert_eq!(normalized("1.0ALPHA1"), "1.0a1");
        assert_eq!(normalized("1.0-post1"), "1.0.post1");
        assert_eq!(normalized("1.0-1"), "1.0.post1");
        assert_eq!(normalized("1.0.rev"), "1.0.post0");
        assert_eq!(normalized("1.0c_1"), "1.0rc1");
        assert_eq!(normalized("1.0ar"), "1.0a0.post0");
        assert_eq!(normalized("1.0a..post1"), "1.0a0.post1");
        assert_eq!(normalized(" 1!01.0-dev+Ubuntu-1\n"), "1!1.0.dev0+ubuntu.1");
    }

    #[test]
    fn non_pep440_is_an_error() {
        for bad in [
            "",
            "1.0-bulbasaur",
            "1.0_1",
            "1..0",
            "1.0+",
            "1.0+a..b",
            "1.0.poſt1",
        ] {
            assert!(Pep440Version::parse(bad).is_err(), "{bad:?}");
        }
    }
}
