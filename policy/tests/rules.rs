//! Policy evaluation, rule kind by rule kind. Each test builds findings or
//! components where exactly one rule decides the outcome, writes down the
//! expected reasons by hand, and checks that the outcome changes when that
//! rule is taken out of the policy — so no rule is untested dead weight.

use stella_model::{
    AffectedStatus, ArtifactRef, Component, ComponentKind, Digest, Finding, FindingComponent,
    FindingSeverity, ImageInfo, Inventory, MatchRule, Outcome, Purl, Rating, SeverityKind,
    ToolInfo, Verdict, VexDecision, VexState, INVENTORY_SCHEMA,
};
use stella_policy::rules::{evaluate, parse, EvalInput, Policy, Timestamp};

const HEAD: &str = "schema: stella-policy@1\n";

fn policy(yaml: &str) -> Policy {
    parse(format!("{HEAD}{yaml}").as_bytes()).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn artifact(name: &str) -> ArtifactRef {
    ArtifactRef {
        name: name.into(),
        digest: Digest::sha256_of(name.as_bytes()),
    }
}

fn inventory(components: Vec<Component>) -> Inventory {
    Inventory {
        schema: INVENTORY_SCHEMA,
        tool: ToolInfo {
            name: "stella".into(),
            version: "test".into(),
        },
        image: ImageInfo::default(),
        distro: None,
        layers: Vec::new(),
        components,
        entry_trace: None,
        warnings: Vec::new(),
    }
}

fn component(purl: &str, licenses: &[&str]) -> Component {
    let p = Purl::parse(purl).unwrap();
    let kind: ComponentKind = serde_json::from_value(serde_json::json!(p.ty())).unwrap();
    let mut c = Component::new(kind, p.name(), p.version().unwrap_or(""));
    c.purl = Some(p);
    c.licenses = licenses.iter().map(|s| s.to_string()).collect();
    c.evidence = vec![format!("evidence/{}", c.name)];
    c
}

/// A finding of `id` in the component `purl`.
fn finding(id: &str, purl: &str) -> Finding {
    let p = Purl::parse(purl).unwrap();
    let kind: ComponentKind = serde_json::from_value(serde_json::json!(p.ty())).unwrap();
    let version = p.version().unwrap_or("").to_string();
    Finding {
        id: id.into(),
        aliases: Vec::new(),
        summary: None,
        component: FindingComponent {
            kind,
            name: p.name().into(),
            version: version.clone(),
            purl: Some(purl.into()),
            source_name: None,
            source_version: None,
            layer: None,
            layer_diff_id: None,
            evidence: vec![format!("evidence/{}", p.name())],
            licenses: Vec::new(),
        }
        .into(),
        installed_version: version,
        fixed_version: None,
        status: AffectedStatus::Affected,
        severity: None,
        severities: Vec::new(),
        matched_by: MatchRule {
            ecosystem: "PyPI".into(),
            package: p.name().into(),
            key: "package".into(),
            scheme: "pypi".into(),
            rule: "all versions".into(),
            sources: Vec::new(),
        },
        published: None,
        modified: None,
        references: Default::default(),
        vex: None,
    }
}

fn rated(mut f: Finding, rating: Rating, score: Option<f64>) -> Finding {
    let s = FindingSeverity {
        source: "osv:test".into(),
        kind: SeverityKind::CvssV3,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into(),
        base_score: score,
        rating,
    };
    f.severity = Some(s.clone());
    f.severities = vec![s];
    f
}

fn vexed(mut f: Finding, state: VexState) -> Finding {
    f.vex = Some(VexDecision {
        state,
        justification: None,
        impact_statement: None,
        document: Digest::sha256_of(b"vex").to_string(),
        format: "openvex".into(),
    });
    f
}

fn at(now: &str) -> Timestamp {
    Timestamp::parse(now).unwrap()
}

fn run(p: &Policy, inv: &Inventory, findings: &[Finding], now: &str) -> Verdict {
    evaluate(
        p,
        &EvalInput {
            inventory: inv,
            findings,
            now: at(now),
            policy_ref: artifact("policy.yaml"),
            feeds_ref: artifact("feeds"),
            vex_refs: vec![artifact("vex-b"), artifact("vex-a")],
            subject: None,
        },
    )
}

const NOW: &str = "2026-11-24T12:00:00Z";

/// (rule, finding, component) of each reason, for comparing with what we
/// expect.
fn fired(v: &Verdict) -> Vec<(String, Option<String>, String)> {
    v.reasons
        .iter()
        .map(|r| (r.rule.clone(), r.finding.clone(), r.component.clone()))
        .collect()
}

fn reason(rule: &str, finding: Option<&str>, component: &str) -> (String, Option<String>, String) {
    (rule.into(), finding.map(str::to_string), component.into())
}

/// The policy without `rule`: its outcome must differ (the rule matters).
fn without(p: &Policy, rule: &str) -> Policy {
    let mut q = p.clone();
    let before = q.rules.len();
    q.rules.retain(|r| r.id != rule);
    assert_eq!(q.rules.len(), before - 1, "no rule {rule}");
    q
}

fn assert_rule_decides(p: &Policy, rule: &str, inv: &Inventory, findings: &[Finding], now: &str) {
    let with = run(p, inv, findings, now).outcome;
    let bare = run(&without(p, rule), inv, findings, now).outcome;
    assert_ne!(with, bare, "removing {rule} does not change the outcome");
}

#[test]
fn severity_threshold_is_at_or_above() {
    let p = policy(
        "rules:\n  - {id: sev-high, action: fail, severity: high}\n  - {id: sev-any, action: warn, severity: medium, includeUnknown: true, match: {kinds: [npm]}}\n",
    );
    let findings = vec![
        rated(finding("CVE-1", "pkg:pypi/a@1"), Rating::High, Some(7.5)),
        rated(
            finding("CVE-2", "pkg:pypi/b@1"),
            Rating::Critical,
            Some(9.8),
        ),
        rated(finding("CVE-3", "pkg:pypi/c@1"), Rating::Medium, Some(6.9)),
        // No rating word, but a score: banded (8.1 → high).
        rated(finding("CVE-4", "pkg:pypi/d@1"), Rating::Unknown, Some(8.1)),
        // Unknown severity: only the includeUnknown rule (scoped to npm).
        finding("CVE-5", "pkg:pypi/e@1"),
        finding("CVE-6", "pkg:npm/f@1"),
    ];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(
        fired(&v),
        vec![
            reason("sev-any", Some("CVE-6"), "pkg:npm/f@1"),
            reason("sev-high", Some("CVE-1"), "pkg:pypi/a@1"),
            reason("sev-high", Some("CVE-2"), "pkg:pypi/b@1"),
            reason("sev-high", Some("CVE-4"), "pkg:pypi/d@1"),
        ]
    );
    let msg = &v.reasons[1].message;
    assert!(
        msg.contains("rated high") && msg.contains("at or above high") && msg.contains("osv:test"),
        "{msg}"
    );
    assert!(v.reasons[0].message.contains("includeUnknown"));
    assert_rule_decides(&p, "sev-high", &inv, &findings, NOW);
    // Only the medium one and the unrated one: pass without the npm rule.
    let calm = vec![findings[2].clone(), findings[5].clone()];
    assert_eq!(run(&p, &inv, &calm, NOW).outcome, Outcome::Warn);
    assert_rule_decides(&p, "sev-any", &inv, &calm, NOW);
}

#[test]
fn cvss_minimum_uses_the_highest_score() {
    let p = policy("rules:\n  - {id: cvss7, action: fail, cvss: {min: 7.0}}\n");
    let mut two_sources = rated(finding("CVE-2", "pkg:pypi/b@1"), Rating::Medium, Some(5.3));
    two_sources.severities.push(FindingSeverity {
        source: "nvd".into(),
        kind: SeverityKind::CvssV3,
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N".into(),
        base_score: Some(9.1),
        rating: Rating::Critical,
    });
    let findings = vec![
        rated(finding("CVE-1", "pkg:pypi/a@1"), Rating::High, Some(7.0)),
        two_sources,
        rated(finding("CVE-3", "pkg:pypi/c@1"), Rating::High, Some(6.99)),
        // A rating but no score: not judged by cvss.
        rated(finding("CVE-4", "pkg:pypi/d@1"), Rating::Critical, None),
    ];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![
            reason("cvss7", Some("CVE-1"), "pkg:pypi/a@1"),
            reason("cvss7", Some("CVE-2"), "pkg:pypi/b@1"),
        ]
    );
    assert!(
        v.reasons[1].message.contains("9.1 (nvd"),
        "{}",
        v.reasons[1].message
    );
    assert_rule_decides(&p, "cvss7", &inv, &findings, NOW);
    let p =
        policy("rules:\n  - {id: cvss7, action: fail, cvss: {min: 7.0}, includeUnknown: true}\n");
    assert_eq!(run(&p, &inv, &findings, NOW).reasons.len(), 3);
}

