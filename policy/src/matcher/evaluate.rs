//! One component × the advisories its probes returned → its findings.
//!
//! An advisory entry is evaluated by its normalized `rules`; when it has
//! none, by its typed `ranges` read with OSV semantics (events sorted by
//! version, `introduced` opens, `fixed` closes exclusively, `last_affected`
//! inclusively, `limit` and `git` ranges ignored); and in both cases by its
//! explicit `versions` list. What the entry's status makes of a hit:
//!
//! | entry status | version inside | finding status |
//! |---|---|---|
//! | `affected`, `will-not-fix`, `fix-deferred`, `end-of-life` | yes | the same |
//! | `under-investigation` (with no versions: every version) | yes | the same, if [`MatchOptions::include_under_investigation`] |
//! | `fixed` (a distro's "fixed in V": the range is `< V`) | yes | `affected`, fixed in V |
//! | `not-affected` (no versions, or the version inside) | — | none, and the advisory is vetoed for the component |
//!
//! When several entries of one advisory hit, the most definite status wins
//! (`affected` > `fix-deferred` > `will-not-fix` > `end-of-life` >
//! `under-investigation`) and the fixed version is the lowest fix above the
//! installed version among them. When several probes of the component hit
//! (source name and binary name), the first probe's hit is kept. An entry
//! that cannot be decided (the scheme cannot read the installed version or
//! a bound, no versions stated) gives no finding and a warning.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use stella_model::{
    Advisory, AffectedPackage, AffectedStatus, Component, Finding, FindingComponent, MatchRule,
    RangeEvent, RuleKind, VersionRule,
};
use stella_version::{compare, Scheme};

use super::keys::Probe;
use super::severity;
use super::MatchOptions;

/// How one entry relates to the installed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Hit(RuleHit),
    Miss,
    Undecided(String),
}

/// The rule that contains the installed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RuleHit {
    /// The rule in words (`>=1.0, <1.2`).
    pub text: String,
    /// Its exclusive upper bound: the version that fixes it.
    pub fix: Option<String>,
    /// The scheme the versions were ordered by (`pypi`, `deb`, …).
    pub scheme: String,
}

/// Evaluates one entry against `version` (the probe's version).
pub(super) fn entry_outcome(entry: &AffectedPackage, version: &str) -> Outcome {
    let from_ranges;
    let rules: &[VersionRule] = if !entry.rules.is_empty() {
        &entry.rules
    } else {
        match rules_from_ranges(entry) {
            Ok(rules) => {
                from_ranges = rules;
                &from_ranges
            }
            Err(reason) => return Outcome::Undecided(reason),
        }
    };
    let ordered_ranges = entry.ranges.iter().any(|r| r.scheme != "git");
    let git_only = !entry.ranges.is_empty() && !ordered_ranges;
    if entry.rules.is_empty() && !ordered_ranges && entry.versions.is_empty() {
        if entry.status == AffectedStatus::UnderInvestigation {
            return Outcome::Hit(RuleHit {
                text: "all versions (under investigation)".into(),
                fix: None,
                scheme: scheme_name_of_ecosystem(&entry.ecosystem),
            });
        }
        return Outcome::Undecided(if git_only {
            "only git commit ranges and no version list".into()
        } else {
            "states no affected versions".into()
        });
    }

    let mut hits: Vec<RuleHit> = Vec::new();
    let mut undecided: Option<String> = None;
    for rule in rules {
        match rule_contains(rule, version) {
            Ok(true) => hits.push(RuleHit {
                text: rule_text(rule),
                fix: exclusive_max(rule),
                scheme: scheme_name(&rule.scheme),
            }),
            Ok(false) => {}
            Err(reason) => {
                undecided.get_or_insert(reason);
            }
        }
    }
    // The version list only matters when no rule holds the version: a
    // listed hit has no fix, and a rule's hit (with or without one) already
    // decides the outcome. PyPA lists hundreds of versions per entry.
    let listed = if hits.is_empty() {
        listed_version(entry, version)
    } else {
        None
    };
    if let Some(listed) = listed {
        hits.push(RuleHit {
            text: format!("= {listed} (listed)"),
            fix: None,
            scheme: scheme_name_of_ecosystem(&entry.ecosystem),
        });
    }
    match lowest_fix_hit(hits) {
        Some(hit) => Outcome::Hit(hit),
        None => match undecided {
            Some(reason) => Outcome::Undecided(reason),
            None => Outcome::Miss,
        },
    }
}

