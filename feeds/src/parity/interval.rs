//! Version intervals as the parity detector compares them.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use stella_model::{RuleKind, VersionRule};

use crate::version::{compare, Scheme};

/// One affected interval: `[min, max)` with the bounds' inclusivity, or
/// one exact version. An absent bound is unbounded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Interval {
    pub fn of_rule(rule: &VersionRule) -> Interval {
        let mut i = Interval {
            scheme: rule.scheme.clone(),
            min: None,
            min_inclusive: None,
            max: None,
            max_inclusive: None,
            value: None,
        };
        match rule.kind {
            RuleKind::Exact => i.value = rule.value.clone(),
            RuleKind::Lt | RuleKind::Lte => {
                i.max = rule.max.clone();
                i.max_inclusive = Some(rule.kind == RuleKind::Lte);
            }
            RuleKind::Gt | RuleKind::Gte => {
                i.min = rule.min.clone();
                i.min_inclusive = Some(rule.kind == RuleKind::Gte);
            }
            RuleKind::Range => {
                i.min = rule.min.clone();
                i.min_inclusive = i.min.as_ref().map(|_| rule.min_inclusive.unwrap_or(true));
                i.max = rule.max.clone();
                i.max_inclusive = i.max.as_ref().map(|_| rule.max_inclusive.unwrap_or(false));
            }
        }
        // "From the first version": OSV's `0`, and SemVer's lowest version
        // `0.0.0-0` (RustSec) when inclusive.
        let lowest = |m: &str| m == "0" || (i.scheme == Scheme::Semver.name() && m == "0.0.0-0");
        if i.min.as_deref().is_some_and(lowest) && i.min_inclusive != Some(false) {
            i.min = None;
            i.min_inclusive = None;
        }
        i
    }

    /// The first version no longer affected (an exclusive upper bound).
    pub fn fixed(&self) -> Option<&str> {
        match (self.max.as_deref(), self.max_inclusive) {
            (Some(max), Some(false)) if self.value.is_none() => Some(max),
            _ => None,
        }
    }

    fn same(&self, other: &Interval) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => same_version(&self.scheme, a, b),
            _ => false,
        };
        self.scheme == other.scheme
            && eq(&self.min, &other.min)
            && self.min_inclusive == other.min_inclusive
            && eq(&self.max, &other.max)
            && self.max_inclusive == other.max_inclusive
            && eq(&self.value, &other.value)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = &self.value {
            return write!(f, "={v} ({})", self.scheme);
        }
        let mut parts = Vec::new();
        if let Some(min) = &self.min {
            let op = if self.min_inclusive == Some(false) {
                ">"
            } else {
                ">="
            };
            parts.push(format!("{op}{min}"));
        }
        if let Some(max) = &self.max {
            let op = if self.max_inclusive == Some(true) {
                "<="
            } else {
                "<"
            };
            parts.push(format!("{op}{max}"));
        }
        if parts.is_empty() {
            parts.push("all versions".into());
        }
        write!(f, "{} ({})", parts.join(", "), self.scheme)
    }
}

/// Equal versions: by the scheme's comparator when it has one and both
/// parse, else by text.
pub fn same_version(scheme: &str, a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match scheme.parse::<Scheme>() {
        Ok(s) => compare(s, a, b) == Ok(Ordering::Equal),
        Err(_) => false,
    }
}

/// Intervals of each side that the other side has no equal of (each
/// interval matches at most one on the other side), sorted.
pub fn unmatched(left: &[Interval], right: &[Interval]) -> (Vec<Interval>, Vec<Interval>) {
    let mut taken = vec![false; right.len()];
    let mut only_left = Vec::new();
    for l in left {
        match (0..right.len()).find(|&j| !taken[j] && l.same(&right[j])) {
            Some(j) => taken[j] = true,
            None => only_left.push(l.clone()),
        }
    }
    let mut only_right: Vec<Interval> = right
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(r, _)| r.clone())
        .collect();
    only_left.sort();
    only_left.dedup();
    only_right.sort();
    only_right.dedup();
    (only_left, only_right)
}

/// Whether two lists of `(scheme, version)` name the same set of versions.
pub fn same_versions(left: &[(String, String)], right: &[(String, String)]) -> bool {
    let covered = |a: &[(String, String)], b: &[(String, String)]| {
        a.iter()
            .all(|(s, v)| b.iter().any(|(t, w)| s == t && same_version(s, v, w)))
    };
    covered(left, right) && covered(right, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(scheme: &str, kind: RuleKind, min: Option<&str>, max: Option<&str>) -> VersionRule {
        VersionRule {
            scheme: scheme.into(),
            kind,
            min: min.map(String::from),
            min_inclusive: min.map(|_| true),
            max: max.map(String::from),
            max_inclusive: max.map(|_| false),
            value: None,
        }
    }

    #[test]
    fn the_lowest_semver_version_is_no_lower_bound() {
        let rustsec = Interval::of_rule(&rule(
            "semver",
            RuleKind::Range,
            Some("0.0.0-0"),
            Some("0.3.5"),
        ));
        let ghsa = Interval::of_rule(&rule("semver", RuleKind::Lt, None, Some("0.3.5")));
        assert!(rustsec.same(&ghsa), "{rustsec} vs {ghsa}");
        assert_eq!(rustsec.fixed(), Some("0.3.5"));
        // Not in other schemes: there `0.0.0-0` is just a version.
        let pypi = Interval::of_rule(&rule("pypi", RuleKind::Range, Some("0.0.0-0"), Some("1")));
        assert_eq!(pypi.min.as_deref(), Some("0.0.0-0"));
    }

    #[test]
    fn unmatched_pairs_each_interval_once() {
        let a = Interval::of_rule(&rule("semver", RuleKind::Lt, None, Some("1.6.1")));
        let b = Interval::of_rule(&rule(
            "semver",
            RuleKind::Range,
            Some("2.0.0"),
            Some("2.1.0"),
        ));
        let (l, r) = unmatched(std::slice::from_ref(&a), &[a.clone(), b.clone()]);
        assert!(l.is_empty());
        assert_eq!(r, vec![b]);
        let (l, r) = unmatched(&[a.clone(), a.clone()], std::slice::from_ref(&a));
        assert_eq!((l.len(), r.len()), (1, 0));
    }

    #[test]
    fn text_decides_when_the_scheme_is_unknown() {
        assert!(same_version("DHI", "1.0", "1.0"));
        assert!(!same_version("DHI", "1.0", "1.0.0"));
    }
}
