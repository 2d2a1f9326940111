//! The packagist comparator against the shared vectors (php-src's
//! version_compare.phpt and composer/semver's ComparatorTest data, plus
//! osv-scalibr's edge cases) and PHP's real `version_compare` (the system
//! php-cli, one process for all pairs) on a few thousand generated pairs.
//!
//! Composer itself orders versions with `version_compare` (its Comparator
//! ends in it; only `dev-*` branch constraints differ, and those are not
//! versions here), so PHP's function is the oracle; the one Composer step we
//! add — dropping a `v` before a digit — is applied to both sides before PHP
//! is asked, as osv-scalibr's generator does with `ltrim($v, "vV")`.

mod support;

use std::cmp::Ordering;
use std::path::PathBuf;
use std::process::Command;

use stella_version::packagist::{self, PackagistVersion};
use stella_version::Scheme;
use support::*;

/// Shared vectors where no total order can agree (see `packagist.rs`):
/// `1.2.3.#` is also `= 1.2.3` and `1.2.3 < 1.2.3.1`. PHP 8.2 itself
/// answers `<` here, as we do.
const NOT_TRANSITIVE: (&str, &str) = ("1.2.3.#", "1.2.3.1");

#[test]
fn shared_vectors() {
    let name = "packagist-versions.txt";
    let vectors = read_vectors(name);
    let checked = check_vectors(
        name,
        &vectors,
        Scheme::Packagist,
        PackagistVersion::parse,
        |v| {
            if (v.a.as_str(), v.b.as_str()) == NOT_TRANSITIVE {
                Ordering::Less
            } else {
                v.expected
            }
        },
    );
    assert!(checked > 90);
}

#[test]
fn equal_versions_are_eq_and_sort() {
    assert_eq!(
        PackagistVersion::parse("v1.0RC1").unwrap(),
        PackagistVersion::parse("1.0-rc.1").unwrap()
    );
    let mut sorted: Vec<PackagistVersion> = [
        "1.0", "1.0pl1", "1.0-dev", "1.0RC2", "1.0.0", "1.0b1", "1.0a1",
    ]
    .iter()
    .map(|s| PackagistVersion::parse(s).unwrap())
    .collect();
    sorted.sort();
    let names: Vec<&str> = sorted.iter().map(PackagistVersion::as_str).collect();
    // `pl` outranks a number: 1.0pl1 > 1.0.0 (PHP agrees).
    assert_eq!(
        names,
        ["1.0-dev", "1.0a1", "1.0b1", "1.0RC2", "1.0", "1.0.0", "1.0pl1"]
    );
}

#[test]
fn malformed_versions_are_errors() {
    let bad = ["", "   ", "1.0 beta", "1.0\u{e9}", "#1.0", "1\u{0}"];
    assert_rejected(Scheme::Packagist, &bad, PackagistVersion::parse);
    for s in random_inputs(13, 20_000, b"0123456789.-_+~abcdefgprvABCRCV#!* \t") {
        let _ = PackagistVersion::parse(&s);
    }
}

/// Composer-ish pieces: numbers (at most 18 digits: PHP's strtol saturates
/// beyond 2^63), every special form in its cases, unknown words, and
/// punctuation PHP treats specially. No `#` (see the module doc).
const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "10",
    "01",
    "007",
    "123",
    "999999999999999999",
    "dev",
    "alpha",
    "a",
    "beta",
    "b",
    "RC",
    "rc",
    "Rc",
    "pl",
    "p",
    "patch",
    "stable",
    "DEV",
    "foo",
    "x",
    "a1",
    "b2",
    "RC3",
    "rc4",
    "pl5",
    "1a",
    "2b",
    "3RC",
    "4pl",
    "",
    "/",
    "~",
    "*",
    "v1",
    "V2",
];
const SEPARATORS: &[&str] = &[".", ".", ".", "-", "-", "", "_", "+", "..", "-.", "/", "~"];

fn generated_pairs() -> Vec<(String, String)> {
    let mut g = Gen::new(0x0070_6870);
    let mut corpus = vector_versions(read_vectors("packagist-versions.txt"));
    corpus.retain(|v| !v.contains('#') && !v.starts_with("999"));
    let alphabet = b"0123456789.-_+abdeprlvRCV/";
    let mut pairs = Vec::new();
    while pairs.len() < 8000 {
        let a = g.joined(TOKENS, SEPARATORS, 6);
        let fresh = |g: &mut Gen| g.joined(TOKENS, SEPARATORS, 6);
        let b = g.partner(&a, &corpus, fresh, alphabet, TOKENS);
        // Mostly versions ending in a letter or digit: a trailing separator
        // is where PHP has no order (checked on the rest).
        let trim = |v: String| {
            if rng_trims(&v) {
                v.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                    .to_string()
            } else {
                v
            }
        };
        let (a, b) = (trim(a), trim(b));
        if a.is_empty() || b.is_empty() || has_huge_number(&a) || has_huge_number(&b) {
            continue;
        }
        pairs.push((a, b));
    }
    pairs
}

/// More than 18 digits in a row: PHP's strtol saturates there (all such
/// numbers are equal to PHP), we compare exactly — shared vectors test it.
fn has_huge_number(version: &str) -> bool {
    version
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| run.trim_start_matches('0').len() > 18)
}

/// Nine versions in ten lose their trailing separators (a fixed choice by
/// content, so the run stays deterministic).
fn rng_trims(version: &str) -> bool {
    version.bytes().map(u32::from).sum::<u32>() % 10 != 0
}

