//! RPM (EVR) version ordering against three oracles: the shared vector file
//! (osv-scalibr), rpm's own `tests/rpmvercmp.at`, and rpm 4.18 itself
//! (`rpm.vercmp` in rpm's embedded Lua) on a few thousand generated pairs.

mod support;

use std::process::Command;

use stella_version::rpm::{compare, RpmVersion};
use stella_version::Scheme;
use support::*;

const SHARED: &str = "redhat-versions.txt";
const RPM_TABLE: &str = "upstream/rpm-rpmvercmp.at.data";

#[test]
fn shared_vectors_all_agree() {
    let vectors = read_vectors(SHARED);
    assert_eq!(vectors.len(), 165);
    check_vectors(SHARED, &vectors, Scheme::Rpm, RpmVersion::parse, as_written);
}

#[test]
fn rpm_own_test_table_agrees() {
    let table = read_signed_table(RPM_TABLE);
    assert_eq!(table.len(), 69);
    check_vectors(
        RPM_TABLE,
        &table,
        Scheme::Rpm,
        RpmVersion::parse,
        as_written,
    );
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
    let mut seeds = vector_versions(read_vectors(SHARED));
    seeds.extend(vector_versions(read_signed_table(RPM_TABLE)));
    seeded_pairs(
        0x2b3_2026,
        &seeds,
        "0123456789.-:~^_+aAzZ",
        4,
        rpm_shaped,
        &[".0", "~1", "^1", "-", "-0", ".a", "_1"],
    )
}

/// An rpm-shaped EVR: epoch (some malformed), version parts, release.
fn rpm_shaped(gen: &mut Gen) -> String {
    let mut v = String::new();
    match gen.rng.u8(..8) {
        0 => v.push_str(&format!("{}:", gen.rng.u8(..4))),
        1 => v.push_str(&format!("0{}:", gen.rng.u8(..3))),
        2 => v.push(':'),
        _ => {}
    }
    v.push_str(&gen.part_number());
    for _ in 0..gen.rng.usize(0..5) {
        let sep = gen.pick(&[
            ".", ".", ".", "~", "^", "_", "+", "", "~rc", "^git", "a", "p",
        ]);
        v.push_str(sep);
        if gen.rng.bool() {
            v.push_str(&gen.part_number());
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
    v
}

#[test]
fn agrees_with_rpm_vercmp_on_generated_pairs() {
    if oracles_skipped("rpm oracle") {
        return;
    }
    let pairs = generated_pairs();
    assert!(pairs.len() >= 6000);
    // rpm's Lua reads the pairs from a file: its stdin is not the script's.
    let path = scratch_file("rpm-vercmp-pairs.tsv", &tab_separated(&pairs));
    let mut rpm = Command::new("rpm");
    rpm.args(["--eval", LUA_ORACLE])
        .env("STELLA_RPM_PAIRS", &path);
    let Some(output) = run_oracle(rpm, "rpm (rpm.vercmp)", "") else {
        return;
    };
    let answers: Vec<&str> = output.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(answers.len(), pairs.len(), "one answer per pair");
    let mut mismatches = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(answers) {
        let ours = compare(a, b).ok().map(op);
        let theirs = parse_op(answer).map(op);
        if ours != theirs {
            mismatches.push(format!("{a:?} {b:?}: rpm {answer}, ours {ours:?}"));
        }
    }
    assert_agrees("rpm.vercmp", pairs.len(), mismatches);
}

#[test]
fn malformed_versions_are_typed_errors() {
    assert_rejected(Scheme::Rpm, &["", "1.0\0-1"], RpmVersion::parse);
}

#[test]
fn random_bytes_never_panic() {
    for input in random_inputs(0x2b3, 20_000, b"0123456789.-:~^_+abrpz \t\0\xff\xce") {
        assert_display_reparses(&input, RpmVersion::parse);
        let _ = compare(&input, "1.0-1");
    }
}

#[test]
fn ord_is_a_total_order_on_generated_versions() {
    assert_total_order_of(generated_pairs(), RpmVersion::parse);
}
