//! `stella version compare`: single pairs and `--batch`, exit codes, and
//! the ecosystem names users type. Each scheme's ordering itself is tested
//! against its reference implementation in version/tests/versions_*.rs; here
//! the cases are the ones the schemes' own specifications spell out.

use std::io::Write;
use std::process::{Command, Stdio};

fn stella(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stella runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (ecosystem as a user writes it, A, expected, B): each line is a rule the
/// scheme's specification states in words.
const SPEC_CASES: &[(&str, &str, &str, &str)] = &[
    // Debian Policy 5.6.12: `~` sorts before anything, even the end.
    ("Debian:12", "1.0~rc1", "<", "1.0"),
    ("deb", "1:0.1", ">", "2.0"),
    ("deb", "1.0-1", "<", "1.0-1+deb12u1"),
    // rpm: `~` before the end, `^` after it; epoch first.
    ("AlmaLinux:9", "1.0~rc1-1", "<", "1.0-1"),
    ("rpm", "1.0^git1-1", ">", "1.0-1"),
    ("rpm", "1:1.0-1", ">", "2.0-1"),
    // apk: `_rc` is a pre-release suffix, `-rN` the package release.
    ("Alpine:v3.20", "1.2.3_rc1", "<", "1.2.3"),
    ("apk", "1.2.3-r1", ">", "1.2.3-r0"),
    // PEP 440: dev < pre < final < post; normalization (`1.0.0` == `1.0`).
    ("PyPI", "1.0.dev0", "<", "1.0a1"),
    ("pypi", "1.0", "=", "1.0.0"),
    ("pypi", "1.0.post1", ">", "1.0"),
    // SemVer 2.0.0 §11.
    ("npm", "1.0.0-alpha", "<", "1.0.0-alpha.1"),
    ("crates.io", "1.0.0-rc.1", "<", "1.0.0"),
    ("Go", "v1.2.3", "<", "v1.10.0"),
    // Maven: qualifiers alpha < beta < milestone < rc < snapshot < "" < sp.
    ("Maven", "1.0-alpha-1", "<", "1.0-beta-1"),
    ("maven", "1.0-SNAPSHOT", "<", "1.0"),
    ("maven", "1.0", "=", "1.0.0"),
    // NuGet: labels case-insensitive, a release above its pre-releases.
    ("NuGet", "1.0.0-BETA", "=", "1.0.0-beta"),
    ("nuget", "1.0.0-beta", "<", "1.0.0"),
    // RubyGems: a letter makes a pre-release.
    ("RubyGems", "1.0.0.pre", "<", "1.0.0"),
    ("gem", "3.10", ">", "3.2"),
    // PHP version_compare: dev < alpha < beta < RC < release < pl.
    ("Packagist", "1.0.0-beta", "<", "1.0.0-RC1"),
    ("composer", "1.0", "<", "1.1"),
];

#[test]
fn one_pair_prints_the_order() {
    for (ecosystem, a, expected, b) in SPEC_CASES {
        let (code, out, err) = stella(&["version", "compare", "-e", ecosystem, a, b], "");
        assert_eq!(code, 0, "{ecosystem} {a} {b}: {err}");
        assert_eq!(out.trim(), *expected, "{ecosystem}: {a} vs {b}");
        // Swapped, the answer flips.
        let (_, swapped, _) = stella(&["version", "compare", "-e", ecosystem, b, a], "");
        let flipped = match *expected {
            "<" => ">",
            ">" => "<",
            other => other,
        };
        assert_eq!(swapped.trim(), flipped, "{ecosystem}: {b} vs {a}");
    }
}

#[test]
fn batch_answers_line_by_line_and_names_bad_lines() {
    let input = "1.0~rc1 1.0\n\n# a comment\n1:0.1 2.0\nonly-one-version\n1.0-1 1.0-1\n";
    let (code, out, err) = stella(
        &["version", "compare", "--ecosystem", "deb", "--batch"],
        input,
    );
    assert_eq!(out, "<\n>\n!\n=\n");
    assert_eq!(code, 1, "a bad line makes the exit code 1");
    assert!(err.contains("line 5"), "{err}");

    let (code, out, err) = stella(
        &["version", "compare", "-e", "pypi", "--batch"],
        "1.0 1.0.0\n",
    );
    assert_eq!((code, out.as_str()), (0, "=\n"), "{err}");
}

#[test]
fn invalid_versions_and_unknown_ecosystems_are_errors() {
    let (code, _, err) = stella(
        &["version", "compare", "-e", "pypi", "not a version", "1.0"],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("not a version"), "{err}");
    let (code, _, err) = stella(&["version", "compare", "-e", "COBOL", "1", "2"], "");
    assert_eq!(code, 64);
    assert!(err.contains("unknown ecosystem"), "{err}");
    let (code, _, _) = stella(&["version", "compare", "-e", "deb", "1.0"], "");
    assert_eq!(code, 64, "two versions or --batch");
}