#[test]
fn fix_availability() {
    let p = policy(
        "rules:\n  - {id: fixable, action: fail, fixAvailable: true}\n  - {id: unfixable, action: warn, fixAvailable: false}\n",
    );
    let mut fixed = finding("CVE-1", "pkg:pypi/urllib3@1.26.4");
    fixed.fixed_version = Some("1.26.5".into());
    let findings = vec![fixed, finding("CVE-2", "pkg:pypi/b@1")];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![
            reason("fixable", Some("CVE-1"), "pkg:pypi/urllib3@1.26.4"),
            reason("unfixable", Some("CVE-2"), "pkg:pypi/b@1"),
        ]
    );
    assert!(v.reasons[0]
        .message
        .contains("fixed in 1.26.5 (installed 1.26.4)"));
    assert_rule_decides(&p, "fixable", &inv, &findings, NOW);
    assert_rule_decides(&p, "unfixable", &inv, &findings[1..], NOW);
}

#[test]
fn finding_age_against_now() {
    let p = policy("rules:\n  - {id: old, action: fail, olderThan: 30d}\n");
    let mut old = finding("CVE-1", "pkg:pypi/a@1");
    old.published = Some("2026-10-01T08:00:00Z".into());
    let mut fresh = finding("CVE-2", "pkg:pypi/b@1");
    fresh.published = Some("2026-11-20T00:00:00Z".into());
    // Exactly 30 days: not older than 30 days.
    let mut edge = finding("CVE-3", "pkg:pypi/c@1");
    edge.published = Some("2026-10-25T12:00:00Z".into());
    let mut offset = finding("CVE-4", "pkg:pypi/d@1");
    offset.published = Some("2026-10-25T13:00:00+02:00".into()); // 11:00Z: one hour past 30 days
    let undated = finding("CVE-5", "pkg:pypi/e@1");
    let findings = vec![old, fresh, edge, offset, undated];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![
            reason("old", Some("CVE-1"), "pkg:pypi/a@1"),
            reason("old", Some("CVE-4"), "pkg:pypi/d@1"),
        ]
    );
    assert!(
        v.reasons[0]
            .message
            .contains("54 days before 2026-11-24T12:00:00Z"),
        "{}",
        v.reasons[0].message
    );
    assert_rule_decides(&p, "old", &inv, &findings, NOW);
    // A month earlier, nothing is that old yet.
    assert_eq!(
        run(&p, &inv, &findings, "2026-10-24T00:00:00Z").outcome,
        Outcome::Pass
    );
    let p = policy("rules:\n  - {id: old, action: fail, olderThan: 30d, includeUnknown: true}\n");
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(v.reasons.len(), 3);
    assert_eq!(v.reasons[2].finding.as_deref(), Some("CVE-5"));
}