/// Composer's step before `version_compare`: a `v` before a digit goes.
fn without_v(version: &str) -> &str {
    match version.as_bytes() {
        [b'v' | b'V', second, ..] if second.is_ascii_digit() => &version[1..],
        _ => version,
    }
}

#[test]
fn agrees_with_php_version_compare() {
    let pairs = generated_pairs();
    // Per pair: A vs B, then A vs A and B vs B — PHP's version_compare is not
    // reflexive on a trailing separator (`1.` < `1.`), where no order can
    // follow it; such versions are checked against their trimmed form below.
    let mut input = String::new();
    for (a, b) in &pairs {
        let (a, b) = (without_v(a), without_v(b));
        input.push_str(&format!("{a}\t{b}\n{a}\t{a}\n{b}\t{b}\n"));
    }
    let mut php = Command::new("php");
    php.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/packagist_compare.php"));
    let Some(answers) = run_oracle_lines(php, "php (version_compare)", &input) else {
        return;
    };
    assert_eq!(answers.len(), 3 * pairs.len(), "three answers per pair");
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut irreflexive = 0;
    for ((a, b), answer) in pairs.iter().zip(answers.chunks(3)) {
        let got = packagist::compare(a, b);
        if answer[1] != "0" || answer[2] != "0" {
            // PHP's quirk: then the version must end in a separator, and we
            // order it like the version without it.
            irreflexive += 1;
            // PHP's canonical form then ends in `.`, made of the last
            // character, and we read the version as if it were not there.
            for (v, reflexive) in [(a, &answer[1]), (b, &answer[2])] {
                if reflexive != "0" {
                    let shorter = &v[..v.len() - 1];
                    if v.ends_with(|c: char| c.is_ascii_alphanumeric())
                        || packagist::compare(v, shorter) != Ok(Ordering::Equal)
                    {
                        failures.push(format!(
                            "{v:?}: PHP says it is not equal to itself; we differ from {shorter:?}"
                        ));
                    }
                }
            }
            continue;
        }
        let want = oracle_answer(&answer[0]).expect("version_compare always answers");
        match got {
            Ok(g) if g == want => compared += 1,
            other => failures.push(format!("{a:?} {} {b:?} (PHP), we say {other:?}", op(want))),
        }
    }
    assert_agrees("PHP's version_compare", pairs.len(), failures);
    assert!(compared > 5000, "only {compared} pairs compared");
    eprintln!("{compared} pairs compared with PHP; {irreflexive} had a version PHP does not order (trailing separator)");
}

fn composer_oracle(input: &str) -> Option<Vec<String>> {
    let mut php = Command::new("php");
    php.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/composer_semver.php"));
    run_oracle_lines(
        php,
        "php with composer/semver (the composer package)",
        input,
    )
}

/// Our one Composer step, checked on Composer: its VersionParser reads
/// `v1.0pl1` exactly like `1.0pl1`, for every `v` version of the vectors and
/// generated ones.
#[test]
fn composer_ignores_a_leading_v() {
    let mut versions: Vec<String> = read_vectors("packagist-versions.txt")
        .into_iter()
        .flat_map(|v| [v.a, v.b])
        .collect();
    versions.extend(generated_pairs().into_iter().flat_map(|(a, b)| [a, b]));
    versions.retain(|v| without_v(v) != v);
    versions.sort();
    versions.dedup();
    assert!(versions.len() > 50);
    let input: String = versions
        .iter()
        .map(|v| format!("N\t{v}\nN\t{}\n", without_v(v)))
        .collect();
    let Some(answers) = composer_oracle(&input) else {
        return;
    };
    assert_eq!(answers.len(), 2 * versions.len());
    let mut normalized = 0;
    for (v, answer) in versions.iter().zip(answers.chunks(2)) {
        assert_eq!(
            answer[0],
            answer[1],
            "Composer reads {v:?} and {:?} differently",
            without_v(v)
        );
        if answer[0] != "E" {
            normalized += 1;
        }
    }
    assert!(
        normalized > 10,
        "Composer normalized only {normalized} of them"
    );
}

/// composer/semver's Comparator (what Composer orders versions with) agrees
/// with us on the shared vectors, except where Composer does not take the
/// versions as written: a leading `v` (stripped only by its parser), `#`
/// and numbers past 2^63 (PHP's own limits; see `packagist.rs`).
#[test]
fn composer_comparator_agrees() {
    let vectors: Vec<Vector> = read_vectors("packagist-versions.txt")
        .into_iter()
        .filter(|v| {
            [&v.a, &v.b]
                .iter()
                .all(|s| without_v(s) == s.as_str() && !s.contains('#') && !has_huge_number(s))
        })
        .collect();
    assert!(vectors.len() > 60);
    let input: String = vectors
        .iter()
        .map(|v| format!("C\t{}\t{}\n", v.a, v.b))
        .collect();
    let Some(answers) = composer_oracle(&input) else {
        return;
    };
    assert_eq!(answers.len(), vectors.len());
    for (v, answer) in vectors.iter().zip(&answers) {
        let ours = packagist::compare(&v.a, &v.b).map(op);
        assert_eq!(
            ours.as_deref(),
            Ok(answer.as_str()),
            "line {}: {} vs {}",
            v.line,
            v.a,
            v.b
        );
    }
}