/// The hit with the lowest fix (a hit without a fix only when none has
/// one); the first of equals.
fn lowest_fix_hit(hits: Vec<RuleHit>) -> Option<RuleHit> {
    let mut best: Option<RuleHit> = None;
    for hit in hits {
        best = match best {
            None => Some(hit),
            Some(current) => Some(if lower_fix(&hit, &current) {
                hit
            } else {
                current
            }),
        };
    }
    best
}

/// Whether `a`'s fix is strictly lower than `b`'s (having one beats none).
fn lower_fix(a: &RuleHit, b: &RuleHit) -> bool {
    match (&a.fix, &b.fix) {
        (Some(x), Some(y)) => {
            Scheme::from_str(&a.scheme)
                .ok()
                .and_then(|s| compare(s, x, y).ok())
                == Some(Ordering::Less)
        }
        (Some(_), None) => true,
        _ => false,
    }
}

/// A scheme's canonical name, or the rule's word when we have none.
fn scheme_name(word: &str) -> String {
    Scheme::from_str(word).map_or_else(|_| word.to_string(), |s| s.name().to_string())
}

fn scheme_name_of_ecosystem(ecosystem: &str) -> String {
    Scheme::for_ecosystem(ecosystem).map_or_else(|| ecosystem.to_string(), |s| s.name().to_string())
}

/// The listed version equal to `version` (by the ecosystem's ordering,
/// else as text).
fn listed_version<'e>(entry: &'e AffectedPackage, version: &str) -> Option<&'e str> {
    let scheme = Scheme::for_ecosystem(&entry.ecosystem);
    entry
        .versions
        .iter()
        .find(|listed| {
            listed.as_str() == version
                || scheme.is_some_and(|s| compare(s, listed, version) == Ok(Ordering::Equal))
        })
        .map(String::as_str)
}

/// Whether `rule` contains `version`; an error names what could not be read.
pub(super) fn rule_contains(rule: &VersionRule, version: &str) -> Result<bool, String> {
    let scheme = Scheme::from_str(&rule.scheme)
        .map_err(|_| format!("no known version ordering for scheme {:?}", rule.scheme))?;
    compare(scheme, version, version)
        .map_err(|e| format!("installed version not readable: {e}"))?;
    let cmp = |bound: &str| {
        compare(scheme, version, bound).map_err(|e| format!("advisory bound not readable: {e}"))
    };
    let need = |bound: &Option<String>, what: &str| {
        bound
            .clone()
            .ok_or_else(|| format!("malformed {:?} rule without {what}", rule.kind))
    };
    let above = |min: &str, inclusive: bool| -> Result<bool, String> {
        let o = cmp(min)?;
        Ok(o == Ordering::Greater || (inclusive && o == Ordering::Equal))
    };
    let below = |max: &str, inclusive: bool| -> Result<bool, String> {
        let o = cmp(max)?;
        Ok(o == Ordering::Less || (inclusive && o == Ordering::Equal))
    };
    Ok(match rule.kind {
        RuleKind::Range => {
            let low = match &rule.min {
                Some(min) => above(min, rule.min_inclusive.unwrap_or(true))?,
                None => true,
            };
            let high = match &rule.max {
                Some(max) => below(max, rule.max_inclusive.unwrap_or(false))?,
                None => true,
            };
            low && high
        }
        RuleKind::Exact => {
            let value = need(&rule.value, "value")?;
            cmp(&value)? == Ordering::Equal
        }
        RuleKind::Lt => below(&need(&rule.max, "max")?, false)?,
        RuleKind::Lte => below(&need(&rule.max, "max")?, true)?,
        RuleKind::Gt => above(&need(&rule.min, "min")?, false)?,
        RuleKind::Gte => above(&need(&rule.min, "min")?, true)?,
    })
}

