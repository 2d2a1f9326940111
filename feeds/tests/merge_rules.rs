//! Merge rules on small hand-made records: alias closure (transitive,
//! capped), canonical ids, precedence per kind of data, freshness, the
//! tie-breaker, per-source affected entries, withdrawn records. Each
//! expectation follows from the rule it names (feeds/src/merge).

use stella_feeds::merge::{merge, MergeOptions, SourceClass, SourceInfo};
use stella_model::{
    Advisory, AffectedPackage, DecisionReason, MergeDecision, Provenance, RangeEvent, VersionRange,
};

fn record(source: &str, id: &str, aliases: &[&str]) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        summary: Some(format!("{id} says so")),
        provenance: vec![Provenance {
            source: source.into(),
            document_digest: format!("sha256:{id}"),
            ..Provenance::default()
        }],
        ..Advisory::default()
    }
}

fn package(ecosystem: &str, name: &str, fixed: &str) -> AffectedPackage {
    AffectedPackage {
        ecosystem: ecosystem.into(),
        name: name.into(),
        ranges: vec![VersionRange {
            scheme: "x".into(),
            repo: None,
            events: vec![
                RangeEvent::Introduced("0".into()),
                RangeEvent::Fixed(fixed.into()),
            ],
        }],
        ..AffectedPackage::default()
    }
}

fn decision<'a>(a: &'a Advisory, field: &str) -> &'a MergeDecision {
    a.decisions
        .iter()
        .find(|d| d.field == field)
        .unwrap_or_else(|| panic!("{}: no decision for {field}: {:?}", a.id, a.decisions))
}

fn ghsa() -> SourceInfo {
    SourceInfo::new("ghsa", SourceClass::Ghsa)
}

#[test]
fn alias_links_are_followed_transitively() {
    // A–B share CVE-2024-1, B–C share GHSA-b: one vulnerability.
    let result = merge(
        vec![
            (
                SourceInfo::language_database("osv:pypa", &["PyPI"]),
                vec![record("osv:pypa", "PYSEC-1", &["CVE-2024-1"])],
            ),
            (ghsa(), vec![record("ghsa", "GHSA-b", &["CVE-2024-1"])]),
            (
                SourceInfo::new("other", SourceClass::Other),
                vec![record("other", "OTHER-1", &["GHSA-b"])],
            ),
        ],
        &MergeOptions::default(),
    );
    assert_eq!(result.advisories.len(), 1);
    let a = &result.advisories[0];
    assert_eq!(a.id, "CVE-2024-1", "a CVE id when the group has one");
    assert_eq!(a.aliases, ["GHSA-b", "OTHER-1", "PYSEC-1"]);
    assert_eq!(
        decision(a, "aliases").decision_reason,
        DecisionReason::Union
    );
    assert_eq!(a.provenance.len(), 3);
}

#[test]
fn the_group_cap_keeps_groups_apart_and_says_so() {
    let sources = vec![(
        ghsa(),
        vec![
            record("ghsa", "GHSA-1", &["CVE-2024-9"]),
            record("ghsa", "GHSA-2", &["CVE-2024-9"]),
            record("ghsa", "GHSA-3", &["CVE-2024-9"]),
        ],
    )];
    let capped = merge(sources.clone(), &MergeOptions { max_group_size: 2 });
    assert_eq!(capped.advisories.len(), 2);
    assert_eq!(capped.capped.len(), 1);
    let note = &capped.capped[0];
    assert_eq!(note.shared_id, "CVE-2024-9");
    assert_eq!(note.group.len(), 2);
    assert_eq!(note.other[0].id, "GHSA-3");
    assert!(note.reason.contains("cap 2"), "{}", note.reason);
    // Uncapped, all three are one.
    let whole = merge(sources, &MergeOptions::default());
    assert_eq!(whole.advisories.len(), 1);
    assert!(whole.capped.is_empty());
}

