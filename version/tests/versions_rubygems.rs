//! The rubygems comparator against the shared vectors, RubyGems' own
//! test_gem_version.rb data, and the real `Gem::Version` (the system ruby,
//! one process for all pairs) on a few thousand generated pairs.

mod support;

use std::path::PathBuf;
use std::process::Command;

use stella_version::rubygems::{self, RubyGemsVersion};
use stella_version::Scheme;
use support::*;

#[test]
fn shared_vectors() {
    assert!(
        check_vector_file(
            "rubygems-versions.txt",
            Scheme::RubyGems,
            RubyGemsVersion::parse,
            as_written
        ) > 20
    );
}

#[test]
fn upstream_test_gem_version() {
    assert!(
        check_vector_file(
            "rubygems-test_gem_version.txt",
            Scheme::RubyGems,
            RubyGemsVersion::parse,
            as_written
        ) > 15
    );
}

#[test]
fn equal_versions_are_eq_and_sort() {
    assert_eq!(
        RubyGemsVersion::parse(" 1.0\n").unwrap(),
        RubyGemsVersion::parse("1").unwrap()
    );
    assert_eq!(
        RubyGemsVersion::parse("").unwrap(),
        RubyGemsVersion::parse("0").unwrap()
    );
    // Ruby's `\s` (checked with Gem::Version.correct?): VT and FF yes, NBSP no.
    assert!(RubyGemsVersion::parse("\u{b}1.0\u{c}").is_ok());
    assert!(RubyGemsVersion::parse("\u{a0}1.0").is_err());
    let mut sorted: Vec<RubyGemsVersion> = ["1.0", "1.0.rc1", "1.0.b2", "1.0-a", "0.9.9"]
        .iter()
        .map(|s| RubyGemsVersion::parse(s).unwrap())
        .collect();
    sorted.sort();
    let names: Vec<&str> = sorted.iter().map(RubyGemsVersion::as_str).collect();
    assert_eq!(names, ["0.9.9", "1.0.b2", "1.0-a", "1.0.rc1", "1.0"]);
    // test_prerelease
    for pre in ["1.2.0.a", "2.9.b", "22.1.50.0.d", "1.2.d.42", "1.A", "1-1"] {
        assert!(
            RubyGemsVersion::parse(pre).unwrap().is_prerelease(),
            "{pre}"
        );
    }
    for release in ["1.2.0", "2.9", "22.1.50.0"] {
        assert!(
            !RubyGemsVersion::parse(release).unwrap().is_prerelease(),
            "{release}"
        );
    }
}

#[test]
fn malformed_versions_are_errors() {
    // test_initialize_bad, the `+build` versions of test_semver, and more.
    let bad = [
        "junk",
        "1.0\n2.0",
        "1.0.0+0.3.7",
        "1.0.0-rc.1+build.1",
        "v1.0",
        "1..0",
        "1.",
        "-1",
        "1-",
        "1.0_1",
        "1.0\u{e9}",
    ];
    assert_rejected(Scheme::RubyGems, &bad, RubyGemsVersion::parse);
    for s in random_inputs(11, 20_000, b"0123456789.-_+~abcdefgprvABCRCV#!* \t") {
        let _ = RubyGemsVersion::parse(&s);
    }
}

const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "9",
    "10",
    "01",
    "00",
    "123",
    "999999999999999999999999999991",
    "a",
    "b",
    "rc",
    "pre",
    "alpha",
    "beta",
    "A",
    "B",
    "RC",
    "Z",
    "a1",
    "b2",
    "rc3",
    "1a",
    "2b",
    "dev",
    "gamma",
    "x",
    "4",
    "5",
    "",
];
/// Mostly valid separators; the rest probe the pattern.
const SEPARATORS: &[&str] = &[
    ".", ".", ".", ".", ".", "-", "-", "", "..", "_", " ", "--", ".-",
];

fn generated_pairs() -> Vec<(String, String)> {
    let mut g = Gen::new(0x7275_6279);
    let mut corpus = vector_versions(read_vectors("rubygems-versions.txt"));
    corpus.extend(vector_versions(read_vectors(
        "rubygems-test_gem_version.txt",
    )));
    let alphabet = b"0123456789.-abrABZ ";
    let mut pairs = Vec::new();
    while pairs.len() < 8000 {
        let mut a = g.joined(TOKENS, SEPARATORS, 6);
        if g.chance(60) && !a.starts_with(|c: char| c.is_ascii_digit()) {
            a.insert(0, '1');
        }
        let fresh = |g: &mut Gen| {
            let b = g.joined(TOKENS, SEPARATORS, 6);
            if g.chance(60) {
                format!("{}{b}", g.rng.usize(..3))
            } else {
                b
            }
        };
        let b = g.partner(&a, &corpus, fresh, alphabet, TOKENS);
        pairs.push((a, b));
    }
    pairs
}

/// RubyGems insists on digits before the first `.` (`1beta` is malformed);
/// we accept letters there, reading `1beta` as `1.beta` — the same segments —
/// because OSV data and the shared vectors carry such versions. This is that
/// reading, so Ruby can be asked about it too.
fn ruby_form(version: &str) -> String {
    if RubyGemsVersion::parse(version).is_err() {
        return version.to_string();
    }
    let trimmed = version.trim();
    let end = trimmed.find(['.', '-']).unwrap_or(trimmed.len());
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in trimmed[..end].chars() {
        if previous.is_some_and(|p| p.is_ascii_digit() != c.is_ascii_digit()) {
            out.push('.');
        }
        out.push(c);
        previous = Some(c);
    }
    out.push_str(&trimmed[end..]);
    out
}

#[test]
fn agrees_with_gem_version() {
    let pairs = generated_pairs();
    // Two lines per pair: as written, and in the form Ruby accepts (above).
    let input: String = pairs
        .iter()
        .map(|(a, b)| format!("{a}\t{b}\n{}\t{}\n", ruby_form(a), ruby_form(b)))
        .collect();
    let mut ruby = Command::new("ruby");
    ruby.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/rubygems_compare.rb"));
    let Some(answers) = run_oracle_lines(ruby, "ruby (Gem::Version)", &input) else {
        return;
    };
    assert_eq!(answers.len(), 2 * pairs.len(), "two answers per pair");
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut lenient = 0;
    for ((a, b), answer) in pairs.iter().zip(answers.chunks(2)) {
        let (as_written, in_ruby_form) = (oracle_answer(&answer[0]), oracle_answer(&answer[1]));
        let got = rubygems::compare(a, b);
        match (&in_ruby_form, &got) {
            (Some(w), Ok(g)) if w == g => compared += 1,
            (None, Err(_)) => {}
            _ => failures.push(format!(
                "{a:?} vs {b:?}: Gem::Version says {}, we say {got:?}",
                answer[1]
            )),
        }
        if as_written.is_none() && got.is_ok() {
            if ruby_form(a) == a.trim() && ruby_form(b) == b.trim() {
                failures.push(format!(
                    "{a:?} vs {b:?}: Gem::Version rejects it, we accept it"
                ));
            }
            lenient += 1;
        }
    }
    assert_agrees("Gem::Version", pairs.len(), failures);
    // Enough valid pairs that the order itself was tested, not just the errors.
    assert!(
        compared > 2000,
        "only {compared} pairs were valid on both sides"
    );
    eprintln!("{compared} pairs compared, {lenient} of them only in the lenient `1beta` reading");
}