#[test]
fn conditions_of_one_rule_all_hold() {
    let p = policy(
        "rules:\n  - {id: fixable-high, action: fail, severity: high, fixAvailable: true}\n",
    );
    let mut high_fixed = rated(finding("CVE-1", "pkg:pypi/a@1"), Rating::High, Some(7.5));
    high_fixed.fixed_version = Some("2".into());
    let high_unfixed = rated(finding("CVE-2", "pkg:pypi/b@1"), Rating::High, Some(7.5));
    let mut low_fixed = rated(finding("CVE-3", "pkg:pypi/c@1"), Rating::Low, Some(3.1));
    low_fixed.fixed_version = Some("2".into());
    let findings = vec![high_fixed, high_unfixed, low_fixed];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![reason("fixable-high", Some("CVE-1"), "pkg:pypi/a@1")]
    );
    assert!(v.reasons[0].message.contains("; fixed in 2"));
}

#[test]
fn package_deny_list() {
    let p = policy(
        "rules:\n  - id: banned\n    action: fail\n    packages:\n      deny: [pkg:pypi/pyyaml@5.3.1, 'pkg:deb/debian/telnet*']\n",
    );
    let inv = inventory(vec![
        component("pkg:pypi/pyyaml@5.3.1", &[]),
        component("pkg:pypi/pyyaml@6.0.1", &[]),
        component("pkg:pypi/requests@2.25.0", &[]),
        component("pkg:deb/debian/telnet@0.17-44?arch=amd64", &[]),
    ]);
    let v = run(&p, &inv, &[], NOW);
    assert_eq!(
        fired(&v),
        vec![
            reason("banned", None, "pkg:deb/debian/telnet@0.17-44?arch=amd64"),
            reason("banned", None, "pkg:pypi/pyyaml@5.3.1"),
        ]
    );
    assert!(v.reasons[1]
        .message
        .contains("deny list entry pkg:pypi/pyyaml@5.3.1"));
    assert_rule_decides(&p, "banned", &inv, &[], NOW);
}

