//! The maven comparator against Maven's shared vectors, Maven's own
//! ComparableVersionTest data, and the real `ComparableVersion` (Maven 3.9,
//! Debian trixie's libmaven3-core-java, via tests/install-maven-artifact.sh)
//! on a few thousand generated pairs.

mod support;

use std::cmp::Ordering;
use std::path::PathBuf;
use std::process::Command;

use stella_version::maven::{self, MavenVersion};
use stella_version::Scheme;
use support::*;

/// The one shared vector that follows Maven 4 rather than Maven 3.9: Maven 4
/// folds `ga-1` into a single letter-digit item, so `1-ga-1` equals `1-1`;
/// Maven 3.9.9 (our reference, and the oracle below) keeps `ga` as a release
/// qualifier followed by a sub-list, which sorts below the sub-list `1-1`.
const MAVEN4_ONLY: (&str, &str) = ("1-1", "1-ga-1");

fn check_file(file: &str) -> usize {
    check_vector_file(file, Scheme::Maven, MavenVersion::parse, |v| {
        if (v.a.as_str(), v.b.as_str()) == MAVEN4_ONLY {
            Ordering::Greater
        } else {
            v.expected
        }
    })
}

#[test]
fn shared_vectors() {
    assert!(check_file("maven-versions.txt") > 100);
}

#[test]
fn upstream_comparable_version_test() {
    assert!(check_file("maven-comparableversiontest.txt") > 50);
}

#[test]
fn equal_versions_are_eq() {
    let a = MavenVersion::parse("1.0.0-GA").unwrap();
    let b = MavenVersion::parse("1").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_str(), "1.0.0-GA");
    let mut sorted: Vec<MavenVersion> = ["1.0", "1.0-SNAPSHOT", "1.0-sp", "1.0-alpha"]
        .iter()
        .map(|s| MavenVersion::parse(s).unwrap())
        .collect();
    sorted.sort();
    let names: Vec<&str> = sorted.iter().map(MavenVersion::as_str).collect();
    assert_eq!(names, ["1.0-alpha", "1.0-SNAPSHOT", "1.0", "1.0-sp"]);
}

#[test]
fn malformed_versions_are_errors() {
    let bad = ["", " 1.0", "1.0\n", "1.0 beta", "1.0\u{e9}", "1\u{0}"];
    assert_rejected(Scheme::Maven, &bad, MavenVersion::parse);
    // The deepest nesting accepted compares fine; longer is refused.
    let deep = "1-".repeat(maven::MAX_LEN / 2);
    assert_eq!(maven::compare(&deep, &deep), Ok(Ordering::Equal));
    assert!(maven::compare(&format!("{deep}1"), "1").is_err());
    for s in random_inputs(7, 20_000, GARBAGE_ALPHABET) {
        let _ = MavenVersion::parse(&s);
    }
}

/// Maven's separators and qualifier letters, and some it has no use for.
const GARBAGE_ALPHABET: &[u8] = b"0123456789.-_+~abcdefgprvABCRCV#!* \t";

fn maven_artifact_jar() -> PathBuf {
    if let Ok(jar) = std::env::var("STELLA_MAVEN_ARTIFACT_JAR") {
        return PathBuf::from(jar);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/maven-artifact/root/usr/share/java/maven3-artifact.jar")
}

/// Realistic Maven version pieces: numbers (some huge or zero-padded),
/// every known qualifier and alias in several cases, unknown words.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "10",
    "01",
    "007",
    "123",
    "2147483648",
    "99999999999",
    "12345678901234567890",
    "alpha",
    "a",
    "beta",
    "b",
    "milestone",
    "m",
    "rc",
    "cr",
    "RC",
    "snapshot",
    "SNAPSHOT",
    "ga",
    "GA",
    "final",
    "Final",
    "release",
    "RELEASE",
    "sp",
    "SP",
    "xyz",
    "foo",
    "jre",
    "Beta",
    "M",
    "c",
    "",
    "a1",
    "rc2",
    "b3",
    "m4",
    "sp1",
    "1a",
    "2b",
    "v",
];
const SEPARATORS: &[&str] = &[".", ".", ".", "-", "-", "", "_", "+", "..", "-."];

fn generated_pairs() -> Vec<(String, String)> {
    let mut g = Gen::new(0x006d_6176_656e);
    let mut corpus = vector_versions(read_vectors("maven-versions.txt"));
    corpus.extend(vector_versions(read_vectors(
        "maven-comparableversiontest.txt",
    )));
    let alphabet = b"0123456789.-abcmrsxAB_";
    let mut pairs = Vec::new();
    while pairs.len() < 6000 {
        let a = g.joined(TOKENS, SEPARATORS, 6);
        let fresh = |g: &mut Gen| g.joined(TOKENS, SEPARATORS, 6);
        let b = g.partner(&a, &corpus, fresh, alphabet, TOKENS);
        let a = if g.chance(20) {
            corpus[g.rng.usize(..corpus.len())].clone()
        } else {
            a
        };
        if a.is_empty() || b.is_empty() {
            continue;
        }
        pairs.push((a, b));
    }
    pairs
}

#[test]
fn agrees_with_maven_comparable_version() {
    let jar = maven_artifact_jar();
    let what = format!("the maven-artifact jar at {}", jar.display());
    let remedy = "run tests/install-maven-artifact.sh, or set STELLA_MAVEN_ARTIFACT_JAR";
    if !require_oracle(jar.is_file(), &what, remedy) {
        return;
    }
    let pairs = generated_pairs();
    let input = tab_separated(&pairs);
    let mut java = Command::new("java");
    java.arg("-cp")
        .arg(&jar)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/MavenCompare.java"));
    let Some(answers) = run_oracle_lines(java, "java (Maven ComparableVersion)", &input) else {
        return;
    };
    assert_eq!(answers.len(), pairs.len(), "one answer per pair");
    let mut failures = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(&answers) {
        let want = oracle_answer(answer).expect("Maven accepts every string");
        match maven::compare(a, b) {
            Ok(got) if got == want => {}
            got => failures.push(format!("{a} {} {b} (Maven), got {got:?}", op(want))),
        }
    }
    assert_agrees("Maven's ComparableVersion", pairs.len(), failures);
}
