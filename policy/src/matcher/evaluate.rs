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

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::OnceLock;

use stella_model::{
    Advisory, AffectedPackage, AffectedStatus, Component, Finding, FindingComponent,
    FindingSeverity, MatchRule, RangeEvent, RuleKind, VersionRule,
};
use stella_version::{compare, Scheme, Version, VersionError};

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

/// The advisories of one (ecosystem, name) key with every entry compiled:
/// its bounds parsed once, however many components and versions meet it,
/// and each distinct version text parsed once per key (a package's
/// advisories repeat the same bounds and version lists: TensorFlow's 280
/// PyPA entries list mostly the same few hundred versions).
pub(super) struct KeyAdvisories {
    pub advisories: Arc<[Advisory]>,
    /// Per advisory, per entry; `None` for a withdrawn advisory (never
    /// matched).
    compiled: Vec<Option<Vec<CompiledEntry>>>,
}

impl KeyAdvisories {
    pub(super) fn new(advisories: Arc<[Advisory]>) -> KeyAdvisories {
        let mut versions = VersionCache::default();
        let compiled = advisories
            .iter()
            .map(|a| {
                a.withdrawn.is_none().then(|| {
                    a.affected
                        .iter()
                        .map(|entry| CompiledEntry::new(entry, &mut versions))
                        .collect()
                })
            })
            .collect();
        KeyAdvisories {
            advisories,
            compiled,
        }
    }
}

/// Version texts parsed so far, per scheme (a fast hash: the keys are the
/// feeds' own version strings and the map never leaves the key).
#[derive(Default)]
struct VersionCache {
    by_scheme: [HashMap<String, Result<Arc<Version>, VersionError>, foldhash::fast::FixedState>;
        Scheme::ALL.len()],
}

impl VersionCache {
    fn parse(&mut self, scheme: Scheme, text: &str) -> Result<Arc<Version>, VersionError> {
        let cache = &mut self.by_scheme[scheme_slot(scheme)];
        if let Some(parsed) = cache.get(text) {
            return parsed.clone();
        }
        let parsed = Version::parse(scheme, text).map(Arc::new);
        cache.insert(text.to_string(), parsed.clone());
        parsed
    }
}

fn scheme_slot(scheme: Scheme) -> usize {
    Scheme::ALL.iter().position(|s| *s == scheme).unwrap_or(0)
}

/// The installed version of a probe, parsed at most once per scheme.
pub(super) struct InstalledVersion<'p> {
    text: &'p str,
    parsed: [OnceCell<Result<Version, String>>; Scheme::ALL.len()],
}

