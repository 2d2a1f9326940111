//! A policy applied to an inventory and its findings: the verdict.
//!
//! Finding rules look at active findings only (VEX `not_affected` and
//! `fixed` take a finding out of every rule); package and license rules at
//! the inventory's components. A reason a live exception covers goes to
//! `waived` instead; an expired exception waives nothing and is a warning
//! of its own, so stale waivers get noticed.

use stella_model::{
    ArtifactRef, Component, ComponentKind, Digest, Finding, FindingSeverity, Inventory, Outcome,
    Rating, Verdict, VerdictReason, VERDICT_SCHEMA,
};

use super::document::{
    Exception, FindingConditions, LicenseLists, PackageLists, Policy, Rule, RuleKind, Scope,
    UnknownLicense,
};
use super::license;
use crate::time::Timestamp;

/// What a policy is evaluated against, and the digests the verdict records.
#[derive(Debug, Clone)]
pub struct EvalInput<'a> {
    pub inventory: &'a Inventory,
    pub findings: &'a [Finding],
    /// The instant ages and expiries are judged at (`--at`,
    /// `SOURCE_DATE_EPOCH` or the wall clock: the caller decides).
    pub now: Timestamp,
    pub policy_ref: ArtifactRef,
    pub feeds_ref: ArtifactRef,
    pub vex_refs: Vec<ArtifactRef>,
    /// The scanned manifest, when there is one.
    pub subject: Option<Digest>,
}

/// How a component is named in reasons: its purl, else `kind:name@version`.
pub fn component_label(
    kind: ComponentKind,
    name: &str,
    version: &str,
    purl: Option<&str>,
) -> String {
    match purl {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => format!("{}:{name}@{version}", kind.as_str()),
    }
}

/// Judges `input` by `policy`. The same inputs give the same verdict:
/// reasons and waivers are sorted and deduplicated.
pub fn evaluate(policy: &Policy, input: &EvalInput) -> Verdict {
    let mut reasons = Vec::new();
    let mut waived = Vec::new();
    for rule in &policy.rules {
        match &rule.kind {
            RuleKind::Findings(c) => {
                for f in input.findings.iter().filter(|f| f.is_active()) {
                    if !in_scope(&rule.scope, f.component.kind, f.component.purl.as_deref()) {
                        continue;
                    }
                    let Some(clauses) = finding_clauses(c, f, input.now) else {
                        continue;
                    };
                    let component = component_label(
                        f.component.kind,
                        &f.component.name,
                        &f.component.version,
                        f.component.purl.as_deref(),
                    );
                    let mut reason = VerdictReason {
                        rule: rule.id.clone(),
                        action: rule.action.outcome(),
                        finding: Some(f.id.clone()),
                        message: format!("{} in {component}: {}", f.id, clauses.join("; ")),
                        component,
                        exception: None,
                    };
                    match waiver(&policy.exceptions, f, input.now) {
                        Some(ex) => {
                            reason.exception =
                                Some(format!("{} (expires {})", ex.id, ex.expires.text));
                            waived.push(reason);
                        }
                        None => reasons.push(reason),
                    }
                }
            }
            RuleKind::Packages(lists) => {
                for c in scoped(&rule.scope, input.inventory) {
                    if let Some(message) = packages_message(lists, c) {
                        reasons.push(component_reason(rule, c, message));
                    }
                }
            }
            RuleKind::Licenses(lists) => {
                for c in scoped(&rule.scope, input.inventory) {
                    if let Some(message) = licenses_message(lists, c) {
                        reasons.push(component_reason(rule, c, message));
                    }
                }
            }
        }
    }
    for ex in policy
        .exceptions
        .iter()
        .filter(|ex| input.now >= ex.expires.at)
    {
        reasons.push(VerdictReason {
            rule: ex.id.clone(),
            action: Outcome::Warn,
            finding: Some(ex.vulnerability.clone()),
            component: ex.purl.as_ref().map_or("*".into(), |p| p.text.clone()),
            message: format!(
                "exception {} for {} expired ({}, evaluated at {}): it waives nothing any more",
                ex.id, ex.vulnerability, ex.expires.text, input.now
            ),
            exception: Some(format!("{} (expired {})", ex.id, ex.expires.text)),
        });
    }
    reasons.sort();
    reasons.dedup();
    waived.sort();
    waived.dedup();
    let mut vex = input.vex_refs.clone();
    vex.sort();
    vex.dedup();
    Verdict {
        schema: VERDICT_SCHEMA.to_string(),
        outcome: reasons
            .iter()
            .map(|r| r.action)
            .max()
            .unwrap_or(Outcome::Pass),
        subject: input.subject.clone(),
        policy: input.policy_ref.clone(),
        feeds: input.feeds_ref.clone(),
        vex,
        evaluated_at: input.now.to_string(),
        reasons,
        waived,
    }
}

