//! Merge on real records (fixtures/parity: PyPA, Go vulndb and RustSec
//! OSV records and the GitHub advisories they alias). Expectations are
//! facts read off the records, quoted beside each check; plus: every field
//! of a merged advisory has a recorded decision, and the output bytes do
//! not depend on the input order.

use std::path::Path;

use stella_feeds::connector::import_osv;
use stella_feeds::merge::{merge, MergeOptions, MergeResult, SourceClass, SourceInfo};
use stella_model::{Advisory, DecisionReason};

fn load(dir: &str, prefix: &str, source: &str) -> Vec<Advisory> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity");
    let import = import_osv(&root.join(dir), source).unwrap();
    assert!(import.quarantined.is_empty(), "{:?}", import.quarantined);
    import
        .advisories
        .into_iter()
        .filter(|a| a.id.starts_with(prefix))
        .collect()
}

fn sources() -> Vec<(SourceInfo, Vec<Advisory>)> {
    vec![
        (
            SourceInfo::language_database("osv:pypa", &["PyPI"]),
            load("osv", "PYSEC-", "osv:pypa"),
        ),
        (
            SourceInfo::language_database("osv:go", &["Go"]),
            load("osv", "GO-", "osv:go"),
        ),
        (
            SourceInfo::language_database("osv:rustsec", &["crates.io"]),
            load("osv", "RUSTSEC-", "osv:rustsec"),
        ),
        (
            SourceInfo::new("ghsa", SourceClass::Ghsa),
            load("ghsa", "GHSA-", "ghsa"),
        ),
    ]
}

fn bytes(result: &MergeResult) -> String {
    serde_json::to_string_pretty(result).unwrap()
}

fn find<'a>(result: &'a MergeResult, id: &str) -> &'a Advisory {
    result
        .advisories
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no merged advisory {id}"))
}

#[test]
fn records_that_alias_each_other_become_one() {
    let result = merge(sources(), &MergeOptions::default());
    // 13 OSV records + 12 GHSA records; every GHSA is aliased by one OSV
    // record, PYSEC-2023-121 by none: 13 advisories.
    assert_eq!(result.advisories.len(), 13);
    assert!(result.capped.is_empty());

    // PYSEC-2024-50 `aliases: [CVE-2024-31208, GHSA-3h7q-rfh9-xm4v]`.
    let synapse = find(&result, "CVE-2024-31208");
    assert_eq!(synapse.aliases, ["GHSA-3h7q-rfh9-xm4v", "PYSEC-2024-50"]);
    // PyPA's record has no `summary`: GitHub's is the only candidate.
    assert_eq!(
        synapse.summary.as_deref(),
        Some("Synapse V2 state resolution weakness allows Denial of Service (DoS)")
    );
    // Both have `details`: PyPA is the PyPI authority.
    let details = synapse
        .decisions
        .iter()
        .find(|d| d.field == "details")
        .unwrap();
    assert_eq!(details.chosen_source, "osv:pypa");
    assert_eq!(details.decision_reason, DecisionReason::Precedence);
    assert!(synapse
        .details
        .as_deref()
        .unwrap()
        .starts_with("Synapse is an open-source"));
    // `published`: PyPA 2024-04-23T18:15:00Z (precedence, though GitHub's
    // 2024-04-23T21:15:46Z exists); `modified`: GitHub's
    // 2024-04-24T14:32:56Z is newer than PyPA's 2024-04-23T21:18:51.688096Z.
    assert_eq!(synapse.published.as_deref(), Some("2024-04-23T18:15:00Z"));
    assert_eq!(synapse.modified.as_deref(), Some("2024-04-24T14:32:56Z"));
    let modified = synapse
        .decisions
        .iter()
        .find(|d| d.field == "modified")
        .unwrap();
    assert_eq!(modified.chosen_source, "ghsa");
    assert_eq!(modified.decision_reason, DecisionReason::Freshness);
    // PyPA's matrix-synapse entry has a GIT range and a versions list,
    // GitHub's only the ECOSYSTEM range: two entries, PyPA's first.
    assert_eq!(synapse.affected.len(), 2);
    assert_eq!(synapse.affected[0].sources, ["osv:pypa"]);
    assert!(!synapse.affected[0].versions.is_empty());
    assert_eq!(synapse.affected[1].sources, ["ghsa"]);

    // GO-2021-0097 aliases CVE-2020-29242..29245; GHSA-27mh names only
    // CVE-2020-29244. The lowest CVE is the id, stated by Go alone.
    let tag = find(&result, "CVE-2020-29242");
    let id = tag.decisions.iter().find(|d| d.field == "id").unwrap();
    assert_eq!(id.chosen_source, "osv:go");
    assert!(tag.aliases.contains(&"GHSA-27mh-3343-6hg5".to_string()));
    // Go's `SEMVER` range and GitHub's `ECOSYSTEM` range for Go are the
    // same events `introduced: 0, fixed: 0.0.0-20201120070457-d52dcb253c63`
    // (both SemVer): one entry, both sources.
    assert_eq!(tag.affected.len(), 1);
    assert_eq!(tag.affected[0].sources, ["ghsa", "osv:go"]);

    // svix: RustSec `introduced: 0.0.0-0` with purl `pkg:cargo/svix`,
    // GitHub `introduced: 0` without purl: two entries, RustSec first.
    let svix = find(&result, "CVE-2024-21491");
    assert_eq!(svix.affected.len(), 2);
    assert_eq!(svix.affected[0].sources, ["osv:rustsec"]);
    assert_eq!(svix.affected[0].purl.as_deref(), Some("pkg:cargo/svix"));
    // RUSTSEC-2024-0010 also aliases GHSA-w277-wpqf-rcfv, not in the set.
    assert!(svix.aliases.contains(&"GHSA-w277-wpqf-rcfv".to_string()));

    // inventory: neither RUSTSEC-2023-0057 nor GHSA-ghc8 names a CVE; the
    // RustSec record ranks first for crates.io, so its id is the key.
    let inventory = find(&result, "RUSTSEC-2023-0057");
    assert_eq!(inventory.aliases, ["GHSA-ghc8-5cgm-5rpf"]);

    // PYSEC-2023-121 (zstd) stands alone, renamed to its CVE.
    let zstd = find(&result, "CVE-2022-4899");
    assert_eq!(zstd.aliases, ["PYSEC-2023-121"]);
    assert!(zstd.decisions.is_empty());
}

