//! SemVer comparator against: the shared OSV vectors, the semver.org spec
//! examples, and node-semver (npm's `semver`, the reference most OSV SEMVER
//! data is written against), run once over a few thousand generated pairs.
//!
//! node-semver is strict where this comparator is tolerant on purpose (see
//! `stella_version::semver`): where node rejects a version we accept,
//! the version must show one of those documented tolerances.
//!
//! Needs `node` and `npm install semver@7.7.1` in `target/oracles/npm-semver`
//! (tests/run.sh does it; STELLA_NPM_SEMVER_DIR overrides the directory). A
//! missing oracle fails unless STELLA_SKIP_ORACLES=1.

mod support;

use std::cmp::Ordering;
use std::path::PathBuf;

use stella_version::semver::{compare, SemverVersion};
use stella_version::Scheme;
use support::*;

#[test]
fn shared_osv_vectors() {
    assert!(
        check_vector_file(
            "semver-versions.txt",
            Scheme::Semver,
            SemverVersion::parse,
            as_written
        ) > 80
    );
}

#[test]
fn semver_spec_examples() {
    assert!(
        check_vector_file(
            "semver-spec.txt",
            Scheme::Semver,
            SemverVersion::parse,
            as_written
        ) > 15
    );
}

#[test]
fn documented_tolerances() {
    let same = |a: &str, b: &str| assert_eq!(compare(a, b), Ok(Ordering::Equal), "{a} = {b}");
    same("v1.2.3", "1.2.3");
    same(" 1.2.3\n", "1.2.3");
    same("1", "1.0.0");
    same("1.2", "1.2.0");
    same("1.2.3.4", "1.2.3");
    same("1.2.3.4-rc.1", "1.2.3-rc.1");
    same("01.02.003", "1.2.3");
    same("1.2.3-rc.01", "1.2.3-rc.1");
    assert_eq!(
        compare("18446744073709551616.0.0", "18446744073709551615.0.0"),
        Ok(Ordering::Greater)
    );
    assert_eq!(
        compare("1.0.0-18446744073709551616", "1.0.0-9"),
        Ok(Ordering::Greater)
    );
    let bad = [
        "V1.2.3",
        "=1.2.3",
        "1.2.3beta",
        "1.2.*",
        "1.2.3-rc..1",
        "1.2.3+a+b",
        "1.2.3 - 2",
    ];
    assert_rejected(Scheme::Semver, &bad, SemverVersion::parse);
}

const NODE_SEMVER: &str = "7.7.1";

fn npm_semver_dir() -> PathBuf {
    std::env::var_os("STELLA_NPM_SEMVER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/oracles/npm-semver"
            ))
        })
}

/// A SemVer-shaped version: mostly valid, with the spellings seen in the wild.
fn generated_version(g: &mut Gen) -> String {
    let mut s = String::new();
    if g.chance(10) {
        s.push('v');
    }
    let parts = if g.chance(5) { g.rng.usize(1..=4) } else { 3 };
    let core: Vec<String> = (0..parts).map(|_| g.number(true, 15)).collect();
    s.push_str(&core.join("."));
    if g.chance(45) {
        let ids = g.rng.usize(1..=4);
        let pre: Vec<String> = (0..ids)
            .map(|_| {
                if g.chance(40) {
                    g.number(true, 15)
                } else {
                    g.pick(&[
                        "alpha", "beta", "rc", "RC", "Alpha", "a", "b", "pre", "x-y", "-", "--",
                        "0a", "1-2", "SNAPSHOT", "dev", "r2", "r100",
                    ])
                    .to_string()
                }
            })
            .collect();
        s += &format!("-{}", pre.join("."));
    }
    if g.chance(15) {
        s += &format!(
            "+{}",
            g.pick(&["build.1", "001", "exp.sha.5114f85", "x-y", "20130313"])
        );
    }
    s
}

/// The forms node-semver rejects and this comparator accepts on purpose.
fn is_documented_tolerance(v: &str) -> bool {
    let t = v.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    let head = t.split('+').next().unwrap_or("");
    let (core, pre) = head.split_once('-').unwrap_or((head, ""));
    let numbers: Vec<&str> = core.split('.').collect();
    let leading_zero =
        |n: &&str| n.len() > 1 && n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit());
    numbers.len() != 3
        || numbers.iter().any(leading_zero)
        || pre.split('.').any(|id| !pre.is_empty() && leading_zero(&id))
        || numbers.iter().any(|n| n.len() > 15) // beyond 2^53 (node's MAX_SAFE_INTEGER)
        || v.len() > 256 // node's MAX_LENGTH
}

#[test]
fn differential_against_node_semver() {
    if oracles_skipped("SemVer differential test against node-semver") {
        return;
    }
    let dir = npm_semver_dir();
    let install = format!(
        "install it: mkdir -p {0} && npm install --prefix {0} semver@{NODE_SEMVER}",
        dir.display()
    );
    let installed = dir.join("node_modules/semver/package.json").is_file();
    let what = format!("node-semver in {}", dir.display());
    if !require_oracle(installed, &what, &install) {
        return;
    }
    let mut g = Gen::new(0x5e_3e4);
    let mut known = vector_versions(read_vectors("semver-versions.txt"));
    known.extend(vector_versions(read_vectors("semver-spec.txt")));
    let pool = g.pool(known, generated_version, "0123456789.-+vVaAbrxyz_ ");
    let pairs = g.pairs(&pool, 5000);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracles/semver_compare.js"
    );
    let dir_arg = dir.to_string_lossy().into_owned();
    let results = json_pair_oracle("node", &[script, &dir_arg], &pairs, "semver", &install);
    let (mut compared, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for ((a, b), r) in pairs.iter().zip(&results) {
        for (v, node_valid) in [(a, r[1].as_bool()), (b, r[2].as_bool())] {
            let ours = SemverVersion::parse(v);
            match (node_valid, &ours) {
                (Some(true), Err(e)) => failures.push(format!("{v:?}: node accepts, ours: {e}")),
                (Some(false), Ok(_)) if !is_documented_tolerance(v) => {
                    failures.push(format!("{v:?}: node rejects, ours accepts"))
                }
                (Some(false), _) => rejected += 1,
                _ => {}
            }
        }
        if let Some(o) = r[0].as_str() {
            compared += 1;
            let want = parse_op(o).unwrap_or_else(|| panic!("node answered {o:?}"));
            let got = compare(a, b);
            if got != Ok(want) {
                failures.push(format!("{a:?} vs {b:?}: node {o}, ours {got:?}"));
            }
        }
    }
    assert_agrees("node-semver", pairs.len(), failures);
    eprintln!("{compared} pairs compared, {rejected} versions node rejects");
    assert!(compared > 2000 && rejected > 200, "{compared} / {rejected}");
}

#[test]
fn random_bytes_never_panic() {
    for s in random_inputs(2, 30_000, b"0123456789.-+vabrxyzAB ") {
        assert_display_reparses(&s, SemverVersion::parse);
    }
}
