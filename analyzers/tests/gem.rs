//! The gem analyzer against real RubyGems installations: the fixture script
//! (`fixtures/gem/make-fixture.sh`) copies this machine's gem directories
//! (Ruby's bundled and default gems, Debian's `rubygems-integration` gems),
//! `gem install`s real gems (one with a dependency, one platform gem) into a
//! `usr/local/bundle` and a `vendor/bundle` directory, and writes the oracle
//! with RubyGems' own `Gem::Specification.load`. We must find exactly that
//! set, with the same platform, licenses, authors and homepage.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use stella_analyzers::lang::gem::{GemAnalyzer, PROP_DEFAULT, PROP_HOMEPAGE, PROP_OS_MANAGED};
use stella_analyzers::{AnalyzeContext, MemFs, PackageAnalyzer};
use stella_model::ComponentKind;

/// (path, name, version, platform, licenses, authors, homepage, default).
type Row = (
    String,
    String,
    String,
    String,
    Vec<String>,
    String,
    Option<String>,
    bool,
);

fn make_fixture() -> tempfile::TempDir {
    let ruby = Command::new("ruby").arg("--version").output();
    assert!(
        ruby.is_ok_and(|o| o.status.success()),
        "ruby is required for the gem analyzer oracle test: apt-get install ruby"
    );
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gem/make-fixture.sh");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new("sh")
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn real_gem_installs_match_rubygems() {
    let dir = make_fixture();
    let root = dir.path();
    let text = std::fs::read_to_string(root.join("oracle.jsonl")).expect("oracle.jsonl");
    let want: BTreeSet<Row> = text
        .lines()
        .map(|l| {
            let o: Value = serde_json::from_str(l).expect("oracle line is JSON");
            let s = |k: &str| o[k].as_str().unwrap_or_default().to_string();
            let platform = s("platform");
            (
                s("path"),
                s("name"),
                s("version"),
                if platform == "ruby" {
                    String::new()
                } else {
                    platform
                },
                strings(&o["licenses"]),
                strings(&o["authors"]).join(", "),
                o["homepage"]
                    .as_str()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty()),
                o["default"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    // The fixture must exercise every kind of gem directory.
    let has = |pred: &dyn Fn(&Row) -> bool, what: &str| {
        assert!(want.iter().any(pred), "fixture has no {what}: {want:#?}");
    };
    has(&|r| r.7, "default gem");
    has(&|r| !r.3.is_empty(), "platform gem");
    has(&|r| r.0.contains("/rubygems-integration/"), "Debian gem");
    has(
        &|r| r.0.starts_with("usr/local/bundle/") && r.1 == "power_assert",
        "installed dependency (power_assert)",
    );
    has(
        &|r| r.0.starts_with("srv/app/vendor/bundle/"),
        "vendor/bundle gem",
    );
    assert!(want.len() >= 20, "oracle too small: {want:#?}");

    let fs = MemFs::from_dir(root, &|p| GemAnalyzer.wants(p)).expect("load fixture");
    let f = GemAnalyzer
        .analyze(&fs, &AnalyzeContext::default())
        .expect("the gem analyzer never fails as a whole");
    assert!(f.notes.is_empty(), "notes: {:?}", f.notes);
    let got: BTreeSet<Row> = f
        .components
        .iter()
        .map(|c| {
            assert_eq!(c.kind, ComponentKind::Gem);
            assert_eq!(c.evidence.len(), 1, "{c:?}");
            let platform = c.arch.clone().unwrap_or_default();
            let purl = c.purl.as_ref().map(ToString::to_string).unwrap_or_default();
            let expected = if platform.is_empty() {
                format!("pkg:gem/{}@{}", c.name, c.version)
            } else {
                format!("pkg:gem/{}@{}?platform={platform}", c.name, c.version)
            };
            assert_eq!(purl, expected);
            assert_eq!(
                c.properties.contains_key(PROP_OS_MANAGED),
                c.evidence[0].contains("/rubygems-integration/"),
                "{c:?}"
            );
            (
                c.evidence[0].clone(),
                c.name.clone(),
                c.version.clone(),
                platform,
                c.licenses.clone(),
                c.supplier.clone().unwrap_or_default(),
                c.properties.get(PROP_HOMEPAGE).cloned(),
                c.properties.get(PROP_DEFAULT).map(String::as_str) == Some("true"),
            )
        })
        .collect();
    assert_eq!(f.components.len(), got.len(), "no duplicates");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing (RubyGems has, we lack) {missing:#?}\nextra (we have, RubyGems lacks) {extra:#?}"
    );
    eprintln!("oracle: {} gemspecs, all matched", want.len());
}