/// The rule in words: `>=1.0, <1.2`, `<=2.3`, `= 1.5`, `all versions`.
pub(super) fn rule_text(rule: &VersionRule) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match rule.kind {
        RuleKind::Range => {
            let mut parts = Vec::new();
            if let Some(min) = &rule.min {
                let op = if rule.min_inclusive.unwrap_or(true) {
                    ">="
                } else {
                    ">"
                };
                parts.push(format!("{op}{min}"));
            }
            if let Some(max) = &rule.max {
                let op = if rule.max_inclusive.unwrap_or(false) {
                    "<="
                } else {
                    "<"
                };
                parts.push(format!("{op}{max}"));
            }
            if parts.is_empty() {
                "all versions".into()
            } else {
                parts.join(", ")
            }
        }
        RuleKind::Exact => format!("= {}", opt(&rule.value)),
        RuleKind::Lt => format!("<{}", opt(&rule.max)),
        RuleKind::Lte => format!("<={}", opt(&rule.max)),
        RuleKind::Gt => format!(">{}", opt(&rule.min)),
        RuleKind::Gte => format!(">={}", opt(&rule.min)),
    }
}

fn exclusive_max(rule: &VersionRule) -> Option<String> {
    match rule.kind {
        RuleKind::Lt => rule.max.clone(),
        RuleKind::Range if !rule.max_inclusive.unwrap_or(false) => rule.max.clone(),
        _ => None,
    }
}

/// Rules from an entry's typed ranges (OSV's evaluation: each range's
/// events sorted by version, `0` lowest). `git` ranges give none.
fn rules_from_ranges(entry: &AffectedPackage) -> Result<Vec<VersionRule>, String> {
    let mut rules = Vec::new();
    for range in entry.ranges.iter().filter(|r| r.scheme != "git") {
        let scheme = Scheme::from_str(&range.scheme)
            .map_err(|_| format!("no known version ordering for scheme {:?}", range.scheme))?;
        let version_of = |e: &RangeEvent| match e {
            RangeEvent::Introduced(v)
            | RangeEvent::Fixed(v)
            | RangeEvent::LastAffected(v)
            | RangeEvent::Limit(v) => v.clone(),
        };
        let mut events: Vec<&RangeEvent> = range
            .events
            .iter()
            .filter(|e| !matches!(e, RangeEvent::Limit(_)))
            .collect();
        for e in &events {
            let v = version_of(e);
            if v != "0" {
                compare(scheme, &v, &v).map_err(|e| format!("advisory bound not readable: {e}"))?;
            }
        }
        // Sorted by version, `introduced: 0` first; the stable sort keeps
        // the source's order among equal versions.
        events.sort_by(|a, b| {
            let (va, vb) = (version_of(a), version_of(b));
            match (va == "0", vb == "0") {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => compare(scheme, &va, &vb).unwrap_or(Ordering::Equal),
            }
        });
        let mut open: Option<Option<String>> = None;
        let rule = |min: Option<String>, max: Option<String>, inclusive: bool| VersionRule {
            scheme: scheme.name().to_string(),
            kind: RuleKind::Range,
            min_inclusive: min.as_ref().map(|_| true),
            max_inclusive: max.as_ref().map(|_| inclusive),
            min,
            max,
            value: None,
        };
        for event in events {
            match event {
                RangeEvent::Introduced(v) => {
                    if open.is_none() {
                        open = Some((v != "0").then(|| v.clone()));
                    }
                }
                RangeEvent::Fixed(v) | RangeEvent::LastAffected(v) => {
                    if let Some(min) = open.take() {
                        let inclusive = matches!(event, RangeEvent::LastAffected(_));
                        rules.push(rule(min, Some(v.clone()), inclusive));
                    }
                }
                RangeEvent::Limit(_) => {}
            }
        }
        if let Some(min) = open {
            rules.push(rule(min, None, false));
        }
    }
    Ok(rules)
}