#[test]
fn package_allow_list_within_its_scope() {
    let p = policy(
        "rules:\n  - id: approved\n    action: warn\n    match: {kinds: [pypi]}\n    packages:\n      allow: [pkg:pypi/requests, 'pkg:pypi/urllib3@1.*']\n",
    );
    let mut no_purl = Component::new(ComponentKind::Pypi, "local-thing", "0.1");
    no_purl.evidence = vec!["x".into()];
    let inv = inventory(vec![
        component("pkg:pypi/requests@2.25.0", &[]),
        component("pkg:pypi/urllib3@1.26.4", &[]),
        component("pkg:pypi/urllib3@2.0.0", &[]),
        component("pkg:pypi/jinja2@2.11.2", &[]),
        // Out of scope: not pypi.
        component("pkg:deb/debian/bash@5.2.15-2", &[]),
        no_purl,
    ]);
    let v = run(&p, &inv, &[], NOW);
    assert_eq!(v.outcome, Outcome::Warn);
    assert_eq!(
        fired(&v),
        vec![
            reason("approved", None, "pkg:pypi/jinja2@2.11.2"),
            reason("approved", None, "pkg:pypi/urllib3@2.0.0"),
            reason("approved", None, "pypi:local-thing@0.1"),
        ]
    );
    assert!(v.reasons[2].message.contains("has no purl"));
    assert_rule_decides(&p, "approved", &inv, &[], NOW);
}

