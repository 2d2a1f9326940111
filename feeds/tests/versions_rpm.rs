//! RPM (EVR) version ordering against three oracles: the shared vector file
//! (osv-scalibr), rpm's own `tests/rpmvercmp.at`, and rpm 4.18 itself
//! (`rpm.vercmp` in rpm's embedded Lua) on a few thousand generated pairs.

mod oracle_support;

use std::cmp::Ordering;
use std::process::Command;

use oracle_support::{op, pair_up, read_signed_table, read_vectors, variant_pairs, VersionGen};
use stella_feeds::version::rpm::{compare, RpmVersion};
use stella_feeds::version::{self, Scheme};

const SHARED: &str = include_str!("fixtures/versions/redhat-versions.txt");
const RPM_TABLE: &str = include_str!("fixtures/versions/upstream/rpm-rpmvercmp.at.data");

#[test]
fn shared_vectors_all_agree() {
    let vectors = read_vectors(SHARED);
    assert_eq!(vectors.len(), 165);
    for v in vectors {
        let got = version::compare(Scheme::Rpm, &v.a, &v.b);
        assert_eq!(got, Ok(v.expected), "line {}: {} ? {}", v.line, v.a, v.b);
        let (a, b) = (
            RpmVersion::parse(&v.a).unwrap(),
            RpmVersion::parse(&v.b).unwrap(),
        );
        assert_eq!(b.cmp(&a), v.expected.reverse(), "line {}", v.line);
        assert_eq!(a == b, v.expected == Ordering::Equal, "line {}", v.line);
    }
}

#[test]
fn rpm_own_test_table_agrees() {
    let table = read_signed_table(RPM_TABLE);
    assert_eq!(table.len(), 69);
    for v in table {
        assert_eq!(
            compare(&v.a, &v.b),
            Ok(v.expected),
            "rpmvercmp.at line {}: {} ? {}",
            v.line,
            v.a,
            v.b
        );
    }
}

/// Reads `A<TAB>B` lines from the file named by `STELLA_RPM_PAIRS`; prints
/// rpm.vercmp's -1/0/1 per pair, or ERR when rpm refuses one (rpm's `print`
/// adds no newline of its own).
const LUA_ORACLE: &str = r#"%{lua:
for line in io.lines(os.getenv("STELLA_RPM_PAIRS")) do
  local a, b = line:match("^([^\t]*)\t(.*)$")
  local ok, r = pcall(rpm.vercmp, a, b)
  if ok then print(tostring(r) .. "\n") else print("ERR\n") end
end
}"#;

fn generated_pairs() -> Vec<(String, String)> {
    let mut seeds: Vec<String> = read_vectors(SHARED)
        .into_iter()
        .flat_map(|v| [v.a, v.b])
        .collect();
    seeds.extend(
        read_signed_table(RPM_TABLE)
            .into_iter()
            .flat_map(|v| [v.a, v.b]),
    );
    let mut gen = VersionGen::new(0x2b3_2026, "0123456789.-:~^_+aAzZ", seeds);
    let mut versions = Vec::new();
    for i in 0..2000 {
        if i % 4 == 0 {
            versions.push(gen.mutate());
            continue;
        }
        let mut v = String::new();
        match gen.rng.u8(..8) {
            0 => v.push_str(&format!("{}:", gen.rng.u8(..4))),
            1 => v.push_str(&format!("0{}:", gen.rng.u8(..3))),
            2 => v.push(':'),
            _ => {}
        }
        v.push_str(&gen.number());
        for _ in 0..gen.rng.usize(0..5) {
            let sep = gen.pick(&[
                ".", ".", ".", "~", "^", "_", "+", "", "~rc", "^git", "a", "p",
            ]);
            v.push_str(sep);
            if gen.rng.bool() {
                v.push_str(&gen.number());
            }
        }
        match gen.rng.u8(..4) {
            0 => {}
            1 => v.push('-'),
            _ => {
                let rel = gen.pick(&[
                    "1",
                    "1.el9",
                    "0.1.rc1.fc40",
                    "229.1.2.ael7b",
                    "1.module+el8.4.0+123+abc",
                    "2.el9_3.1",
                    "1~beta",
                ]);
                v.push('-');
                v.push_str(rel);
            }
        }
        versions.push(v);
    }
    let mut pairs = pair_up(&mut gen.rng, &versions);
    pairs.extend(variant_pairs(
        &mut gen.rng,
        &versions,
        &[".0", "~1", "^1", "-", "-0", ".a", "_1"],
    ));
    pairs
}

#[test]
fn agrees_with_rpm_vercmp_on_generated_pairs() {
    if oracle_support::oracles_skipped() {
        eprintln!("SKIPPED: STELLA_SKIP_ORACLES=1 (rpm oracle)");
        return;
    }
    let pairs = generated_pairs();
    assert!(pairs.len() >= 6000);
    let input: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    let path = oracle_support::scratch_file("rpm-vercmp-pairs.tsv", &input);
    let out = Command::new("rpm")
        .args(["--eval", LUA_ORACLE])
        .env("STELLA_RPM_PAIRS", &path)
        .output()
        .unwrap_or_else(|e| {
            panic!("rpm cannot run ({e}); install it (tests/run.sh) or set STELLA_SKIP_ORACLES=1")
        });
    assert!(
        out.status.success(),
        "rpm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = String::from_utf8(out.stdout).expect("rpm output is UTF-8");
    let answers: Vec<&str> = output.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(answers.len(), pairs.len(), "one answer per pair");
    let mut mismatches = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(answers) {
        let ours = compare(a, b).ok().map(op);
        let theirs = oracle_support::parse_op(answer).map(op);
        if ours != theirs {
            mismatches.push(format!("{a:?} {b:?}: rpm {answer}, ours {ours:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} pairs disagree with rpm.vercmp:\n{}",
        mismatches.len(),
        pairs.len(),
        mismatches.join("\n")
    );
}

#[test]
fn malformed_versions_are_typed_errors() {
    for input in ["", "1.0\0-1"] {
        let err = RpmVersion::parse(input).expect_err(input);
        assert_eq!(err.scheme, Scheme::Rpm);
        assert_eq!(err.input, input);
    }
}

#[test]
fn random_bytes_never_panic() {
    for input in oracle_support::random_inputs(0x2b3, 20_000) {
        if let Ok(v) = RpmVersion::parse(&input) {
            let again = RpmVersion::parse(&v.to_string()).expect("display reparses");
            assert_eq!(again, v, "{input:?}");
            assert_eq!(v.cmp(&again), Ordering::Equal);
        }
        let _ = compare(&input, "1.0-1");
    }
}

#[test]
fn ord_is_a_total_order_on_generated_versions() {
    let versions: Vec<RpmVersion> = generated_pairs()
        .into_iter()
        .take(1200)
        .flat_map(|(a, b)| [a, b])
        .filter_map(|v| RpmVersion::parse(&v).ok())
        .collect();
    assert!(versions.len() > 800, "{} versions", versions.len());
    oracle_support::assert_total_order(versions);
}