/// How definite a finding status is (lower wins).
fn status_rank(status: AffectedStatus) -> u8 {
    match status {
        AffectedStatus::Affected | AffectedStatus::Fixed => 0,
        AffectedStatus::FixDeferred => 1,
        AffectedStatus::WillNotFix => 2,
        AffectedStatus::EndOfLife => 3,
        AffectedStatus::UnderInvestigation => 4,
        AffectedStatus::NotAffected => 5,
    }
}

/// An advisory that hit the component through one probe.
struct Hit<'a> {
    advisory: &'a Advisory,
    probe: &'a Probe,
    entry: &'a AffectedPackage,
    status: AffectedStatus,
    rule: RuleHit,
    fixed: Option<String>,
}

/// Entry outcomes already computed: (probe ecosystem, probe name, index
/// of the advisory in that key's list, index of the entry, version).
pub(super) type Memo = std::collections::HashMap<(String, String, usize, usize, String), Outcome>;

/// Collects one component's hits over all its probes.
pub(super) struct ComponentMatch<'a> {
    component: &'a Component,
    hits: BTreeMap<&'a str, Hit<'a>>,
    vetoed: BTreeSet<&'a str>,
    /// (probe ecosystem, probe name, reason) → advisory ids.
    undecided: BTreeMap<(String, String, String), BTreeSet<&'a str>>,
}

impl<'a> ComponentMatch<'a> {
    pub(super) fn new(component: &'a Component) -> ComponentMatch<'a> {
        ComponentMatch {
            component,
            hits: BTreeMap::new(),
            vetoed: BTreeSet::new(),
            undecided: BTreeMap::new(),
        }
    }

    /// Evaluates `advisory`'s entries for `probe`.
    /// `index` is the advisory's position in its key's list (the memo key).
    pub(super) fn consider(
        &mut self,
        advisory: &'a Advisory,
        index: usize,
        probe: &'a Probe,
        options: &MatchOptions,
        memo: &mut Memo,
    ) {
        let id = advisory.id.as_str();
        let entries = advisory.affected.iter().enumerate().filter(|(_, e)| {
            probe.names_match(&e.ecosystem, &e.name)
                && match (&probe.required_source, &e.source_package) {
                    (Some(required), Some(named)) => required == named,
                    _ => true,
                }
        });
        let mut best: Option<Hit<'a>> = None;
        let mut fixes: Vec<(String, String)> = Vec::new();
        for (entry_index, entry) in entries {
            if entry.status == AffectedStatus::UnderInvestigation
                && !options.include_under_investigation
            {
                continue;
            }
            let memo_key = (
                probe.ecosystem.clone(),
                probe.name.clone(),
                index,
                entry_index,
                probe.version.clone(),
            );
            let outcome = memo
                .entry(memo_key)
                .or_insert_with(|| entry_outcome(entry, &probe.version))
                .clone();
            if entry.status == AffectedStatus::NotAffected {
                let states_versions = !entry.rules.is_empty()
                    || !entry.versions.is_empty()
                    || entry.ranges.iter().any(|r| r.scheme != "git");
                if !states_versions || matches!(outcome, Outcome::Hit(_)) {
                    self.vetoed.insert(id);
                }
                continue;
            }
            match outcome {
                Outcome::Hit(rule) => {
                    if let Some(fix) = &rule.fix {
                        fixes.push((rule.scheme.clone(), fix.clone()));
                    }
                    let status = match entry.status {
                        AffectedStatus::Fixed => AffectedStatus::Affected,
                        other => other,
                    };
                    let better = best
                        .as_ref()
                        .is_none_or(|b| status_rank(status) < status_rank(b.status));
                    if better {
                        best = Some(Hit {
                            advisory,
                            probe,
                            entry,
                            status,
                            rule,
                            fixed: None,
                        });
                    }
                }
                Outcome::Miss => {}
                Outcome::Undecided(reason) => {
                    self.undecided
                        .entry((probe.ecosystem.clone(), probe.name.clone(), reason))
                        .or_default()
                        .insert(id);
                }
            }
        }
        let Some(mut hit) = best else {
            return;
        };
        hit.fixed = lowest(&fixes);
        self.hits.entry(id).or_insert(hit);
    }

    /// The findings, and warnings for what could not be decided.
    pub(super) fn finish(self) -> (Vec<Finding>, Vec<String>) {
        let mut warnings = Vec::new();
        for ((ecosystem, name, reason), ids) in &self.undecided {
            let ids: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !self.hits.contains_key(id) && !self.vetoed.contains(id))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let c = self.component;
            warnings.push(format!(
                "{} {} {}: {ecosystem}/{name}: {reason}; not evaluated: {}",
                c.kind.as_str(),
                c.name,
                c.version,
                ids.join(", ")
            ));
        }
        let findings = self
            .hits
            .values()
            .filter(|h| !self.vetoed.contains(h.advisory.id.as_str()))
            .map(|h| finding(self.component, h))
            .collect();
        (findings, warnings)
    }
}