#[test]
fn license_deny_and_unknown() {
    let p = policy(
        "rules:\n  - id: copyleft\n    action: fail\n    licenses: {deny: [GPL-3.0-only, 'AGPL-*'], unknown: allow}\n  - id: unlicensed\n    action: warn\n    licenses: {deny: [LicenseRef-never], unknown: deny}\n",
    );
    let inv = inventory(vec![
        component("pkg:npm/a@1", &["gpl-3.0-only"]),
        component("pkg:npm/b@1", &["MIT OR GPL-3.0-only"]),
        component("pkg:npm/c@1", &["MIT AND AGPL-3.0-or-later"]),
        component("pkg:npm/d@1", &["MIT"]),
        component("pkg:npm/e@1", &[]),
        component("pkg:npm/f@1", &["Apache License 2.0"]),
    ]);
    let v = run(&p, &inv, &[], NOW);
    assert_eq!(
        fired(&v),
        vec![
            reason("copyleft", None, "pkg:npm/a@1"),
            reason("copyleft", None, "pkg:npm/c@1"),
            reason("unlicensed", None, "pkg:npm/e@1"),
            reason("unlicensed", None, "pkg:npm/f@1"),
        ]
    );
    assert!(
        v.reasons[1].message.contains("AGPL-3.0-or-later"),
        "{}",
        v.reasons[1].message
    );
    assert!(v.reasons[3]
        .message
        .contains("\"Apache License 2.0\" is not a readable SPDX expression"));
    assert_rule_decides(&p, "copyleft", &inv, &[], NOW);
    let calm = inventory(vec![component("pkg:npm/e@1", &[])]);
    assert_rule_decides(&p, "unlicensed", &calm, &[], NOW);
}

#[test]
fn license_allow_list() {
    let p = policy("rules:\n  - {id: permissive, action: fail, licenses: {allow: [MIT, Apache-2.0], unknown: allow}}\n");
    let inv = inventory(vec![
        component("pkg:cargo/a@1", &["MIT OR Apache-2.0"]),
        component("pkg:cargo/b@1", &["MIT OR GPL-2.0-only"]),
        component("pkg:cargo/c@1", &["MIT", "BSD-3-Clause"]),
        component("pkg:cargo/d@1", &[]),
    ]);
    let v = run(&p, &inv, &[], NOW);
    assert_eq!(fired(&v), vec![reason("permissive", None, "pkg:cargo/c@1")]);
    assert!(v.reasons[0]
        .message
        .contains("BSD-3-Clause outside the allow list"));
    assert_rule_decides(&p, "permissive", &inv, &[], NOW);
}

#[test]
fn vex_not_affected_and_fixed_are_ignored() {
    let p = policy(
        "rules:\n  - {id: sev, action: fail, severity: high}\n  - {id: investigating, action: warn, vexState: under_investigation}\n",
    );
    let high = |id: &str| rated(finding(id, "pkg:pypi/a@1"), Rating::High, Some(7.5));
    let inv = inventory(vec![]);
    let quiet = vec![
        vexed(high("CVE-1"), VexState::NotAffected),
        vexed(high("CVE-2"), VexState::Fixed),
    ];
    assert_eq!(run(&p, &inv, &quiet, NOW).outcome, Outcome::Pass);
    // Without VEX the same findings fail: VEX is what made them pass.
    let plain = vec![high("CVE-1"), high("CVE-2")];
    assert_eq!(run(&p, &inv, &plain, NOW).outcome, Outcome::Fail);

    let low = rated(finding("CVE-3", "pkg:pypi/b@1"), Rating::Low, Some(2.0));
    let investigating = vec![vexed(low, VexState::UnderInvestigation)];
    let v = run(&p, &inv, &investigating, NOW);
    assert_eq!(
        fired(&v),
        vec![reason("investigating", Some("CVE-3"), "pkg:pypi/b@1")]
    );
    assert!(v.reasons[0]
        .message
        .contains("VEX says under_investigation (openvex document sha256:"));
    assert_rule_decides(&p, "investigating", &inv, &investigating, NOW);
    // Under investigation is still active: a high one fails.
    let v = run(
        &p,
        &inv,
        &[vexed(high("CVE-4"), VexState::UnderInvestigation)],
        NOW,
    );
    assert_eq!(v.outcome, Outcome::Fail);
}

const EXCEPTIONS: &str = "rules:
  - {id: sev, action: fail, severity: high}
exceptions:
  - id: EX-1
    vulnerability: cve-2021-33503
    purl: pkg:pypi/urllib3
    expires: 2026-12-31
    reason: not reachable
";

