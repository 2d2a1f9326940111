//! Maven versions, ordered like Maven 3.9's `ComparableVersion`.
//!
//! A version is lowercased and split into a tree of items: numbers, strings
//! (qualifiers) and sub-lists. `.` separates items of one list; `-` and every
//! switch between a letter and a digit open a new sub-list (`1.0-alpha1` is
//! `[1, [alpha, [1]]]`). Trailing "null" items — `0`, the release qualifier
//! (`""`, `ga`, `final`, `release`) and empty lists — are dropped, so
//! `1 = 1.0.0 = 1-ga`. Known qualifiers rank `alpha < beta < milestone < rc
//! (= cr) < snapshot < release < sp`, then unknown qualifiers in lexical order;
//! a single `a`, `b` or `m` directly followed by a digit means alpha, beta or
//! milestone. Between kinds: a string < a sub-list < a number.
//!
//! Reference: Maven 3.9.x (`maven-artifact`, as Debian trixie ships it), the
//! line current Maven builds use. Maven 4 reworked letter-digit combinations
//! (`CombinationItem`), which changes a few orders (`1-1` vs `1-ga-1`); see
//! the shared-vector test.
//!
//! Maven itself accepts any string; here a version must be non-empty printable
//! ASCII (no whitespace) of at most [`MAX_LEN`] bytes — anything else is a
//! [`VersionError`], not a guess. (Every `-` nests a list one level deeper,
//! and comparing walks the nesting: the bound keeps a hostile version from
//! exhausting the stack.)

use std::cmp::Ordering;
use std::fmt;

use super::common::{order_from_ord, Decimal};
use super::{Scheme, VersionError};

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(MavenVersion::parse(a)?.cmp(&MavenVersion::parse(b)?))
}

/// A parsed Maven version; `Eq` and `Ord` follow `ComparableVersion`, so
/// `1.0 == 1` although the strings differ.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: String,
    items: Vec<Item>,
}

/// One item of the version tree.
#[derive(Debug, Clone)]
enum Item {
    /// Decimal digits without leading zeros (`"0"` for zero): any length.
    Number(Decimal),
    /// A lowercased qualifier after aliasing (`cr` → `rc`, `ga` → `""`).
    Qualifier(String),
    /// A sub-list, opened by `-` or a letter/digit switch.
    List(Vec<Item>),
}

/// Known qualifiers in ascending order; `""` is the release itself.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_RANK: usize = 5;

/// The longest version accepted, in bytes.
pub const MAX_LEN: usize = 1024;

impl MavenVersion {
    /// Parses `input`; errors on an empty string or characters outside
    /// printable, non-space ASCII.
    pub fn parse(input: &str) -> Result<MavenVersion, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new(Scheme::Maven, input, "empty version"));
        }
        if input.len() > MAX_LEN {
            return Err(VersionError::new(
                Scheme::Maven,
                input,
                format!("longer than {MAX_LEN} bytes"),
            ));
        }
        if let Some(c) = input.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(VersionError::new(
                Scheme::Maven,
                input,
                format!("character {c:?} is not printable ASCII"),
            ));
        }
        Ok(MavenVersion {
            original: input.to_string(),
            items: parse_items(&input.to_ascii_lowercase()),
        })
    }

    /// The string this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

order_from_ord!(MavenVersion);

/// Builds the item tree of a lowercased version.
fn parse_items(version: &str) -> Vec<Item> {
    let mut tree = Tree::default();
    let bytes = version.as_bytes();
    let mut is_digit = false;
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'.' | b'-' => {
                let item = if i == start {
                    Item::Number(Decimal::zero())
                } else {
                    token_item(is_digit, &version[start..i])
                };
                tree.push(item);
                start = i + 1;
                if c == b'-' {
                    tree.open_list();
                }
            }
            b'0'..=b'9' => {
                if !is_digit && i > start {
                    // Letters then a digit: the letters become their own
                    // qualifier in a new list (`1.0.0.X1` sorts like `1.0.0-X1`).
                    if !tree.current_is_empty() {
                        tree.open_list();
                    }
                    tree.push(qualifier(&version[start..i], true));
                    start = i;
                    tree.open_list();
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    tree.push(token_item(true, &version[start..i]));
                    start = i;
                    tree.open_list();
                }
                is_digit = false;
            }
        }
    }
    if bytes.len() > start {
        // A trailing qualifier after `.` sorts like one after `-`.
        if !is_digit && !tree.current_is_empty() {
            tree.open_list();
        }
        tree.push(token_item(is_digit, &version[start..]));
    }
    tree.finish()
}