/// The lowest of the fixes (each with its scheme); the first when they
/// cannot be ordered.
fn lowest(fixes: &[(String, String)]) -> Option<String> {
    let mut best: Option<&(String, String)> = None;
    for fix in fixes {
        best = match best {
            None => Some(fix),
            Some(current) => {
                let lower = Scheme::from_str(&fix.0)
                    .ok()
                    .filter(|_| fix.0 == current.0)
                    .and_then(|s| compare(s, &fix.1, &current.1).ok())
                    == Some(Ordering::Less);
                Some(if lower { fix } else { current })
            }
        };
    }
    best.map(|f| f.1.clone())
}

fn finding(component: &Component, hit: &Hit<'_>) -> Finding {
    let advisory = hit.advisory;
    let mut sources: Vec<String> = if hit.entry.sources.is_empty() {
        advisory
            .provenance
            .iter()
            .map(|p| p.source.clone())
            .collect()
    } else {
        hit.entry.sources.clone()
    };
    sources.sort();
    sources.dedup();
    let (chosen, all) = severity::choose(&advisory.severities, &sources, hit.probe.os);
    let mut references: Vec<String> = advisory.references.iter().map(|r| r.url.clone()).collect();
    references.sort();
    references.dedup();
    Finding {
        id: advisory.id.clone(),
        aliases: advisory.aliases.clone(),
        summary: advisory.summary.clone(),
        component: FindingComponent {
            kind: component.kind,
            name: component.name.clone(),
            version: component.version.clone(),
            purl: component.purl.as_ref().map(ToString::to_string),
            source_name: component.source.as_ref().map(|s| s.name.clone()),
            source_version: component.source.as_ref().map(|s| s.version.clone()),
            layer: component.layer,
            layer_diff_id: component.layer_diff_id.clone(),
            evidence: component.evidence.clone(),
            licenses: component.licenses.clone(),
        },
        installed_version: hit.probe.version.clone(),
        fixed_version: hit.fixed.clone(),
        status: hit.status,
        severity: chosen,
        severities: all,
        matched_by: MatchRule {
            ecosystem: hit.entry.ecosystem.clone(),
            package: hit.entry.name.clone(),
            key: hit.probe.kind.as_str().to_string(),
            scheme: hit.rule.scheme.clone(),
            rule: hit.rule.text.clone(),
            sources,
        },
        published: advisory.published.clone(),
        modified: advisory.modified.clone(),
        references,
        vex: None,
    }
}
