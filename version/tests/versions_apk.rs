//! Alpine (apk-tools) version ordering against three oracles: the shared
//! vector file (osv-scalibr), apk-tools' own `test/version.data`, and the
//! answers of apk-tools 2.14's comparison code on several thousand
//! generated pairs, recorded in `fixtures/versions/upstream/` (apk-tools
//! does not run on this Debian machine or CI; see SOURCE.md there for how
//! the answers were produced).
//!
//! The reference is apk-tools 2.14 (Alpine 3.18–3.22), whose
//! `apk version -t` compares any two strings. The shared vectors mix
//! answers of several apk-tools generations on *invalid* versions; where
//! they differ from 2.14 we follow 2.14 and list the line below.

mod support;

use std::cell::Cell;
use std::cmp::Ordering;

use stella_version::apk::{compare, ApkVersion};
use stella_version::Scheme;
use support::*;

const SHARED: &str = "alpine-versions.txt";
const APK_TOOLS_DATA: &str = "upstream/apk-tools-version.data";
const APK_2_14_ANSWERS: &str = "upstream/apk-tools-2.14-generated-pairs.txt";

/// Shared-vector lines where apk-tools 2.14 answers differently, all on
/// versions apk itself calls invalid: `(a, b, 2.14's answer, who agrees
/// with the vector)`.
const DIFFERS_FROM_APK_2_14: [(&str, &str, &str, &str); 11] = [
    ("0.r1", "0r2", ">", "apk-tools 3.0"),
    ("0...1...0.r1", "0...1...0.r2", "=", "apk-tools 2.10-2.12"),
    ("0...1...0r1", "0...1...0r2", "=", "apk-tools 2.10-2.12"),
    ("0.8.21.r2", "0.8.21.r1", "=", "apk-tools 2.10-2.12"),
    ("0.8.21.r2", "0.8.21r2", ">", "apk-tools 3.0"),
    ("6.6.2p1", "6.6.2p2", "=", "apk-tools 2.10-2.12"),
    ("1", "1-ruff", "<", "apk-tools 3.0"),
    ("1-ruff2", "1--ruff1", ">", "apk-tools 3.0"),
    (".2", ".1", "=", "apk-tools 2.10-2.12"),
    ("a", "b", "=", "apk-tools 2.10-2.12"),
    ("c", "b", "=", "apk-tools 2.10-2.12"),
];

#[test]
fn shared_vectors_agree_or_follow_apk_2_14() {
    let vectors = read_vectors(SHARED);
    assert_eq!(vectors.len(), 778);
    let deviations = Cell::new(0);
    let expected = |v: &Vector| match DIFFERS_FROM_APK_2_14
        .iter()
        .find(|(a, b, _, _)| *a == v.a && *b == v.b)
    {
        Some((_, _, apk_2_14, _)) => {
            deviations.set(deviations.get() + 1);
            let (a, b) = (
                ApkVersion::parse(&v.a).unwrap(),
                ApkVersion::parse(&v.b).unwrap(),
            );
            assert!(
                !a.is_valid() || !b.is_valid(),
                "line {}: deviations are only allowed on invalid versions",
                v.line
            );
            parse_op(apk_2_14).unwrap()
        }
        None => v.expected,
    };
    check_vectors(SHARED, &vectors, Scheme::Apk, ApkVersion::parse, expected);
    assert_eq!(deviations.get(), DIFFERS_FROM_APK_2_14.len());
}

#[test]
fn apk_tools_own_version_data_agrees() {
    let vectors = read_vectors(APK_TOOLS_DATA);
    assert_eq!(vectors.len(), 729);
    check_vectors(
        APK_TOOLS_DATA,
        &vectors,
        Scheme::Apk,
        ApkVersion::parse,
        as_written,
    );
}

#[test]
fn agrees_with_apk_tools_2_14_on_generated_pairs() {
    let recorded = read_vectors(APK_2_14_ANSWERS);
    // The recorded pairs are exactly the ones this generator makes, so the
    // file can be reproduced (see SOURCE.md).
    let pairs = generated_pairs();
    assert_eq!(recorded.len(), pairs.len());
    let mut mismatches = Vec::new();
    for (v, (a, b)) in recorded.iter().zip(&pairs) {
        assert_eq!((&v.a, &v.b), (a, b), "recorded line {}", v.line);
        let ours = compare(a, b);
        if ours != Ok(v.expected) {
            mismatches.push(format!(
                "{a} {b}: apk {}, ours {:?}",
                op(v.expected),
                ours.map(op)
            ));
        }
    }
    assert_agrees("apk-tools 2.14", pairs.len(), mismatches);
    let invalid = pairs
        .iter()
        .filter(|(a, b)| {
            !ApkVersion::parse(a).unwrap().is_valid() || !ApkVersion::parse(b).unwrap().is_valid()
        })
        .count();
    assert!(
        invalid > 300 && invalid < pairs.len() / 2,
        "{invalid} pairs with an invalid side"
    );
}

/// Writes the generated pairs (`A B` lines) for the apk-tools oracle run:
/// `STELLA_APK_PAIRS_OUT=/path cargo test -p stella-feeds --test
/// versions_apk -- --ignored`.
#[test]
#[ignore = "writes the oracle input; run by hand when the generator changes"]
fn write_generated_pairs() {
    let path = std::env::var("STELLA_APK_PAIRS_OUT").expect("STELLA_APK_PAIRS_OUT");
    let text: String = generated_pairs()
        .iter()
        .map(|(a, b)| format!("{a} {b}\n"))
        .collect();
    std::fs::write(path, text).expect("writing the pairs");
}

fn generated_pairs() -> Vec<(String, String)> {
    let seeds = vector_versions(read_vectors(SHARED));
    seeded_pairs(
        0xa1b_2026,
        &seeds,
        "0123456789._-rpabzA~",
        5,
        apk_shaped,
        &[".0", "_rc1", "_p1", "-r0", "-r1", "a", ".01", "_alpha"],
    )
}

/// An apk-shaped version: numbers, a letter, `_suffix`es, `-rN`.
fn apk_shaped(gen: &mut Gen) -> String {
    let mut v = gen.part_number();
    for _ in 0..gen.rng.usize(0..4) {
        v.push('.');
        v.push_str(&gen.part_number());
    }
    if gen.rng.u8(..5) == 0 {
        v.push_str(gen.pick(&["a", "b", "z", "p"]));
    }
    for _ in 0..gen.rng.usize(0..3) {
        if gen.rng.u8(..3) == 0 {
            break;
        }
        v.push('_');
        v.push_str(gen.pick(&["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]));
        if gen.rng.bool() {
            v.push_str(&gen.part_number());
        }
    }
    if gen.rng.bool() {
        v.push_str(&format!("-r{}", gen.rng.u16(..20)));
    }
    v
}

#[test]
fn malformed_versions_are_typed_errors() {
    assert_rejected(Scheme::Apk, &["", "1.0\0-r1"], ApkVersion::parse);
}

#[test]
fn random_bytes_never_panic() {
    for input in random_inputs(0xa1b, 20_000, b"0123456789.-:~^_+abrpz \t\0\xff\xce") {
        if let Ok(v) = ApkVersion::parse(&input) {
            assert_eq!(v.cmp(&v), Ordering::Equal, "{input:?}");
            let _ = v.is_valid();
        }
        let _ = compare(&input, "1.0-r0");
    }
}

#[test]
fn ord_is_a_total_order_on_generated_versions() {
    assert_total_order_of(generated_pairs(), ApkVersion::parse);
}