/// The list tree under construction: the chain of open lists, root first.
/// New items always go to the innermost list, and a list opened inside
/// another is that list's last item, so the chain is all that is needed.
struct Tree {
    open: Vec<Vec<Item>>,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree {
            open: vec![Vec::new()],
        }
    }
}

impl Tree {
    fn current(&mut self) -> &mut Vec<Item> {
        if self.open.is_empty() {
            self.open.push(Vec::new());
        }
        let last = self.open.len() - 1;
        &mut self.open[last]
    }

    fn current_is_empty(&mut self) -> bool {
        self.current().is_empty()
    }

    fn push(&mut self, item: Item) {
        self.current().push(item);
    }

    fn open_list(&mut self) {
        self.open.push(Vec::new());
    }

    /// Normalizes every list, innermost first, and hangs each under its
    /// parent (a list emptied by its own normalization then counts as null
    /// in its parent).
    fn finish(mut self) -> Vec<Item> {
        while let Some(mut list) = self.open.pop() {
            normalize(&mut list);
            match self.open.last_mut() {
                Some(parent) => parent.push(Item::List(list)),
                None => return list,
            }
        }
        Vec::new()
    }
}

/// Drops trailing null items; scanning from the end goes on past non-null
/// sub-lists but stops at the first non-null number or qualifier.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

fn token_item(is_digit: bool, token: &str) -> Item {
    if is_digit {
        Item::Number(Decimal::from_digits(token))
    } else {
        qualifier(token, false)
    }
}

fn qualifier(token: &str, followed_by_digit: bool) -> Item {
    let name = match (token, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        ("ga" | "final" | "release", _) => "",
        ("cr", _) => "rc",
        (other, _) => other,
    };
    Item::Qualifier(name.to_string())
}

/// Qualifier order: known ones by rank, then unknown ones after all known,
/// lexically among themselves.
fn qualifier_key(name: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|q| *q == name) {
        Some(rank) => (rank, ""),
        None => (QUALIFIERS.len(), name),
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => n.is_zero(),
            Item::Qualifier(q) => q.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// This item against `other`, where `None` is the padding of a shorter
    /// list.
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Number(n), None) => {
                if n.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Number(a), Some(Item::Number(b))) => a.cmp(b),
            (Item::Number(_), Some(_)) => Ordering::Greater,
            (Item::Qualifier(q), None) => qualifier_key(q).cmp(&(RELEASE_RANK, "")),
            (Item::Qualifier(_), Some(Item::Number(_) | Item::List(_))) => Ordering::Less,
            (Item::Qualifier(a), Some(Item::Qualifier(b))) => {
                qualifier_key(a).cmp(&qualifier_key(b))
            }
            // The whole list against nothing (MNG-6964), not just its head.
            (Item::List(items), None) => items
                .iter()
                .map(|item| item.compare(None))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Number(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Qualifier(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(l), r) => l.compare(r),
            (None, Some(r)) => r.compare(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).expect("valid versions")
    }

    #[test]
    fn qualifiers_and_padding() {
        assert_eq!(cmp("1.0-alpha-1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0-SNAPSHOT", "1.0-rc1"), Ordering::Greater);
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-sp", "1"), Ordering::Greater);
        assert_eq!(cmp("1.0-xyz", "1.0-sp"), Ordering::Greater);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(compare("", "1").is_err());
        assert!(compare("1", "1 0").is_err());
        assert!(compare("1é", "1").is_err());
    }
}
