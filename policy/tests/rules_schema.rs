//! The parser and the published JSON Schema (docs/stella-policy-v1.schema.json)
//! agree on which documents are stella-policy@1: every fixture is judged by
//! our parser and, independently, by PyYAML + python-jsonschema
//! (fixtures/rules/validate.py). The documents under `invalid-parser-only/`
//! break rules JSON Schema cannot state (unique ids, duplicate keys, purl
//! percent-encoding): the schema passes them, the parser must not.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stella_policy::rules::parse;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stella-policy-v1.schema.json")
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {dir}");
    files
}

/// file → (valid, error) as python-jsonschema sees it.
fn python_verdicts(files: &[PathBuf]) -> Vec<(PathBuf, bool, String)> {
    let out = Command::new("python3")
        .arg(fixtures().join("validate.py"))
        .arg(schema())
        .args(files)
        .output()
        .expect("python3 (with PyYAML and jsonschema: tests/run.sh installs them)");
    assert!(
        out.status.success(),
        "validate.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());
    lines
        .into_iter()
        .map(|v| {
            (
                PathBuf::from(v["file"].as_str().unwrap()),
                v["valid"].as_bool().unwrap(),
                v["error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn valid_documents_pass_both() {
    let files = yaml_files("valid");
    for (file, valid, error) in python_verdicts(&files) {
        assert!(valid, "jsonschema rejects {}: {error}", file.display());
        let bytes = std::fs::read(&file).unwrap();
        if let Err(e) = parse(&bytes) {
            panic!("our parser rejects {}: {e}", file.display());
        }
    }
}

#[test]
fn invalid_documents_fail_both() {
    let files = yaml_files("invalid");
    for (file, valid, _) in python_verdicts(&files) {
        assert!(!valid, "jsonschema accepts {}", file.display());
        let bytes = std::fs::read(&file).unwrap();
        let ours = parse(&bytes);
        assert!(ours.is_err(), "our parser accepts {}", file.display());
    }
}

#[test]
fn parser_only_rules() {
    let files = yaml_files("invalid-parser-only");
    for (file, valid, _) in python_verdicts(&files) {
        assert!(
            valid,
            "the schema was thought unable to see {}",
            file.display()
        );
        assert!(
            parse(&std::fs::read(&file).unwrap()).is_err(),
            "our parser accepts {}",
            file.display()
        );
    }
}

/// The example in docs/policy.md is the `full.yaml` fixture, so it is
/// checked by both validators above.
#[test]
fn documented_example_is_the_fixture() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/policy.md"))
            .unwrap();
    let start = doc
        .find("```yaml\nschema: stella-policy@1\nname: production")
        .expect("the example in docs/policy.md");
    let body = &doc[start + "```yaml\n".len()..];
    let example = &body[..body.find("```").unwrap()];
    let fixture = std::fs::read_to_string(fixtures().join("valid/full.yaml")).unwrap();
    let fixture = fixture.split_once('\n').unwrap().1;
    assert_eq!(example, fixture);
}

/// Errors name the field path and line: what a user needs to fix a typo.
#[test]
fn errors_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            "invalid/bad-severity.yaml",
            "rules[0].severity: unknown severity \"hgh\"",
        ),
        (
            "invalid/unknown-key.yaml",
            "rules[0]: unknown field `severty`",
        ),
        (
            "invalid/wrong-schema.yaml",
            "schema: expected \"stella-policy@1\"",
        ),
        (
            "invalid/numeric-id.yaml",
            "rules[0].id: invalid type: integer `12`",
        ),
        (
            "invalid/fix-yes.yaml",
            "rules[0].fixAvailable: invalid type: string \"yes\"",
        ),
        (
            "invalid/feb-30.yaml",
            "exceptions[0].expires: \"2026-02-30\"",
        ),
        (
            "invalid/cvss-11.yaml",
            "rules[0].cvss.min: CVSS score 11 is outside 0 to 10",
        ),
        (
            "invalid/empty-deny.yaml",
            "rules[0].packages.deny: the list is empty",
        ),
        (
            "invalid/purl-no-pkg.yaml",
            "rules[0].packages.deny[0]: purl pattern \"pypi/requests\"",
        ),
        (
            "invalid/two-kinds.yaml",
            "rules[0]: a rule is about findings, packages or licenses",
        ),
        (
            "invalid/no-condition.yaml",
            "rules[0]: the rule has no condition",
        ),
        (
            "invalid/vex-not-affected.yaml",
            "rules[0].vexState: vexState \"not_affected\" never matches",
        ),
        (
            "invalid/licenses-no-unknown.yaml",
            "rules[0].licenses: missing field `unknown`",
        ),
        ("invalid/top-level-typo.yaml", "unknown field `exception`"),
        (
            "invalid-parser-only/duplicate-rule-id.yaml",
            "rules[1].id: duplicate id \"a\"",
        ),
        (
            "invalid-parser-only/exception-id-clashes-rule.yaml",
            "exceptions[0].id: duplicate id \"a\"",
        ),
        (
            "invalid-parser-only/duplicate-key.yaml",
            "duplicate field `severity`",
        ),
    ];
    for (file, want) in cases {
        let err = parse(&std::fs::read(fixtures().join(file)).unwrap())
            .expect_err(file)
            .to_string();
        assert!(err.contains(want), "{file}: {err:?} lacks {want:?}");
    }
    // Line numbers of YAML-level errors.
    let err =
        parse(&std::fs::read(fixtures().join("invalid/bad-severity.yaml")).unwrap()).unwrap_err();
    match err {
        stella_policy::rules::PolicyError::Yaml { line, .. } => assert_eq!(line, Some(3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_documents_are_refused_cleanly() {
    let big = vec![b'#'; stella_policy::rules::MAX_POLICY_BYTES + 1];
    assert!(matches!(
        parse(&big),
        Err(stella_policy::rules::PolicyError::TooLarge { .. })
    ));
    // Not UTF-8, empty, several documents, an alias bomb.
    assert!(parse(b"\xff\xfe").is_err());
    assert!(parse(b"").is_err());
    assert!(parse(
        b"schema: stella-policy@1\nrules: []\n---\nschema: stella-policy@1\nrules: []\n"
    )
    .is_err());
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        bomb.push_str(&format!(
            "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
            p = if i == 0 {
                "a".into()
            } else {
                format!("b{}", i - 1)
            }
        ));
    }
    assert!(parse(bomb.as_bytes()).is_err());
}
