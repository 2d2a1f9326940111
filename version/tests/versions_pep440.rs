//! PEP 440 comparator against: the shared OSV vectors, packaging's own test
//! data, and packaging itself (`packaging.version.Version`, the reference
//! implementation, run once over a few thousand generated pairs).
//!
//! Needs `python3` with `packaging` (pinned in tests/run.sh); a missing oracle
//! fails unless STELLA_SKIP_ORACLES=1.

mod support;

use std::cmp::Ordering;

use stella_version::pep440::{compare, Pep440Version};
use support::*;

/// The shared vectors' "legacy versions" (their comment says why they are
/// there): packaging < 22 sorted them as LegacyVersion before every valid
/// version. packaging 22+ — and this comparator — reject them, so for these
/// lines the expected outcome is an error naming the legacy version.
const LEGACY: [&str; 11] = [
    "0.1-bulbasaur",
    "0.1-charmander",
    "0.9-doduo",
    "0.9-eevee",
    "0.9-fearow",
    "0.9-gyarados",
    "0.9-horsea",
    "0.9-ivysaur",
    "-class.-jw.util.version.version-pre",
    "-class.-jw.util.version.version-preview",
    "-class.-jw.util.version.version-dev",
];

#[test]
fn shared_osv_vectors() {
    let vectors = read_vectors("pypi-versions.txt");
    let mut checked = 0;
    for v in &vectors {
        let legacy: Vec<&str> = [&v.a, &v.b]
            .into_iter()
            .filter(|s| LEGACY.contains(&s.as_str()))
            .map(String::as_str)
            .collect();
        match compare(&v.a, &v.b) {
            Ok(got) => {
                assert!(
                    legacy.is_empty(),
                    "line {}: legacy {legacy:?} accepted",
                    v.line
                );
                assert_eq!(
                    got,
                    v.expected,
                    "line {}: {} {} {}",
                    v.line,
                    v.a,
                    op(v.expected),
                    v.b
                );
                // The reverse comparison and the parsed values agree.
                assert_eq!(compare(&v.b, &v.a), Ok(v.expected.reverse()));
                let (a, b) = (Pep440Version::parse(&v.a), Pep440Version::parse(&v.b));
                assert_eq!(a.as_ref().ok().cmp(&b.as_ref().ok()), v.expected);
                assert_eq!(a == b, v.expected == Ordering::Equal);
                checked += 1;
            }
            Err(e) => {
                assert!(
                    legacy.contains(&e.input.as_str()),
                    "line {}: {} {} {}: {e}",
                    v.line,
                    v.a,
                    op(v.expected),
                    v.b
                );
            }
        }
    }
    assert!(checked >= 25, "only {checked} vectors compared");
}

