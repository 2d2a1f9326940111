//! The python analyzer against real installed distributions: the fixture
//! script (`fixtures/python/make-fixture.sh`) installs pinned packages from
//! PyPI into a venv and a `pip install --target` dir, adds egg-info written
//! by setuptools' own commands (a directory and a bare file), and writes the oracle
//! with CPython's own `importlib.metadata`. We must find exactly that set of
//! (normalized name, version), both through a `MemFs` holding the wanted
//! files and through the full engine (`scan_dir`, which also sees the venv's
//! `lib64 -> lib` symlink).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use stella_analyzers::lang::python::{normalize_name, PythonAnalyzer, PROP_FILES, PROP_SITE};
use stella_analyzers::{scan_dir, AnalyzeContext, MemFs, PackageAnalyzer, ScanOptions};
use stella_model::{Component, ComponentKind};

/// Builds the fixture into a fresh temp dir; fails (not skips) without python3/pip.
fn make_fixture() -> tempfile::TempDir {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python/make-fixture.sh");
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is required for the python analyzer oracle test (with pip and network access to PyPI)"
    );
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

fn oracle(root: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(root.join("oracle.tsv")).expect("oracle.tsv");
    let set: BTreeSet<(String, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, version) = l.split_once('\t').expect("name<TAB>version");
            (normalize_name(name), version.to_string())
        })
        .collect();
    assert!(set.len() >= 10, "oracle too small: {set:?}");
    set
}

fn found(components: &[Component]) -> BTreeSet<(String, String)> {
    components
        .iter()
        .filter(|c| c.kind == ComponentKind::Pypi)
        .map(|c| (normalize_name(&c.name), c.version.clone()))
        .collect()
}

fn check_shape(components: &[Component]) {
    for c in components.iter().filter(|c| c.kind == ComponentKind::Pypi) {
        let purl = c.purl.as_ref().map(|p| p.to_string()).unwrap_or_default();
        assert_eq!(
            purl,
            format!("pkg:pypi/{}@{}", normalize_name(&c.name), c.version)
        );
        if c.evidence[0].ends_with(".dist-info/METADATA") {
            assert_eq!(c.evidence.len(), 2, "METADATA and RECORD: {:?}", c.evidence);
            assert!(c.evidence[1].ends_with(".dist-info/RECORD"), "{c:?}");
            let files: usize = c
                .properties
                .get(PROP_FILES)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(files > 0, "RECORD file count: {c:?}");
        } else {
            // setuptools' egg_info dir or distutils' bare egg-info file.
            assert_eq!(c.evidence.len(), 1, "{c:?}");
            assert!(
                c.evidence[0].ends_with(".egg-info/PKG-INFO")
                    || c.evidence[0].ends_with(".egg-info"),
                "{c:?}"
            );
            assert_eq!(
                c.properties.get(PROP_SITE).map(String::as_str),
                Some("eggs")
            );
            assert!(!c.licenses.is_empty() && c.supplier.is_some(), "{c:?}");
        }
        let site = c.properties.get(PROP_SITE).expect("site");
        assert!(
            site.ends_with("site-packages") || site == "target" || site == "eggs",
            "site {site}"
        );
    }
}

#[test]
fn oracle_real_venv_target_dir_and_eggs() {
    let dir = make_fixture();
    let root = dir.path();
    let expected = oracle(root);

    // The analyzer alone, over the wanted files.
    let fs = MemFs::from_dir(root, &|p| PythonAnalyzer.wants(p)).expect("load fixture");
    let findings = PythonAnalyzer
        .analyze(&fs, &AnalyzeContext::default())
        .expect("analyze");
    assert!(findings.notes.is_empty(), "notes: {:?}", findings.notes);
    assert_eq!(found(&findings.components), expected);
    assert_eq!(findings.components.len(), expected.len(), "no duplicates");
    check_shape(&findings.components);

    // The whole engine: symlinks (venv `lib64 -> lib`) must not double-count.
    let inventory =
        scan_dir(root, "dir:python-fixture", &ScanOptions::default()).expect("scan_dir");
    let pypi: Vec<Component> = inventory
        .components
        .into_iter()
        .filter(|c| c.kind == ComponentKind::Pypi)
        .collect();
    assert_eq!(found(&pypi), expected);
    assert_eq!(pypi.len(), expected.len(), "no duplicates: {pypi:#?}");
    check_shape(&pypi);
    let python_warnings: Vec<_> = inventory
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("python"))
        .collect();
    assert!(python_warnings.is_empty(), "{python_warnings:?}");
}
