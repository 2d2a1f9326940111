//! The cargo-auditable analyzer against syft on a real `cargo auditable`
//! binary (`fixtures/rust-auditable`, built as its SOURCE.md says): the same
//! (name, version) set of crates, through the whole engine. Build-only
//! crates are not components (syft drops them too); the ones we list on the
//! root crate must be exactly the crates of the committed `Cargo.lock` that
//! are not linked in.
//!
//! Then hostile copies made with binutils' objcopy (the section replaced by
//! garbage, by a zlib bomb, by zlib'd junk JSON, removed) and truncations:
//! a note or nothing, never a panic.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require_tool, syft_scan};
use stella_analyzers::binary::rust::{
    CargoAuditableAnalyzer, PROP_BUILD_DEPS, PROP_KIND, PROP_ROOT, PROP_SOURCE,
};
use stella_analyzers::{scan_dir, FileAnalyzer, FileReport, ScanOptions};
use stella_model::ComponentKind;

const BINARY: &str = "stella-auditable-fixture";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust-auditable")
}

/// (name, version) of every package in the committed lockfile.
fn lockfile_packages() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(fixture_dir().join("Cargo.lock")).expect("Cargo.lock");
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_string()));
        }
    }
    out
}

#[test]
fn agrees_with_syft() {
    let bin_dir = fixture_dir().join("bin");
    let theirs: BTreeSet<(String, String)> = syft_scan(&bin_dir, "rust-crate")
        .into_iter()
        .map(|p| {
            assert_eq!(p.path, BINARY);
            (p.name, p.version)
        })
        .collect();
    assert!(theirs.len() >= 5, "syft found too little: {theirs:?}");

    let inventory =
        scan_dir(&bin_dir, "dir:rust-fixture", &ScanOptions::default()).expect("scan_dir");
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
    let cargo: Vec<_> = inventory
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Cargo)
        .collect();
    let ours: BTreeSet<(String, String)> = cargo
        .iter()
        .map(|c| (c.name.clone(), c.version.clone()))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(cargo.len(), theirs.len(), "no duplicates");
    assert!(inventory
        .components
        .iter()
        .all(|c| c.kind == ComponentKind::Cargo));

    for c in &cargo {
        assert_eq!(c.evidence, [BINARY]);
        assert_eq!(
            c.purl.as_ref().map(|p| p.to_string()),
            Some(format!("pkg:cargo/{}@{}", c.name, c.version))
        );
        assert_eq!(c.properties[PROP_KIND], "runtime");
        let expected_source = if c.name == "stella-auditable-fixture" {
            "local"
        } else {
            "crates.io"
        };
        assert_eq!(c.properties[PROP_SOURCE], expected_source, "{c:?}");
    }
    let roots: Vec<_> = cargo
        .iter()
        .filter(|c| c.properties.contains_key(PROP_ROOT))
        .collect();
    assert_eq!(roots.len(), 1);
    let build_deps: BTreeSet<(String, String)> = roots[0].properties[PROP_BUILD_DEPS]
        .split(',')
        .map(|nv| {
            let (n, v) = nv.split_once('@').expect("name@version");
            (n.to_string(), v.to_string())
        })
        .collect();
    let not_linked: BTreeSet<_> = lockfile_packages().difference(&ours).cloned().collect();
    assert_eq!(build_deps, not_linked);
    assert!(build_deps.contains(&("serde_derive".to_string(), "1.0.228".to_string())));
}

fn analyze(data: &[u8]) -> (Result<(), String>, FileReport) {
    let mut report = FileReport::default();
    let result = CargoAuditableAnalyzer.analyze_file("x", data, &mut report);
    (result, report)
}

/// A copy of the fixture with `.dep-v0` replaced by `section` (or removed).
fn with_section(scratch: &Path, section: Option<&[u8]>) -> Vec<u8> {
    require_tool("objcopy", "--version", "apt-get install binutils");
    let input = fixture_dir().join("bin").join(BINARY);
    let output = scratch.join("out");
    let mut cmd = Command::new("objcopy");
    match section {
        Some(bytes) => {
            let file = scratch.join("section");
            std::fs::write(&file, bytes).expect("write section");
            cmd.arg(format!("--update-section=.dep-v0={}", file.display()));
        }
        None => {
            cmd.arg("--remove-section=.dep-v0");
        }
    }
    let status = cmd.arg(&input).arg(&output).status().expect("objcopy");
    assert!(status.success(), "objcopy failed");
    std::fs::read(&output).expect("read objcopy output")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("compress");
    enc.finish().expect("compress")
}

fn expect_note(data: &[u8], fragment: &str) {
    let (result, report) = analyze(data);
    let err = result.expect_err(fragment);
    assert!(err.contains(fragment), "{err}");
    assert!(report.components.is_empty());
}

#[test]
fn hostile_sections_give_a_note_or_nothing() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let good = std::fs::read(fixture_dir().join("bin").join(BINARY)).expect("fixture");
    assert!(analyze(&good).0.is_ok());

    expect_note(
        &with_section(scratch.path(), Some(b"garbage, not zlib")),
        "bad zlib data",
    );
    let bomb = zlib(&vec![b' '; 9 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    expect_note(&with_section(scratch.path(), Some(&bomb)), "inflates past");
    expect_note(
        &with_section(scratch.path(), Some(&zlib(b"{\"packages\": 7}"))),
        "bad dependency list",
    );
    expect_note(
        &with_section(
            scratch.path(),
            Some(&zlib(
                br#"{"packages":[{"name":"a","version":"1","source":"local","dependencies":[9]}]}"#,
            )),
        ),
        "depends on package #9",
    );
    let (result, report) = analyze(&with_section(scratch.path(), None));
    assert!(result.is_ok() && report.is_empty(), "no section, no report");

    // Truncated anywhere, including inside the section: never a panic.
    for i in 0..256 {
        let _ = analyze(&good[..good.len() * i / 256]);
    }
    // Not ELF or a bare header: nothing.
    for junk in [&b""[..], b"\x7fELF", b"\x7fELF\x01\x02\x01\0"] {
        let (result, report) = analyze(junk);
        assert!(result.is_ok() && report.is_empty());
    }
}