fn in_scope(scope: &Scope, kind: ComponentKind, purl: Option<&str>) -> bool {
    (scope.kinds.is_empty() || scope.kinds.contains(&kind))
        && (scope.purls.is_empty()
            || purl.is_some_and(|p| scope.purls.iter().any(|pat| pat.matches(p))))
}

fn scoped<'a>(scope: &'a Scope, inventory: &'a Inventory) -> impl Iterator<Item = &'a Component> {
    let purls: Vec<Option<String>> = inventory
        .components
        .iter()
        .map(|c| c.purl.as_ref().map(|p| p.to_string()))
        .collect();
    inventory
        .components
        .iter()
        .zip(purls)
        .filter(move |(c, purl)| in_scope(scope, c.kind, purl.as_deref()))
        .map(|(c, _)| c)
}

fn label(c: &Component) -> String {
    let purl = c.purl.as_ref().map(|p| p.to_string());
    component_label(c.kind, &c.name, &c.version, purl.as_deref())
}

fn component_reason(rule: &Rule, c: &Component, message: String) -> VerdictReason {
    VerdictReason {
        rule: rule.id.clone(),
        action: rule.action.outcome(),
        finding: None,
        component: label(c),
        message,
        exception: None,
    }
}

/// The first live exception covering the finding (policy order).
fn waiver<'a>(exceptions: &'a [Exception], f: &Finding, now: Timestamp) -> Option<&'a Exception> {
    exceptions.iter().find(|ex| {
        now < ex.expires.at
            && std::iter::once(&f.id)
                .chain(&f.aliases)
                .any(|id| id.eq_ignore_ascii_case(&ex.vulnerability))
            && ex.purl.as_ref().is_none_or(|p| {
                f.component
                    .purl
                    .as_deref()
                    .is_some_and(|purl| p.matches(purl))
            })
    })
}

/// One clause per condition, each naming the values compared; `None` as
/// soon as one condition is not met.
fn finding_clauses(c: &FindingConditions, f: &Finding, now: Timestamp) -> Option<Vec<String>> {
    let mut clauses = Vec::new();
    if let Some(threshold) = c.severity {
        let (rating, from) = rating_of(f);
        if rating == Rating::Unknown && threshold > Rating::Unknown {
            if !c.include_unknown {
                return None;
            }
            clauses.push(format!(
                "severity unknown, counted as matching {} (includeUnknown)",
                threshold.as_str()
            ));
        } else if rating >= threshold {
            clauses.push(format!(
                "rated {}{from}, at or above {}",
                rating.as_str(),
                threshold.as_str()
            ));
        } else {
            return None;
        }
    }
    if let Some(min) = c.cvss_min {
        match highest_score(f) {
            Some((score, s)) if score >= min => clauses.push(format!(
                "CVSS base score {score} ({} {}) is at least {min}",
                s.source, s.vector
            )),
            Some(_) => return None,
            None if c.include_unknown => clauses.push(format!(
                "no CVSS base score, counted as at least {min} (includeUnknown)"
            )),
            None => return None,
        }
    }
    if let Some(want) = c.fix_available {
        match (&f.fixed_version, want) {
            (Some(v), true) => {
                clauses.push(format!("fixed in {v} (installed {})", f.installed_version))
            }
            (None, false) => clauses.push("no fixed version is known".into()),
            _ => return None,
        }
    }
    if let Some(age) = &c.older_than {
        match f.published.as_deref().map(Timestamp::parse) {
            Some(Ok(published)) => {
                let seconds = now.unix() - published.unix();
                if seconds <= age.seconds {
                    return None;
                }
                clauses.push(format!(
                    "published {} ({} days before {now}), older than {}",
                    f.published.as_deref().unwrap_or_default(),
                    seconds / 86_400,
                    age.text
                ));
            }
            _ if c.include_unknown => clauses.push(format!(
                "publication date {}, counted as older than {} (includeUnknown)",
                match &f.published {
                    Some(p) => format!("{p:?} unreadable"),
                    None => "unknown".into(),
                },
                age.text
            )),
            _ => return None,
        }
    }
    if let Some(want) = c.vex_state {
        let v = f.vex.as_ref().filter(|v| v.state == want)?;
        clauses.push(format!(
            "VEX says {} ({} document {})",
            serde_json::to_value(v.state)
                .ok()
                .and_then(|s| s.as_str().map(str::to_string))
                .unwrap_or_default(),
            v.format,
            v.document
        ));
    }
    Some(clauses)
}