#[test]
fn cve_ids_win_by_year_then_number() {
    let result = merge(
        vec![(
            ghsa(),
            vec![record(
                "ghsa",
                "GO-1",
                &["CVE-2021-100", "CVE-2020-99999", "GHSA-z"],
            )],
        )],
        &MergeOptions::default(),
    );
    assert_eq!(result.advisories[0].id, "CVE-2020-99999");
    assert!(result.advisories[0].aliases.contains(&"GO-1".to_string()));
}

#[test]
fn os_packages_prefer_the_distro_then_ghsa_then_nvd() {
    let mut debian = record("debian", "DSA-1", &["CVE-2024-2"]);
    debian.affected = vec![package("Debian:12", "openssl", "3.0.14-1~deb12u1")];
    debian.details = Some("from debian".into());
    let mut gh = record("ghsa", "GHSA-d", &["CVE-2024-2"]);
    gh.affected = vec![package("Debian:12", "openssl", "3.0.15-1")];
    gh.details = Some("from ghsa".into());
    gh.modified = Some("2030-01-01T00:00:00Z".into()); // fresher, still second
    let mut nvd = record("nvd", "CVE-2024-2", &[]);
    nvd.details = Some("from nvd".into());
    let result = merge(
        vec![
            (SourceInfo::new("nvd", SourceClass::Nvd), vec![nvd]),
            (ghsa(), vec![gh]),
            (SourceInfo::new("debian", SourceClass::Distro), vec![debian]),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.details.as_deref(), Some("from debian"));
    let d = decision(a, "details");
    assert_eq!(d.chosen_source, "debian");
    assert_eq!(d.decision_reason, DecisionReason::Precedence);
    let order: Vec<&str> = d.candidates.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(order, ["debian", "ghsa", "nvd"]);
    // The two sources disagree on the fixed version: both entries kept,
    // the distro's first, each naming its source.
    assert_eq!(a.affected.len(), 2);
    assert_eq!(a.affected[0].sources, ["debian"]);
    assert_eq!(a.affected[1].sources, ["ghsa"]);
    let p = decision(a, "affected[Debian:12/openssl]");
    assert_eq!(p.chosen_source, "debian");
    assert_eq!(p.decision_reason, DecisionReason::Precedence);
    // `modified` is the newest one's.
    assert_eq!(a.modified.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(decision(a, "modified").chosen_source, "ghsa");
}

#[test]
fn language_packages_prefer_their_own_database() {
    let mut pypa = record("osv:pypa", "PYSEC-2", &["GHSA-p"]);
    pypa.affected = vec![package("PyPI", "Jinja2", "3.1.4")];
    let mut gh = record("ghsa", "GHSA-p", &[]);
    gh.affected = vec![package("PyPI", "jinja2", "3.1.5")];
    let result = merge(
        vec![
            (ghsa(), vec![gh]),
            (
                SourceInfo::language_database("osv:pypa", &["PyPI"]),
                vec![pypa],
            ),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.id, "PYSEC-2", "no CVE: the best-ranked record's id");
    assert_eq!(decision(a, "id").chosen_source, "osv:pypa");
    assert_eq!(a.summary.as_deref(), Some("PYSEC-2 says so"));
    // `Jinja2` and `jinja2` are one PyPI package; PyPA's entry first.
    assert_eq!(a.affected.len(), 2);
    assert_eq!(a.affected[0].name, "Jinja2");
    assert_eq!(a.affected[0].sources, ["osv:pypa"]);
    let d = decision(a, "affected[PyPI/jinja2]");
    assert_eq!(d.decision_reason, DecisionReason::Precedence);

    // For npm, PyPA is no authority and GHSA is the language database.
    let mut pypa = record("osv:pypa", "PYSEC-3", &["GHSA-n"]);
    pypa.affected = vec![package("npm", "left-pad", "1.0.1")];
    let mut gh = record("ghsa", "GHSA-n", &[]);
    gh.affected = vec![package("npm", "left-pad", "1.0.2")];
    let result = merge(
        vec![
            (
                SourceInfo::language_database("osv:pypa", &["PyPI"]),
                vec![pypa],
            ),
            (ghsa(), vec![gh]),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.id, "GHSA-n");
    assert_eq!(a.affected[0].sources, ["ghsa"]);
}

#[test]
fn equal_rank_falls_to_freshness_then_to_the_tie_breaker() {
    let mut old = record("mirror-a", "GHSA-f", &[]);
    old.modified = Some("2024-01-01T00:00:00Z".into());
    let mut new = record("mirror-b", "GHSA-f", &[]);
    new.modified = Some("2024-06-01T00:00:00.5Z".into());
    new.summary = Some("newer text".into());
    let result = merge(
        vec![
            (
                SourceInfo::new("mirror-a", SourceClass::Ghsa),
                vec![old.clone()],
            ),
            (SourceInfo::new("mirror-b", SourceClass::Ghsa), vec![new]),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.summary.as_deref(), Some("newer text"));
    let d = decision(a, "summary");
    assert_eq!(d.chosen_source, "mirror-b");
    assert_eq!(d.decision_reason, DecisionReason::Freshness);

    // Same rank, same modified: the source name decides.
    let mut twin = old.clone();
    twin.summary = Some("twin text".into());
    twin.provenance[0].source = "mirror-0".into();
    let result = merge(
        vec![
            (SourceInfo::new("mirror-a", SourceClass::Ghsa), vec![old]),
            (SourceInfo::new("mirror-0", SourceClass::Ghsa), vec![twin]),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.summary.as_deref(), Some("twin text"));
    let d = decision(a, "summary");
    assert_eq!(d.chosen_source, "mirror-0");
    assert_eq!(d.decision_reason, DecisionReason::TieBreaker);
}

#[test]
fn identical_entries_are_kept_once_with_every_source() {
    let mut a = record("osv:go", "GO-1", &["GHSA-g"]);
    a.affected = vec![package("Go", "example.com/m", "1.2.3")];
    let mut b = record("ghsa", "GHSA-g", &[]);
    b.affected = vec![package("Go", "example.com/m", "1.2.3")];
    let result = merge(
        vec![
            (SourceInfo::language_database("osv:go", &["Go"]), vec![a]),
            (ghsa(), vec![b]),
        ],
        &MergeOptions::default(),
    );
    let m = &result.advisories[0];
    assert_eq!(m.affected.len(), 1);
    assert_eq!(m.affected[0].sources, ["ghsa", "osv:go"]);
    assert_eq!(
        decision(m, "affected[Go/example.com/m]").decision_reason,
        DecisionReason::Union
    );
}

#[test]
fn a_lesser_source_withdrawing_does_not_withdraw_the_merge() {
    let pypa = record("osv:pypa", "PYSEC-4", &["GHSA-w"]);
    let mut gh = record("ghsa", "GHSA-w", &[]);
    gh.withdrawn = Some("2024-03-01T00:00:00Z".into());
    gh.affected = vec![package("PyPI", "x", "1")];
    let result = merge(
        vec![
            (ghsa(), vec![gh]),
            (
                SourceInfo::language_database("osv:pypa", &["PyPI"]),
                vec![pypa],
            ),
        ],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.withdrawn, None);
    assert_eq!(decision(a, "withdrawn").chosen_source, "osv:pypa");
}

#[test]
fn a_single_record_carries_no_decisions() {
    let result = merge(
        vec![(ghsa(), vec![record("ghsa", "GHSA-s", &["CVE-2024-7"])])],
        &MergeOptions::default(),
    );
    let a = &result.advisories[0];
    assert_eq!(a.id, "CVE-2024-7");
    assert_eq!(a.aliases, ["GHSA-s"]);
    assert!(a.decisions.is_empty());
    let json = serde_json::to_string(a).unwrap();
    assert!(!json.contains("decisions"), "{json}");
}