#[test]
fn exceptions_waive_until_they_expire() {
    let p = policy(EXCEPTIONS);
    // The finding's id is the GHSA; the CVE is an alias.
    let mut f = rated(
        finding("GHSA-q2q7-5pp4-w6pg", "pkg:pypi/urllib3@1.26.4"),
        Rating::High,
        Some(7.5),
    );
    f.aliases = vec!["CVE-2021-33503".into()];
    let findings = vec![f.clone()];
    let inv = inventory(vec![]);

    let v = run(&p, &inv, &findings, "2026-12-31T23:59:59Z");
    assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    assert!(v.reasons.is_empty());
    assert_eq!(v.waived.len(), 1);
    assert_eq!(v.waived[0].rule, "sev");
    assert_eq!(v.waived[0].finding.as_deref(), Some("GHSA-q2q7-5pp4-w6pg"));
    assert_eq!(
        v.waived[0].exception.as_deref(),
        Some("EX-1 (expires 2026-12-31)")
    );

    // From the next day on: the finding fails again and the stale exception warns.
    let v = run(&p, &inv, &findings, "2027-01-01T00:00:00Z");
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(v.waived.is_empty());
    assert_eq!(
        fired(&v),
        vec![
            reason("EX-1", Some("cve-2021-33503"), "pkg:pypi/urllib3"),
            reason(
                "sev",
                Some("GHSA-q2q7-5pp4-w6pg"),
                "pkg:pypi/urllib3@1.26.4"
            ),
        ]
    );
    assert_eq!(v.reasons[0].action, Outcome::Warn);
    assert!(v.reasons[0].message.contains("expired"));
    // An expired exception alone is a warning.
    assert_eq!(
        run(&p, &inv, &[], "2027-01-01T00:00:00Z").outcome,
        Outcome::Warn
    );

    // Another component or another vulnerability: not waived.
    let mut other = f.clone();
    std::sync::Arc::make_mut(&mut other.component).purl = Some("pkg:pypi/requests@2.25.0".into());
    assert_eq!(run(&p, &inv, &[other], NOW).outcome, Outcome::Fail);
    let mut unrelated = f;
    unrelated.aliases.clear();
    assert_eq!(run(&p, &inv, &[unrelated], NOW).outcome, Outcome::Fail);
}

#[test]
fn exception_with_a_timestamp_expiry() {
    let p = policy(
        "rules:\n  - {id: sev, action: fail, severity: high}\nexceptions:\n  - {id: EX, vulnerability: CVE-1, expires: '2026-06-30T12:00:00+02:00', reason: r}\n",
    );
    let findings = vec![rated(
        finding("CVE-1", "pkg:pypi/a@1"),
        Rating::High,
        Some(7.5),
    )];
    let inv = inventory(vec![]);
    assert_eq!(
        run(&p, &inv, &findings, "2026-06-30T09:59:59Z").outcome,
        Outcome::Pass
    );
    assert_eq!(
        run(&p, &inv, &findings, "2026-06-30T10:00:00Z").outcome,
        Outcome::Fail
    );
}

#[test]
fn match_scope_by_purl() {
    let p = policy(
        "rules:\n  - {id: stdlib, action: fail, severity: low, match: {purls: ['pkg:golang/stdlib']}}\n",
    );
    let findings = vec![
        rated(
            finding("GO-1", "pkg:golang/stdlib@1.19.8"),
            Rating::Medium,
            Some(5.0),
        ),
        rated(
            finding("GO-2", "pkg:golang/golang.org/x/net@0.1.0"),
            Rating::High,
            Some(7.5),
        ),
    ];
    let inv = inventory(vec![]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![reason("stdlib", Some("GO-1"), "pkg:golang/stdlib@1.19.8")]
    );
    assert_rule_decides(&p, "stdlib", &inv, &findings, NOW);
}

