//! Parity detector: how two sources describe the same vulnerabilities
//! (e.g. GHSA against the PyPA, Go or RustSec records that alias it).
//!
//! Records of both sides are joined by alias closure (the merge's
//! [`closure`](crate::merge::closure), same cap). A group with records on
//! both sides is a *pair*; each side of a pair is the union of its records.
//! For each pair the report lists:
//!
//! - ids (own id + aliases) one side names and the other does not;
//! - affected packages (matched by ecosystem and name, PEP 503 for PyPI)
//!   present on one side only;
//! - for packages on both sides: version intervals one side has and the
//!   other lacks, and the fixed versions when their sets differ;
//! - severities (CVSS type + vector) when the two sides' sets differ.
//!
//! Intervals come from the normalized rules of non-`git` ranges.
//! `introduced: "0"` — and SemVer's lowest version `0.0.0-0`, which RustSec
//! writes for it — mean "no lower bound". Versions are equal when the
//! scheme's comparator says so ([`crate::version::compare`]); when the
//! scheme is unknown or a version does not parse, when their text is equal.
//!
//! Groups with records on one side only are listed as having no
//! counterpart. Everything is sorted: the same input gives the same report.

mod interval;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use stella_model::{Advisory, SeverityKind};

use crate::merge::{closure, package_key, DEFAULT_MAX_GROUP_SIZE};
pub use interval::Interval;

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParityReport {
    pub counts: ParityCounts,
    /// Groups with records on both sides, by their first left id.
    pub pairs: Vec<PairReport>,
    /// Record ids with no counterpart on the other side, sorted.
    pub only_left: Vec<String>,
    pub only_right: Vec<String>,
    /// Alias links not followed because the group would exceed the cap
    /// (the shared id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capped_links: Vec<String>,
}

/// How many of each difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParityCounts {
    pub left_records: usize,
    pub right_records: usize,
    pub pairs: usize,
    /// Pairs with at least one difference.
    pub pairs_with_differences: usize,
    pub only_left: usize,
    pub only_right: usize,
    /// Pairs whose id sets differ.
    pub alias_mismatches: usize,
    /// Packages (summed over pairs).
    pub packages_only_left: usize,
    pub packages_only_right: usize,
    /// Intervals (summed over packages).
    pub ranges_only_left: usize,
    pub ranges_only_right: usize,
    /// Packages whose fixed-version sets differ.
    pub fixed_version_mismatches: usize,
    /// Pairs whose severity sets differ.
    pub severity_mismatches: usize,
}

/// One pair of records (or record sets) that describe the same thing.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairReport {
    pub left_ids: Vec<String>,
    pub right_ids: Vec<String>,
    /// Number of differences listed below.
    pub differences: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases_only_left: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases_only_right: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages_only_left: Vec<PackageRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages_only_right: Vec<PackageRef>,
    /// Packages on both sides whose ranges or fixed versions differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageDiff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severities: Option<SeverityDiff>,
}