impl<'p> InstalledVersion<'p> {
    pub(super) fn new(text: &'p str) -> InstalledVersion<'p> {
        InstalledVersion {
            text,
            parsed: Default::default(),
        }
    }

    fn under(&self, scheme: Scheme) -> Result<&Version, &str> {
        self.parsed[scheme_slot(scheme)]
            .get_or_init(|| Version::parse(scheme, self.text).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// An entry ready to be evaluated against any version.
struct CompiledEntry {
    /// Set when the outcome does not depend on the version.
    fixed_outcome: Option<Outcome>,
    rules: Vec<CompiledRule>,
    /// The explicit `versions` list, each parsed by the ecosystem's scheme
    /// when it can be.
    listed: Vec<(String, Option<Arc<Version>>)>,
    /// Positions in `listed` of the versions no rule contains, found the
    /// first time the list is consulted. Only they can decide: the list is
    /// read when no rule holds the installed version, and a version equal
    /// to one a rule (of the list's scheme) contains is contained too.
    /// PyPA entries list exactly the versions their ranges hold, so this
    /// is usually empty.
    uncovered: OnceLock<Vec<usize>>,
    listed_scheme: Option<Scheme>,
    ecosystem_scheme: String,
    /// The severity choice, per OS/language probe (it depends only on the
    /// advisory, the entry's sources and that).
    rating: [OnceLock<Rated>; 2],
}

/// One rule with its bounds parsed.
struct CompiledRule {
    /// Why no version can be tested (unknown scheme), else the scheme.
    scheme: Result<Scheme, String>,
    /// Why the rule cannot be read (a malformed rule, an unreadable
    /// bound), else the test.
    test: Result<RuleTest, String>,
    /// What a hit reports.
    hit: RuleHit,
}

enum RuleTest {
    /// Lower and upper bound, each with its inclusiveness.
    Between(Option<(Arc<Version>, bool)>, Option<(Arc<Version>, bool)>),
    Exact(Arc<Version>),
}

/// A finding's sources, severities and references, shared by the findings
/// of an entry.
struct Rated {
    references: Arc<[String]>,
    sources: Vec<String>,
    chosen: Option<FindingSeverity>,
    all: Vec<FindingSeverity>,
}

impl CompiledEntry {
    fn new(entry: &AffectedPackage, versions: &mut VersionCache) -> CompiledEntry {
        let ecosystem_scheme = scheme_name_of_ecosystem(&entry.ecosystem);
        let mut compiled = CompiledEntry {
            fixed_outcome: None,
            rules: Vec::new(),
            listed: Vec::new(),
            uncovered: OnceLock::new(),
            listed_scheme: Scheme::for_ecosystem(&entry.ecosystem),
            ecosystem_scheme,
            rating: Default::default(),
        };
        let from_ranges;
        let rules: &[VersionRule] = if !entry.rules.is_empty() {
            &entry.rules
        } else {
            match rules_from_ranges(entry) {
                Ok(rules) => {
                    from_ranges = rules;
                    &from_ranges
                }
                Err(reason) => {
                    compiled.fixed_outcome = Some(Outcome::Undecided(reason));
                    return compiled;
                }
            }
        };
        let ordered_ranges = entry.ranges.iter().any(|r| r.scheme != "git");
        let git_only = !entry.ranges.is_empty() && !ordered_ranges;
        if entry.rules.is_empty() && !ordered_ranges && entry.versions.is_empty() {
            compiled.fixed_outcome = Some(if entry.status == AffectedStatus::UnderInvestigation {
                Outcome::Hit(RuleHit {
                    text: "all versions (under investigation)".into(),
                    fix: None,
                    scheme: compiled.ecosystem_scheme.clone(),
                })
            } else {
                Outcome::Undecided(if git_only {
                    "only git commit ranges and no version list".into()
                } else {
                    "states no affected versions".into()
                })
            });
            return compiled;
        }
        compiled.rules = rules
            .iter()
            .map(|rule| CompiledRule::new(rule, versions))
            .collect();
        compiled.listed = entry
            .versions
            .iter()
            .map(|v| {
                let parsed = compiled
                    .listed_scheme
                    .and_then(|s| versions.parse(s, v).ok());
                (v.clone(), parsed)
            })
            .collect();
        compiled
    }

    /// Evaluates the entry against the installed version.
    fn outcome(&self, installed: &InstalledVersion<'_>) -> Outcome {
        if let Some(fixed) = &self.fixed_outcome {
            return fixed.clone();
        }
        let mut hits: Vec<&RuleHit> = Vec::new();
        let mut undecided: Option<String> = None;
        for rule in &self.rules {
            match rule.contains(installed) {
                Ok(true) => hits.push(&rule.hit),
                Ok(false) => {}
                Err(reason) => {
                    undecided.get_or_insert(reason);
                }
            }
        }
        // The version list only matters when no rule holds the version: a
        // listed hit has no fix, and a rule's hit (with or without one)
        // already decides the outcome. PyPA lists hundreds of versions per
        // entry.
        let listed_hit;
        if hits.is_empty() {
            if let Some(listed) = self.listed_version(installed) {
                listed_hit = RuleHit {
                    text: format!("= {listed} (listed)"),
                    fix: None,
                    scheme: self.ecosystem_scheme.clone(),
                };
                hits.push(&listed_hit);
            }
        }
        match lowest_fix_hit(hits) {
            Some(hit) => Outcome::Hit(hit.clone()),
            None => match undecided {
                Some(reason) => Outcome::Undecided(reason),
                None => Outcome::Miss,
            },
        }
    }

    /// The listed version equal to the installed one (by the ecosystem's
    /// ordering, else as text).
    fn listed_version(&self, installed: &InstalledVersion<'_>) -> Option<&str> {
        if self.listed.is_empty() {
            return None;
        }
        let parsed = self.listed_scheme.and_then(|s| installed.under(s).ok());
        self.uncovered()
            .iter()
            .filter_map(|&i| self.listed.get(i))
            .find(|(text, listed)| {
                text == installed.text
                    || matches!((listed, parsed), (Some(l), Some(p)) if l.compare(p) == Some(Ordering::Equal))
            })
            .map(|(text, _)| text.as_str())
    }

    /// See [`CompiledEntry::uncovered`]: a listed version is covered when a
    /// rule of the list's own scheme surely contains it.
    fn uncovered(&self) -> &[usize] {
        self.uncovered.get_or_init(|| {
            let covering: Vec<&CompiledRule> = self
                .rules
                .iter()
                .filter(|r| {
                    self.listed_scheme.is_some()
                        && r.scheme.as_ref().ok() == self.listed_scheme.as_ref()
                })
                .collect();
            self.listed
                .iter()
                .enumerate()
                .filter(|(_, (_, parsed))| {
                    !parsed.as_ref().is_some_and(|v| {
                        covering
                            .iter()
                            .any(|rule| rule.contains_version(v) == Ok(true))
                    })
                })
                .map(|(i, _)| i)
                .collect()
        })
    }

    /// Sources and severities of a finding of this entry (see [`severity`]).
    fn rated(&self, advisory: &Advisory, entry: &AffectedPackage, os: bool) -> &Rated {
        self.rating[usize::from(os)].get_or_init(|| {
            let mut sources: Vec<String> = if entry.sources.is_empty() {
                advisory
                    .provenance
                    .iter()
                    .map(|p| p.source.clone())
                    .collect()
            } else {
                entry.sources.clone()
            };
            sources.sort();
            sources.dedup();
            let (chosen, all) = severity::choose(&advisory.severities, &sources, os);
            let mut references: Vec<String> =
                advisory.references.iter().map(|r| r.url.clone()).collect();
            references.sort();
            references.dedup();
            Rated {
                references: references.into(),
                sources,
                chosen,
                all,
            }
        })
    }
}

impl CompiledRule {
    fn new(rule: &VersionRule, versions: &mut VersionCache) -> CompiledRule {
        let hit = RuleHit {
            text: rule_text(rule),
            fix: exclusive_max(rule),
            scheme: scheme_name(&rule.scheme),
        };
        let scheme = Scheme::from_str(&rule.scheme)
            .map_err(|_| format!("no known version ordering for scheme {:?}", rule.scheme));
        let test = match scheme {
            Ok(scheme) => RuleTest::new(rule, scheme, versions),
            Err(_) => Err(String::new()),
        };
        CompiledRule { scheme, test, hit }
    }

    /// Whether the rule contains the installed version; an error names what
    /// could not be read: the scheme, then the installed version, then the
    /// rule's bounds.
    fn contains(&self, installed: &InstalledVersion<'_>) -> Result<bool, String> {
        let scheme = self.scheme.as_ref().map_err(Clone::clone)?;
        let version = installed
            .under(*scheme)
            .map_err(|e| format!("installed version not readable: {e}"))?;
        self.contains_version(version)
    }

    /// Whether the rule contains `version` (parsed by the rule's scheme).
    fn contains_version(&self, version: &Version) -> Result<bool, String> {
        let test = self.test.as_ref().map_err(Clone::clone)?;
        // Same scheme on both sides: `compare` always answers.
        let cmp = |bound: &Version| version.compare(bound).unwrap_or(Ordering::Equal);
        Ok(match test {
            RuleTest::Between(low, high) => {
                let above = low.as_ref().is_none_or(|(min, inclusive)| {
                    let o = cmp(min);
                    o == Ordering::Greater || (*inclusive && o == Ordering::Equal)
                });
                let below = high.as_ref().is_none_or(|(max, inclusive)| {
                    let o = cmp(max);
                    o == Ordering::Less || (*inclusive && o == Ordering::Equal)
                });
                above && below
            }
            RuleTest::Exact(value) => cmp(value) == Ordering::Equal,
        })
    }
}

impl RuleTest {
    /// The rule's bounds parsed; the first that cannot be read (or is
    /// missing) is the error, lower bound first.
    fn new(
        rule: &VersionRule,
        scheme: Scheme,
        versions: &mut VersionCache,
    ) -> Result<RuleTest, String> {
        let mut parse = |bound: &str| {
            versions
                .parse(scheme, bound)
                .map_err(|e| format!("advisory bound not readable: {e}"))
        };
        fn need<'r>(
            rule: &'r VersionRule,
            bound: &'r Option<String>,
            what: &str,
        ) -> Result<&'r str, String> {
            bound
                .as_deref()
                .ok_or_else(|| format!("malformed {:?} rule without {what}", rule.kind))
        }
        Ok(match rule.kind {
            RuleKind::Range => {
                let low = match &rule.min {
                    Some(min) => Some((parse(min)?, rule.min_inclusive.unwrap_or(true))),
                    None => None,
                };
                let high = match &rule.max {
                    Some(max) => Some((parse(max)?, rule.max_inclusive.unwrap_or(false))),
                    None => None,
                };
                RuleTest::Between(low, high)
            }
            RuleKind::Exact => RuleTest::Exact(parse(need(rule, &rule.value, "value")?)?),
            RuleKind::Lt => {
                RuleTest::Between(None, Some((parse(need(rule, &rule.max, "max")?)?, false)))
            }
            RuleKind::Lte => {
                RuleTest::Between(None, Some((parse(need(rule, &rule.max, "max")?)?, true)))
            }
            RuleKind::Gt => {
                RuleTest::Between(Some((parse(need(rule, &rule.min, "min")?)?, false)), None)
            }
            RuleKind::Gte => {
                RuleTest::Between(Some((parse(need(rule, &rule.min, "min")?)?, true)), None)
            }
        })
    }
}

/// The hit with the lowest fix (a hit without a fix only when none has
/// one); the first of equals.
fn lowest_fix_hit(hits: Vec<&RuleHit>) -> Option<&RuleHit> {
    let mut best: Option<&RuleHit> = None;
    for hit in hits {
        best = match best {
            None => Some(hit),
            Some(current) => Some(if lower_fix(hit, current) {
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
    compiled: &'a CompiledEntry,
    status: AffectedStatus,
    rule: RuleHit,
    fixed: Option<String>,
}

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

    /// Evaluates the entries of the `index`th advisory of `key` for
    /// `probe`, whose version is `installed`.
    pub(super) fn consider(
        &mut self,
        key: &'a KeyAdvisories,
        index: usize,
        probe: &'a Probe,
        installed: &InstalledVersion<'_>,
        options: &MatchOptions,
    ) {
        let (Some(advisory), Some(Some(compiled))) =
            (key.advisories.get(index), key.compiled.get(index))
        else {
            return;
        };
        let id = advisory.id.as_str();
        let entries = advisory.affected.iter().zip(compiled).filter(|(e, _)| {
            probe.names_match(&e.ecosystem, &e.name)
                && match (&probe.required_source, &e.source_package) {
                    (Some(required), Some(named)) => required == named,
                    _ => true,
                }
        });
        let mut best: Option<Hit<'a>> = None;
        let mut fixes: Vec<(String, String)> = Vec::new();
        for (entry, compiled) in entries {
            if entry.status == AffectedStatus::UnderInvestigation
                && !options.include_under_investigation
            {
                continue;
            }
            let outcome = compiled.outcome(installed);
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
                            compiled,
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
        let hits: Vec<&Hit<'_>> = self
            .hits
            .values()
            .filter(|h| !self.vetoed.contains(h.advisory.id.as_str()))
            .collect();
        if hits.is_empty() {
            return (Vec::new(), warnings);
        }
        // The component's part is the same in each of its findings.
        let component = finding_component(self.component);
        let findings = hits.into_iter().map(|h| finding(&component, h)).collect();
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

fn finding_component(component: &Component) -> Arc<FindingComponent> {
    Arc::new(FindingComponent {
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
    })
}

fn finding(component: &Arc<FindingComponent>, hit: &Hit<'_>) -> Finding {
    let advisory = hit.advisory;
    let rated = hit.compiled.rated(advisory, hit.entry, hit.probe.os);
    Finding {
        id: advisory.id.clone(),
        aliases: advisory.aliases.clone(),
        summary: advisory.summary.clone(),
        component: Arc::clone(component),
        installed_version: hit.probe.version.clone(),
        fixed_version: hit.fixed.clone(),
        status: hit.status,
        severity: rated.chosen.clone(),
        severities: rated.all.clone(),
        matched_by: MatchRule {
            ecosystem: hit.entry.ecosystem.clone(),
            package: hit.entry.name.clone(),
            key: hit.probe.kind.as_str().to_string(),
            scheme: hit.rule.scheme.clone(),
            rule: hit.rule.text.clone(),
            sources: rated.sources.clone(),
        },
        published: advisory.published.clone(),
        modified: advisory.modified.clone(),
        references: Arc::clone(&rated.references),
        vex: None,
    }
}