#[test]
fn verdicts_are_deterministic_and_complete() {
    let p = policy(
        "rules:\n  - {id: sev, action: warn, severity: medium}\n  - {id: deny, action: fail, packages: {deny: ['pkg:pypi/*']}}\n",
    );
    let mut findings: Vec<Finding> = (0..20)
        .map(|i| {
            rated(
                finding(&format!("CVE-{i:02}"), &format!("pkg:pypi/p{}@1", i % 3)),
                Rating::Medium,
                Some(5.0),
            )
        })
        .collect();
    // The same finding twice (two evidence paths): one reason.
    let mut dup = findings[0].clone();
    std::sync::Arc::make_mut(&mut dup.component).evidence = vec!["other/path".into()];
    findings.push(dup);
    let inv = inventory(vec![
        component("pkg:pypi/p0@1", &[]),
        component("pkg:pypi/p0@1", &[]),
    ]);
    let v1 = run(&p, &inv, &findings, NOW);
    findings.reverse();
    let v2 = run(&p, &inv, &findings, NOW);
    assert_eq!(
        serde_json::to_vec(&v1).unwrap(),
        serde_json::to_vec(&v2).unwrap()
    );
    assert_eq!(v1.reasons.len(), 21);
    let mut sorted = v1.reasons.clone();
    sorted.sort();
    assert_eq!(sorted, v1.reasons);
    assert_eq!(v1.outcome, Outcome::Fail);
    assert_eq!(v1.schema, "stella-verdict@1");
    assert_eq!(v1.evaluated_at, "2026-11-24T12:00:00Z");
    assert_eq!(v1.policy, artifact("policy.yaml"));
    assert_eq!(v1.feeds, artifact("feeds"));
    assert_eq!(v1.vex, vec![artifact("vex-a"), artifact("vex-b")], "sorted");
    // No rules fire: pass.
    assert_eq!(
        run(&policy("rules: []\n"), &inv, &findings, NOW).outcome,
        Outcome::Pass
    );
}

/// The documented example policy, against a small labeled scene: what
/// each of its rules should say, written down from the data.
#[test]
fn documented_example_on_a_scene() {
    let yaml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rules/valid/full.yaml"
    ))
    .unwrap();
    let p = parse(&yaml).unwrap();
    let mut urllib3 = rated(
        finding("CVE-2021-33503", "pkg:pypi/urllib3@1.26.4"),
        Rating::High,
        Some(7.5),
    );
    urllib3.fixed_version = Some("1.26.5".into());
    let mut jinja = rated(
        finding("CVE-2024-22195", "pkg:pypi/jinja2@2.11.2"),
        Rating::Medium,
        Some(5.4),
    );
    jinja.aliases = vec!["GHSA-h5c8-rqwp-cp95".into()];
    jinja.published = Some("2024-01-11T03:15:11Z".into());
    let findings = vec![urllib3, jinja];
    let inv = inventory(vec![
        component("pkg:pypi/urllib3@1.26.4", &["MIT"]),
        component("pkg:pypi/jinja2@2.11.2", &["BSD-3-Clause"]),
        component("pkg:pypi/pyyaml@5.3.1", &["MIT"]),
        component("pkg:npm/left-pad@1.3.0", &["WTFPL"]),
    ]);
    let v = run(&p, &inv, &findings, NOW);
    assert_eq!(
        fired(&v),
        vec![
            // Its expiry (2026-06-30T12:00:00Z) is behind NOW.
            reason("EX-2025-002", Some("GHSA-g3rq-g295-4j3m"), "*"),
            reason("banned", None, "pkg:pypi/pyyaml@5.3.1"),
            reason("licensed", None, "pkg:npm/left-pad@1.3.0"),
            reason("python-allow-list", None, "pkg:pypi/pyyaml@5.3.1"),
            reason(
                "stale-medium",
                Some("CVE-2024-22195"),
                "pkg:pypi/jinja2@2.11.2"
            ),
        ]
    );
    // urllib3 (fixable high) is waived by EX-2025-001 until the end of 2026.
    assert_eq!(v.waived.len(), 1);
    assert_eq!(v.waived[0].rule, "fixable-high");
    assert_eq!(
        v.waived[0].exception.as_deref(),
        Some("EX-2025-001 (expires 2026-12-31)")
    );
    assert_eq!(v.outcome, Outcome::Fail);
}
