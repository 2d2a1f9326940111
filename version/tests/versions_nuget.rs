//! NuGet comparator against: the shared OSV vectors and NuGet.Client's own
//! NuGet.Versioning test data.
//!
//! No executable oracle: NuGet.Versioning is .NET and there is no `dotnet`
//! on this machine (nor on CI's Debian bookworm). In its place, generated
//! versions are checked against a model built from the parts the generator
//! wrote (not from the string): the NuGet rules stated in VersionComparer.cs.

mod support;

use std::cmp::Ordering;

use stella_version::nuget::{compare, NugetVersion};
use stella_version::Scheme;
use support::*;

#[test]
fn shared_osv_vectors() {
    assert!(
        check_vector_file(
            "nuget-versions.txt",
            Scheme::Nuget,
            NugetVersion::parse,
            as_written
        ) > 30
    );
}

#[test]
fn nuget_client_comparer_tests() {
    assert!(
        check_vector_file(
            "nuget-client-comparer.txt",
            Scheme::Nuget,
            NugetVersion::parse,
            as_written
        ) > 20
    );
}

#[test]
fn nuget_client_parsing_tests() {
    for (line, text) in fixture_lines("nuget-client-parsing.txt") {
        let fields: Vec<&str> = text.split('\t').collect();
        let [input, prerelease, metadata, normalized] = fields[..] else {
            panic!("line {line}: {text:?}");
        };
        let v = NugetVersion::parse(input).unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(v.is_prerelease().to_string(), prerelease, "line {line}");
        assert_eq!(v.metadata(), metadata, "line {line}");
        assert_eq!(v.to_string(), normalized, "line {line}");
    }
}

/// Rules read from NuGet.Versioning's sources (SemanticVersionFactory.cs,
/// NuGetVersionFactory.cs, VersionComparer.cs), one case each.
#[test]
fn nuget_versioning_rules() {
    let order = |a: &str, b: &str| compare(a, b).unwrap_or_else(|e| panic!("{e}"));
    // A label is numeric when C#'s int.TryParse takes it: "-1" is, a number
    // beyond int is not (then it is text, after every number).
    assert_eq!(order("1.0.0-a.-1", "1.0.0-a.0"), Ordering::Less);
    assert_eq!(order("1.0.0-2147483648", "1.0.0-9"), Ordering::Greater);
    assert_eq!(order("1.0.0-2147483648", "1.0.0-A"), Ordering::Less);
    assert_eq!(
        order("1.0.0-2147483647", "1.0.0-2147483646"),
        Ordering::Greater
    );
    // White space around the version and around each number (System.Version).
    assert_eq!(order(" 1. 2 .3\t", "1.2.3"), Ordering::Equal);
    // The fourth number counts; missing numbers are 0.
    assert_eq!(order("1.0.0.1", "1.0.0"), Ordering::Greater);
    assert_eq!(order("1", "1.0.0.0"), Ordering::Equal);
    for bad in [
        "",
        " ",
        "1.2.3.4.5",
        "1..2",
        ".1",
        "1.",
        "-1.0",
        "+1.0",
        "1.0-",
        "1.0+",
        "1.0-+a",
        "1.0-a..b",
        "1.0-01",
        "1.0-a+b+c",
        "1.0-a b",
        "1.0-é",
        "v1.0",
        "1.a",
        "1.0.0-beta_1",
    ] {
        let err = NugetVersion::parse(bad).expect_err(bad);
        assert_eq!(err.input, bad);
        assert!(err.to_string().starts_with("nuget version"), "{err}");
    }
    // Leading zeros are fine in numbers and metadata, and in labels that are not all digits.
    for good in ["01.002.0003.04", "1.0+01.001", "1.0-0a", "1.0-0", "1.0+-"] {
        assert!(NugetVersion::parse(good).is_ok(), "{good}");
    }
}

/// What the generator wrote, in the model's terms.
struct Model {
    numbers: [u64; 4],
    /// Lowercased labels; numeric ones as Ok(value).
    labels: Vec<Result<i64, String>>,
}

impl Model {
    fn cmp(&self, other: &Model) -> Ordering {
        let label_order = |a: &Result<i64, String>, b: &Result<i64, String>| match (a, b) {
            (Ok(x), Ok(y)) => x.cmp(y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(x), Err(y)) => x.cmp(y),
        };
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.labels.iter().zip(&other.labels) {
                        let o = label_order(a, b);
                        if o.is_ne() {
                            return o;
                        }
                    }
                    self.labels.len().cmp(&other.labels.len())
                }
            }
        })
    }
}

fn generated(g: &mut Gen) -> (String, Model) {
    let count = g.rng.usize(1..=4);
    let mut numbers = [0u64; 4];
    let mut parts = Vec::new();
    for slot in numbers.iter_mut().take(count) {
        *slot = g.rng.u64(..4);
        let zeros = if g.chance(10) { "0" } else { "" };
        parts.push(format!("{zeros}{slot}"));
    }
    let mut text = parts.join(".");
    let mut labels = Vec::new();
    if g.chance(50) {
        let written: Vec<String> = (0..g.rng.usize(1..=3))
            .map(|_| {
                if g.chance(40) {
                    let n = g.rng.u32(..12);
                    labels.push(Ok(i64::from(n)));
                    n.to_string()
                } else {
                    let l = g.pick(&["alpha", "beta", "rc", "a", "b", "pre-1", "x-y"]);
                    labels.push(Err(l.to_string()));
                    if g.chance(30) {
                        l.to_ascii_uppercase()
                    } else {
                        l.to_string()
                    }
                }
            })
            .collect();
        text += &format!("-{}", written.join("."));
    }
    if g.chance(20) {
        text += &format!("+{}", g.pick(&["meta", "Build.01", "sha-abc", "1"]));
    }
    (text, Model { numbers, labels })
}

#[test]
fn generated_versions_follow_the_model() {
    let mut g = Gen::new(0x1_2024);
    let versions: Vec<(String, Model)> = (0..400).map(|_| generated(&mut g)).collect();
    let parsed: Vec<NugetVersion> = versions
        .iter()
        .map(|(s, _)| NugetVersion::parse(s).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for (i, (a, ma)) in versions.iter().enumerate() {
        for (j, (b, mb)) in versions.iter().enumerate() {
            assert_eq!(parsed[i].cmp(&parsed[j]), ma.cmp(mb), "{a} vs {b}");
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    for s in random_inputs(3, 30_000, b"0123456789.-+abAB \t") {
        assert_display_reparses(&s, NugetVersion::parse);
    }
}