#[test]
fn every_merged_field_has_its_provenance() {
    let result = merge(sources(), &MergeOptions::default());
    let mut merged = 0;
    for a in &result.advisories {
        assert!(a.affected.iter().all(|p| !p.sources.is_empty()), "{}", a.id);
        if a.provenance.len() < 2 {
            continue;
        }
        merged += 1;
        let has = |field: &str| a.decisions.iter().any(|d| d.field == field);
        let mut fields = vec!["id", "aliases", "references"];
        for (present, field) in [
            (a.summary.is_some(), "summary"),
            (a.details.is_some(), "details"),
            (a.published.is_some(), "published"),
            (a.modified.is_some(), "modified"),
            (!a.severities.is_empty(), "severities"),
        ] {
            if present {
                fields.push(field);
            }
        }
        for field in fields {
            assert!(has(field), "{}: no decision for {field}", a.id);
        }
        for p in &a.affected {
            let key = stella_feeds::merge::package_key(&p.ecosystem, &p.name);
            assert!(
                has(&format!("affected[{}/{}]", key.0, key.1)),
                "{}: no decision for {}",
                a.id,
                p.name
            );
        }
        let sources: Vec<&str> = a.provenance.iter().map(|p| p.source.as_str()).collect();
        for d in &a.decisions {
            assert!(sources.contains(&d.chosen_source.as_str()), "{d:?}");
            assert!(!d.candidates.is_empty());
            assert_eq!(
                d.candidates.iter().filter(|c| c.id == d.chosen_id).count(),
                1
            );
        }
        for s in &a.severities {
            assert!(sources.contains(&s.source.as_str()));
        }
    }
    assert_eq!(merged, 12);
}

#[test]
fn the_output_does_not_depend_on_the_input_order() {
    let expected = bytes(&merge(sources(), &MergeOptions::default()));
    // Several fixed permutations: sources reversed, records reversed,
    // records rotated, one source split in two lists.
    let mut reversed = sources();
    reversed.reverse();
    let mut records_reversed = sources();
    for (_, list) in &mut records_reversed {
        list.reverse();
    }
    let mut rotated = sources();
    rotated.rotate_left(2);
    for (i, (_, list)) in rotated.iter_mut().enumerate() {
        let n = list.len();
        if n > 0 {
            list.rotate_left((i + 1) % n);
        }
    }
    let mut split = sources();
    let (info, list) = split.remove(0);
    let (a, b) = list.split_at(list.len() / 2);
    split.push((info.clone(), b.to_vec()));
    split.insert(1, (info, a.to_vec()));
    for (name, input) in [
        ("reversed", reversed),
        ("records reversed", records_reversed),
        ("rotated", rotated),
        ("split", split),
    ] {
        assert_eq!(
            bytes(&merge(input, &MergeOptions::default())),
            expected,
            "{name}"
        );
    }
}

#[test]
fn merging_a_merge_changes_nothing_that_matters() {
    let once = merge(sources(), &MergeOptions::default());
    let again = merge(
        vec![(
            SourceInfo::new("merged", SourceClass::Other),
            once.advisories.clone(),
        )],
        &MergeOptions::default(),
    );
    assert_eq!(again.advisories.len(), once.advisories.len());
    for (a, b) in once.advisories.iter().zip(&again.advisories) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.aliases, b.aliases);
        assert_eq!(a.affected, b.affected, "{}", a.id);
    }
}