#[test]
fn packaging_sorted_versions_ascend() {
    let versions: Vec<String> = fixture_lines("pypi-packaging-sorted.txt")
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let parsed: Vec<Pep440Version> = versions
        .iter()
        .map(|v| Pep440Version::parse(v).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    // Every pair, not just neighbours: the order must be total and strict.
    for i in 0..parsed.len() {
        for j in 0..parsed.len() {
            assert_eq!(
                parsed[i].cmp(&parsed[j]),
                i.cmp(&j),
                "{} vs {}",
                versions[i],
                versions[j]
            );
        }
    }
}

#[test]
fn packaging_invalid_versions_are_errors() {
    for (line, v) in fixture_lines("pypi-packaging-invalid.txt") {
        let err = Pep440Version::parse(&v).expect_err(&format!("line {line}: {v:?} accepted"));
        assert_eq!(err.input, v);
        assert!(err.to_string().contains("pypi version"), "{err}");
    }
}

#[test]
fn packaging_normalized_forms() {
    for (line, text) in fixture_lines("pypi-packaging-normalized.txt") {
        let (input, normalized) = text
            .split_once('\t')
            .unwrap_or_else(|| panic!("line {line}: no tab"));
        let v = Pep440Version::parse(input).unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(v.to_string(), normalized, "line {line}: {input}");
        // Normalizing keeps the version: equal under the order.
        assert_eq!(compare(input, normalized), Ok(Ordering::Equal));
    }
    // The three inputs with surrounding white space the fixture cannot hold.
    for (input, normalized) in [
        ("v1.0", "1.0"),
        ("   v1.0\t\n", "1.0"),
        ("\u{202f}1.0\t\u{2029}\n ", "1.0"),
    ] {
        let v = Pep440Version::parse(input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.to_string(), normalized);
    }
}

const INSTALL: &str = "install it: python3 -m pip install 'packaging==24.2'";

/// Realistic PEP 440 spellings, with random separators and case.
fn generated_version(g: &mut Gen) -> String {
    let mut s = String::new();
    if g.chance(5) {
        s.push_str(g.pick(&["v", "V"]));
    }
    if g.chance(8) {
        s.push_str(&g.number(true, 3));
        s.push('!');
    }
    let parts = g.rng.usize(1..=4);
    let release: Vec<String> = (0..parts).map(|_| g.number(true, 25)).collect();
    s.push_str(&release.join("."));
    let sep = |g: &mut Gen| g.pick(&["", "", "", ".", "-", "_"]).to_string();
    let num = |g: &mut Gen| {
        if g.chance(20) {
            String::new()
        } else {
            g.number(true, 12)
        }
    };
    let label_case = |g: &mut Gen, l: &str| {
        if g.chance(10) {
            l.to_ascii_uppercase()
        } else {
            l.to_string()
        }
    };
    if g.chance(35) {
        let l = g.pick(&["a", "alpha", "b", "beta", "rc", "c", "pre", "preview"]);
        let l = label_case(g, l);
        s += &format!("{}{l}{}{}", sep(g), sep(g), num(g));
    }
    if g.chance(25) {
        if g.chance(30) {
            s += &format!("-{}", g.number(false, 4));
        } else {
            let l = g.pick(&["post", "rev", "r"]);
            let l = label_case(g, l);
            s += &format!("{}{l}{}{}", sep(g), sep(g), num(g));
        }
    }
    if g.chance(25) {
        let l = label_case(g, "dev");
        s += &format!("{}{l}{}{}", sep(g), sep(g), num(g));
    }
    if g.chance(15) {
        let segs = g.rng.usize(1..=3);
        let local: Vec<String> = (0..segs)
            .map(|_| {
                if g.chance(50) {
                    g.number(true, 6)
                } else {
                    g.pick(&["ubuntu", "abc", "Deb", "g1234ab", "cpu", "cu118"])
                        .to_string()
                }
            })
            .collect();
        let joiner = g.pick(&[".", ".", "-", "_"]);
        s += &format!("+{}", local.join(joiner));
    }
    if g.chance(3) {
        s = format!(" {s}\t");
    }
    s
}

#[test]
fn differential_against_python_packaging() {
    if oracles_skipped("PEP 440 differential test against python packaging") {
        return;
    }
    let mut g = Gen::new(0x9e9_440);
    let mut pool = vector_versions(read_vectors("pypi-versions.txt"));
    for (_, l) in fixture_lines("pypi-packaging-sorted.txt") {
        pool.push(l);
    }
    // Where the regex's optional separators and overlapping labels meet.
    for tricky in [
        "1.0a1-1",
        "1.0a-1",
        "1.0a.-1",
        "1.0a1--1",
        "1.0-",
        "1.0.",
        "1.0post-1",
        "1.0.post.1",
        "1.0-post-1",
        "1.0.dev-1",
        "1.0dev.",
        "1.0-dev-1",
        "1.0rcr",
        "1.0prerev",
        "1.0previewr1",
        "1.0prev",
        "1.0cdev",
        "1.0c.dev",
        "1.0a__1",
        "1.0a_.1",
        "1.0_a_1_post_2_dev_3",
        "1.0r-1",
        "1.0rev-dev",
        "1.0-1-1",
        "1.0-1dev",
        "1!",
        "!1.0",
        "1!!1.0",
        "v",
        "vv1.0",
        "1.0v",
        "1.0+",
        "1.0+a.",
        "1.0+.a",
        "1.0+a-_b",
        "1.0+A.B-C_D",
        "01!01.01a01.post01.dev01+01.a",
        "1.0a1.post2.dev3+l",
        "1.0-r5",
        "1.0.r.5",
        "1_0",
        "1-0",
        "1.0 ",
        "\t1.0",
        "1.0alpha-beta",
    ] {
        pool.push(tricky.to_string());
    }
    // Mutations (in the pool): near-misses of valid versions, mostly invalid.
    let pool = g.pool(
        pool,
        generated_version,
        "0123456789.-_+!abcdeloprstvwACDEPRV ",
    );
    let pairs = g.pairs(&pool, 5000);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracles/pep440_compare.py"
    );
    let results = json_pair_oracle("python3", &[script], &pairs, "packaging", INSTALL);
    let (mut compared, mut invalid) = (0, 0);
    let mut failures = Vec::new();
    for ((a, b), r) in pairs.iter().zip(&results) {
        let want_a = r[1].as_str();
        let want_b = r[2].as_str();
        let got_a = Pep440Version::parse(a).ok().map(|v| v.to_string());
        let got_b = Pep440Version::parse(b).ok().map(|v| v.to_string());
        if got_a.as_deref() != want_a {
            failures.push(format!("{a:?}: packaging {want_a:?}, ours {got_a:?}"));
        }
        if got_b.as_deref() != want_b {
            failures.push(format!("{b:?}: packaging {want_b:?}, ours {got_b:?}"));
        }
        match r[0].as_str() {
            Some(o) => {
                compared += 1;
                let want = parse_op(o).unwrap_or_else(|| panic!("packaging answered {o:?}"));
                let got = compare(a, b);
                if got != Ok(want) {
                    failures.push(format!("{a:?} vs {b:?}: packaging {o}, ours {got:?}"));
                }
            }
            None => invalid += 1,
        }
    }
    assert_agrees("packaging", pairs.len(), failures);
    eprintln!("{compared} pairs compared, {invalid} with an invalid version");
    assert!(compared > 2500 && invalid > 200, "{compared} / {invalid}");
}

#[test]
fn random_bytes_never_panic() {
    for s in random_inputs(440, 30_000, b"0123456789.-_+!vVabcdelnoprstw ") {
        // What parses also prints and re-parses to an equal version.
        assert_display_reparses(&s, Pep440Version::parse);
    }
}