/// The finding's rating (its rated severity, else the highest any source
/// gives) and ` by SOURCE (VECTOR)` to say where it came from.
fn rating_of(f: &Finding) -> (Rating, String) {
    let effective = |s: &FindingSeverity| match s.rating {
        Rating::Unknown => s.base_score.map_or(Rating::Unknown, Rating::from_score),
        r => r,
    };
    let chosen = f
        .severity
        .as_ref()
        .filter(|s| effective(s) != Rating::Unknown)
        .or_else(|| f.severities.iter().max_by_key(|s| effective(s)));
    match chosen {
        Some(s) if effective(s) != Rating::Unknown => {
            (effective(s), format!(" by {} ({})", s.source, s.vector))
        }
        _ => (Rating::Unknown, String::new()),
    }
}

/// The highest CVSS base score any source states.
fn highest_score(f: &Finding) -> Option<(f64, &FindingSeverity)> {
    f.severity
        .iter()
        .chain(&f.severities)
        .filter_map(|s| s.base_score.filter(|b| b.is_finite()).map(|b| (b, s)))
        .fold(
            None,
            |best: Option<(f64, &FindingSeverity)>, (b, s)| match best {
                Some((x, _)) if x >= b => best,
                _ => Some((b, s)),
            },
        )
}

fn packages_message(lists: &PackageLists, c: &Component) -> Option<String> {
    let purl = c.purl.as_ref().map(|p| p.to_string());
    if let Some(p) = purl.as_deref() {
        if let Some(entry) = lists.deny.iter().find(|pat| pat.matches(p)) {
            return Some(format!("{p} matches the deny list entry {}", entry.text));
        }
    }
    let allow = lists.allow.as_ref()?;
    match purl.as_deref() {
        Some(p) if allow.iter().any(|pat| pat.matches(p)) => None,
        Some(p) => Some(format!("{p} matches no allow list entry")),
        None => Some(format!(
            "{} has no purl, so no allow list entry can match it",
            label(c)
        )),
    }
}

fn licenses_message(lists: &LicenseLists, c: &Component) -> Option<String> {
    let mut unreadable = Vec::new();
    let mut parsed = Vec::new();
    for entry in &c.licenses {
        match license::parse(entry) {
            Some(e) => parsed.push((entry, e)),
            None => unreadable.push(entry),
        }
    }
    let mut clauses = Vec::new();
    for (entry, expr) in &parsed {
        for (id, listed) in expr.unavoidable(&lists.deny) {
            clauses.push(format!(
                "license {id} (in {entry:?}) is denied by the entry {listed}"
            ));
        }
        if let Some(allow) = &lists.allow {
            let outside = expr.not_allowed(allow);
            if !outside.is_empty() {
                clauses.push(format!(
                    "license {entry:?} needs {} outside the allow list",
                    outside.join(", ")
                ));
            }
        }
    }
    if lists.unknown == UnknownLicense::Deny {
        if c.licenses.is_empty() {
            clauses.push("no license is recorded and unknown licenses are denied".into());
        }
        for entry in unreadable {
            clauses.push(format!(
                "license {entry:?} is not a readable SPDX expression and unknown licenses are denied"
            ));
        }
    }
    if clauses.is_empty() {
        None
    } else {
        Some(format!("{}: {}", label(c), clauses.join("; ")))
    }
}
