//! Debian (dpkg) version ordering against three oracles: the shared vector
//! file (osv-scalibr), dpkg's own test table (`scripts/t/Dpkg_Version.t`),
//! and dpkg's Perl `Dpkg::Version` run here on a few thousand generated
//! pairs.

mod support;

use std::process::Command;

use stella_version::debian::{compare, DebianVersion};
use stella_version::Scheme;
use support::*;

const SHARED: &str = "debian-versions.txt";
const DPKG_TABLE: &str = "upstream/dpkg-Dpkg_Version.t.data";

#[test]
fn shared_vectors_all_agree() {
    let vectors = read_vectors(SHARED);
    assert_eq!(vectors.len(), 30);
    check_vectors(
        SHARED,
        &vectors,
        Scheme::Debian,
        DebianVersion::parse,
        as_written,
    );
}

/// Lines of dpkg's table whose versions dpkg 1.21 (Debian 12, the oracle
/// below) refuses: an empty revision (`0foo-`) or an empty upstream part
/// (`-0.6.5`). The table comes from an older dpkg that accepted them; we
/// follow the dpkg that runs here and refuse them too.
const REFUSED_BY_DPKG_1_21: [&str; 2] = ["0foo-", "-0.6.5"];

#[test]
fn dpkg_own_test_table_agrees() {
    let table = read_signed_table(DPKG_TABLE);
    assert_eq!(table.len(), 44);
    let mut refused = 0;
    for v in table {
        if REFUSED_BY_DPKG_1_21.contains(&v.a.as_str()) {
            let err = compare(&v.a, &v.b).expect_err(&v.a);
            assert_eq!(err.scheme, Scheme::Debian);
            assert_eq!(err.input, v.a);
            refused += 1;
            continue;
        }
        assert_eq!(
            compare(&v.a, &v.b),
            Ok(v.expected),
            "table line {}: {} ? {}",
            v.line,
            v.a,
            v.b
        );
    }
    assert_eq!(refused, 4);
}

/// Reads `A<TAB>B` lines; prints -1/0/1, or `ERR <a ok?> <b ok?>` when
/// `Dpkg::Version` (with the validity check dpkg-dev applies) refuses one.
const PERL_ORACLE: &str = r#"
use strict; use warnings; use Dpkg::Version;
while (my $l = <STDIN>) {
    chomp $l;
    my ($a, $b) = split /\t/, $l, 2;
    my $va = Dpkg::Version->new($a, check => 1);
    my $vb = Dpkg::Version->new($b, check => 1);
    if (!defined $va || !defined $vb) {
        print "ERR ", (defined $va ? 1 : 0), " ", (defined $vb ? 1 : 0), "\n";
        next;
    }
    print(($va <=> $vb), "\n");
}
"#;

fn generated_pairs() -> Vec<(String, String)> {
    let mut seeds = vector_versions(read_vectors(SHARED));
    seeds.extend(vector_versions(read_signed_table(DPKG_TABLE)));
    seeded_pairs(
        0x0d9c_2026,
        &seeds,
        "0123456789.+-~:abzABZ_@",
        4,
        debian_shaped,
        &[".0", "~1", "-0", "-1", "+1", "a", "~"],
    )
}

/// A dpkg-shaped version: epoch, upstream parts and separators, revision.
fn debian_shaped(gen: &mut Gen) -> String {
    let mut v = String::new();
    if gen.rng.u8(..6) == 0 {
        v.push_str(&format!("{}:", gen.rng.u8(..4)));
    }
    v.push_str(&gen.part_number());
    for _ in 0..gen.rng.usize(0..5) {
        let sep = gen.pick(&[".", ".", ".", "+", "~", "", "~~", "+dfsg", "~rc", "a", "b"]);
        v.push_str(sep);
        if gen.rng.bool() {
            v.push_str(&gen.part_number());
        }
    }
    if gen.rng.bool() {
        let rev = gen.pick(&["1", "0", "00", "2ubuntu1", "1+deb12u1", "1~bpo11+1", "3.1"]);
        v.push('-');
        v.push_str(rev);
    }
    v
}

#[test]
fn agrees_with_dpkg_perl_on_generated_pairs() {
    if oracles_skipped("Dpkg::Version oracle") {
        return;
    }
    let pairs = generated_pairs();
    assert!(pairs.len() >= 6000);
    let mut perl = Command::new("perl");
    perl.args(["-e", PERL_ORACLE]);
    let Some(output) = run_oracle(perl, "perl (Dpkg::Version)", &tab_separated(&pairs)) else {
        return;
    };
    let answers: Vec<&str> = output.lines().collect();
    assert_eq!(answers.len(), pairs.len(), "one answer per pair");
    let (mut compared, mut refused) = (0, 0);
    let mut mismatches = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(answers) {
        let ours = compare(a, b);
        let agrees = match answer.strip_prefix("ERR ") {
            Some(validity) => {
                refused += 1;
                let expect = |ok: &str, v: &str| (ok == "1") == DebianVersion::parse(v).is_ok();
                let mut fields = validity.split(' ');
                let (va, vb) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
                ours.is_err() && expect(va, a) && expect(vb, b)
            }
            None => {
                compared += 1;
                ours.as_ref().ok().map(|o| op(*o)) == parse_op(answer).map(op)
            }
        };
        if !agrees {
            mismatches.push(format!("{a:?} {b:?}: dpkg {answer}, ours {ours:?}"));
        }
    }
    assert_agrees("Dpkg::Version", pairs.len(), mismatches);
    // The generator must exercise both sides.
    assert!(
        compared > 3000 && refused > 100,
        "{compared} compared, {refused} refused"
    );
}

#[test]
fn malformed_versions_are_typed_errors() {
    let cases = [
        ("", "cannot be empty"),
        ("a1.0", "does not start with digit"),
        ("1.0-", "revision cannot be empty"),
        (":1.0", "epoch part of the version number cannot be empty"),
        ("x:1.0", "is not a number"),
        ("1.0_1", "illegal character"),
        ("1.0 1", "illegal character"),
        ("99999999999:1.0", "is not a number"),
    ];
    for (input, reason) in cases {
        let err = DebianVersion::parse(input).expect_err(input);
        assert_eq!(err.scheme, Scheme::Debian);
        assert_eq!(err.input, input);
        assert!(err.reason.contains(reason), "{input:?}: {}", err.reason);
    }
}

/// The characters dpkg gives meaning to, and some it refuses.
const GARBAGE_ALPHABET: &[u8] = b"0123456789.-:~^_+abrpz \t\0\xff\xce";

#[test]
fn random_bytes_never_panic() {
    for input in random_inputs(0xdeb, 20_000, GARBAGE_ALPHABET) {
        assert_display_reparses(&input, DebianVersion::parse);
        let _ = compare(&input, "1.0");
    }
}

#[test]
fn ord_is_a_total_order_on_generated_versions() {
    assert_total_order_of(generated_pairs(), DebianVersion::parse);
}