/// A package as (ecosystem, name) — the name as the side wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageRef {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDiff {
    pub ecosystem: String,
    /// The matching key's name (PEP 503-normalized for PyPI).
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges_only_left: Vec<Interval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges_only_right: Vec<Interval>,
    /// Both sides' fixed versions, when the sets differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<FixedDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FixedDiff {
    pub left: Vec<String>,
    pub right: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SeverityDiff {
    pub left: Vec<SeverityRef>,
    pub right: Vec<SeverityRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeverityRef {
    pub kind: SeverityKind,
    pub vector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
}

/// Compares two sides.
pub fn parity(left: &[Advisory], right: &[Advisory]) -> ParityReport {
    // Fixed order for the closure: left records by id, then right.
    let mut all: Vec<(bool, &Advisory)> = Vec::new();
    for (side, is_left) in [(left, true), (right, false)] {
        let mut v: Vec<&Advisory> = side.iter().collect();
        v.sort_by_cached_key(|a| (a.id.clone(), serde_json::to_string(a).unwrap_or_default()));
        all.extend(v.into_iter().map(|a| (is_left, a)));
    }
    let ids: Vec<Vec<&String>> = all
        .iter()
        .map(|(_, a)| {
            std::iter::once(&a.id)
                .chain(&a.aliases)
                .chain(&a.upstream)
                .collect()
        })
        .collect();
    let closure = closure::closure(&ids, DEFAULT_MAX_GROUP_SIZE);

    let mut report = ParityReport {
        counts: ParityCounts {
            left_records: left.len(),
            right_records: right.len(),
            ..ParityCounts::default()
        },
        ..ParityReport::default()
    };
    for group in &closure.groups {
        let l: Vec<&Advisory> = group
            .iter()
            .filter(|&&i| all[i].0)
            .map(|&i| all[i].1)
            .collect();
        let r: Vec<&Advisory> = group
            .iter()
            .filter(|&&i| !all[i].0)
            .map(|&i| all[i].1)
            .collect();
        match (l.is_empty(), r.is_empty()) {
            (false, true) => report.only_left.extend(l.iter().map(|a| a.id.clone())),
            (true, false) => report.only_right.extend(r.iter().map(|a| a.id.clone())),
            _ => report.pairs.push(compare_pair(&l, &r)),
        }
    }
    report.only_left.sort();
    report.only_right.sort();
    report
        .pairs
        .sort_by(|a, b| (&a.left_ids, &a.right_ids).cmp(&(&b.left_ids, &b.right_ids)));
    report.capped_links = closure.capped.iter().map(|c| c.shared_id.clone()).collect();
    report.capped_links.sort();
    report.capped_links.dedup();

    let c = &mut report.counts;
    c.pairs = report.pairs.len();
    c.only_left = report.only_left.len();
    c.only_right = report.only_right.len();
    for p in &report.pairs {
        c.pairs_with_differences += usize::from(p.differences > 0);
        c.alias_mismatches +=
            usize::from(!p.aliases_only_left.is_empty() || !p.aliases_only_right.is_empty());
        c.packages_only_left += p.packages_only_left.len();
        c.packages_only_right += p.packages_only_right.len();
        for d in &p.packages {
            c.ranges_only_left += d.ranges_only_left.len();
            c.ranges_only_right += d.ranges_only_right.len();
            c.fixed_version_mismatches += usize::from(d.fixed.is_some());
        }
        c.severity_mismatches += usize::from(p.severities.is_some());
    }
    report
}

/// A side's view of one package: its names as written, intervals, fixed
/// versions.
#[derive(Default)]
struct SidePackage {
    names: Vec<PackageRef>,
    intervals: Vec<Interval>,
    fixed: Vec<(String, String)>,
}

fn packages(records: &[&Advisory]) -> BTreeMap<(String, String), SidePackage> {
    let mut out: BTreeMap<(String, String), SidePackage> = BTreeMap::new();
    for a in records {
        for p in &a.affected {
            let entry = out.entry(package_key(&p.ecosystem, &p.name)).or_default();
            entry.names.push(PackageRef {
                ecosystem: p.ecosystem.clone(),
                name: p.name.clone(),
            });
            for rule in &p.rules {
                let interval = Interval::of_rule(rule);
                if let Some(fixed) = interval.fixed() {
                    entry.fixed.push((rule.scheme.clone(), fixed.to_string()));
                }
                entry.intervals.push(interval);
            }
        }
    }
    for p in out.values_mut() {
        p.names.sort();
        p.names.dedup();
    }
    out
}

fn compare_pair(left: &[&Advisory], right: &[&Advisory]) -> PairReport {
    let sorted_ids = |side: &[&Advisory]| {
        let mut v: Vec<String> = side.iter().map(|a| a.id.clone()).collect();
        v.sort();
        v
    };
    let mut pair = PairReport {
        left_ids: sorted_ids(left),
        right_ids: sorted_ids(right),
        ..PairReport::default()
    };

    let names = |side: &[&Advisory]| {
        let mut v: Vec<String> = side
            .iter()
            .flat_map(|a| std::iter::once(&a.id).chain(&a.aliases).cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (l_ids, r_ids) = (names(left), names(right));
    pair.aliases_only_left = l_ids
        .iter()
        .filter(|i| !r_ids.contains(i))
        .cloned()
        .collect();
    pair.aliases_only_right = r_ids
        .iter()
        .filter(|i| !l_ids.contains(i))
        .cloned()
        .collect();

    let (mut l_pkgs, mut r_pkgs) = (packages(left), packages(right));
    let keys: BTreeSet<(String, String)> = l_pkgs.keys().chain(r_pkgs.keys()).cloned().collect();
    for key in keys {
        match (l_pkgs.remove(&key), r_pkgs.remove(&key)) {
            (Some(l), None) => pair.packages_only_left.extend(l.names),
            (None, Some(r)) => pair.packages_only_right.extend(r.names),
            (Some(l), Some(r)) => {
                let (only_l, only_r) = interval::unmatched(&l.intervals, &r.intervals);
                let fixed = interval::same_versions(&l.fixed, &r.fixed);
                let diff = PackageDiff {
                    ecosystem: key.0,
                    name: key.1,
                    ranges_only_left: only_l,
                    ranges_only_right: only_r,
                    fixed: (!fixed).then(|| FixedDiff {
                        left: sorted_text(&l.fixed),
                        right: sorted_text(&r.fixed),
                    }),
                };
                if !diff.ranges_only_left.is_empty()
                    || !diff.ranges_only_right.is_empty()
                    || diff.fixed.is_some()
                {
                    pair.packages.push(diff);
                }
            }
            (None, None) => {}
        }
    }

    let severities = |side: &[&Advisory]| {
        let mut v: Vec<SeverityRef> = side
            .iter()
            .flat_map(|a| &a.severities)
            .map(|s| SeverityRef {
                kind: s.kind,
                vector: s.vector.clone(),
                base_score: s.base_score,
            })
            .collect();
        v.sort_by(|a, b| (a.kind, &a.vector).cmp(&(b.kind, &b.vector)));
        v.dedup_by(|a, b| (a.kind, &a.vector) == (b.kind, &b.vector));
        v
    };
    let (l_sev, r_sev) = (severities(left), severities(right));
    let key = |v: &[SeverityRef]| {
        v.iter()
            .map(|s| (s.kind, s.vector.clone()))
            .collect::<Vec<_>>()
    };
    if key(&l_sev) != key(&r_sev) {
        pair.severities = Some(SeverityDiff {
            left: l_sev,
            right: r_sev,
        });
    }

    pair.differences = pair.aliases_only_left.len()
        + pair.aliases_only_right.len()
        + pair.packages_only_left.len()
        + pair.packages_only_right.len()
        + pair
            .packages
            .iter()
            .map(|d| {
                d.ranges_only_left.len()
                    + d.ranges_only_right.len()
                    + usize::from(d.fixed.is_some())
            })
            .sum::<usize>()
        + usize::from(pair.severities.is_some());
    pair
}

fn sorted_text(versions: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = versions.iter().map(|(_, v)| v.clone()).collect();
    v.sort();
    v.dedup();
    v
}
