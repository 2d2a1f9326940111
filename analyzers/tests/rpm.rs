//! The rpm analyzer against real rpm databases (see
//! `tests/fixtures/rpm/SOURCE.md`): every backend must yield exactly what
//! `rpm -qa` printed for the same file, and damaged copies must give an error
//! or a correct subset, never a panic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use stella_analyzers::os::rpm::{read_database, Backend, RpmAnalyzer, RpmHeader};
use stella_analyzers::{AnalyzeContext, MemFs, PackageAnalyzer};
use stella_model::Distro;

/// One fixture: directory, backend, database file name.
const FIXTURES: [(&str, Backend, &str); 4] = [
    ("sqlite", Backend::Sqlite, "rpmdb.sqlite"),
    ("ndb", Backend::Ndb, "Packages.db"),
    ("bdb-le", Backend::Bdb, "Packages"),
    ("bdb-be", Backend::Bdb, "Packages"),
];

fn fixture_dir(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rpm")
        .join(dir)
}

fn db_bytes(dir: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture_dir(dir).join(file)).unwrap()
}

/// The fields the oracle prints, `(none)` for absent tags.
type Row = [String; 8];

fn none(v: Option<&str>) -> String {
    v.unwrap_or("(none)").to_string()
}

fn row(h: &RpmHeader) -> Row {
    [
        h.name.clone(),
        h.epoch.map_or("(none)".to_string(), |e| e.to_string()),
        h.version.clone(),
        h.release.clone(),
        none(h.arch.as_deref()),
        none(h.source_rpm.as_deref()),
        none(h.license.as_deref()),
        none(h.vendor.as_deref()),
    ]
}

fn parse_oracle(text: &str) -> BTreeSet<Row> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 8, "oracle line {l:?}");
            std::array::from_fn(|i| f[i].to_string())
        })
        .collect()
}

fn expected(dir: &str) -> BTreeSet<Row> {
    parse_oracle(&std::fs::read_to_string(fixture_dir(dir).join("expected.tsv")).unwrap())
}

fn parsed(backend: Backend, bytes: &[u8]) -> Result<Vec<Row>, String> {
    read_database(backend, bytes, None)
        .map(|hs| hs.iter().map(row).collect())
        .map_err(|e| e.to_string())
}

#[test]
fn every_backend_matches_the_saved_rpm_oracle() {
    for (dir, backend, file) in FIXTURES {
        let got = parsed(backend, &db_bytes(dir, file)).unwrap();
        let want = expected(dir);
        assert_eq!(got.len(), want.len(), "{dir}: duplicate or missing records");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "{dir}");
    }
}

/// The rpm binary able to read `backend`, if this machine has one.
fn live_rpm(backend: &str) -> Option<String> {
    let candidates = [
        std::env::var("RPM_NDB").ok(),
        Some("/opt/rpm-ndb/bin/rpm".to_string()),
        Some("rpm".to_string()),
    ];
    candidates.into_iter().flatten().find(|rpm| {
        Command::new(rpm)
            .arg("--showrc")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| {
                String::from_utf8_lossy(&o.stdout).lines().any(|l| {
                    l.starts_with("available backends")
                        && l.split_whitespace().any(|b| b == backend)
                })
            })
    })
}

#[test]
fn every_backend_matches_rpm_run_live() {
    const QF: &str = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\t%{VENDOR}\\n";
    for (dir, backend, file) in FIXTURES {
        let rpm_backend = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Ndb => "ndb",
            Backend::Bdb => "bdb_ro",
        };
        let Some(rpm) = live_rpm(rpm_backend) else {
            println!("note: no rpm binary with the {rpm_backend} backend here; skipping the live oracle for {dir}");
            continue;
        };
        // rpm may write lock files and indexes next to the database.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(fixture_dir(dir).join(file), tmp.path().join(file)).unwrap();
        let out = Command::new(&rpm)
            .arg("--dbpath")
            .arg(tmp.path())
            .args([
                "--define",
                &format!("_db_backend {rpm_backend}"),
                "-qa",
                "--qf",
                QF,
            ])
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rpm} on {dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let live = parse_oracle(&String::from_utf8(out.stdout).unwrap());
        let got: BTreeSet<Row> = parsed(backend, &db_bytes(dir, file))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(got, live, "{dir} vs live {rpm}");
    }
}

fn distro() -> Distro {
    Distro {
        id: "almalinux".into(),
        version_id: Some("9.4".into()),
        evidence: "etc/os-release".into(),
        ..Distro::default()
    }
}

#[test]
fn analyzer_builds_components_from_each_location() {
    let d = distro();
    let ctx = AnalyzeContext { distro: Some(&d) };
    for (dir, _, file) in FIXTURES {
        for root in ["var/lib/rpm", "usr/lib/sysimage/rpm"] {
            let path = format!("{root}/{file}");
            let a = RpmAnalyzer::new();
            assert!(a.wants(&path));
            let fs = MemFs::new().with_file(&path, db_bytes(dir, file));
            let f = a.analyze(&fs, &ctx).unwrap();
            assert!(f.notes.is_empty());
            // Everything but the gpg-pubkey pseudo-package.
            assert_eq!(f.components.len(), expected(dir).len() - 1, "{dir}");
            assert!(f
                .components
                .iter()
                .all(|c| c.name != "gpg-pubkey" && c.evidence == [path.clone()]));

            let alpha = f
                .components
                .iter()
                .find(|c| c.name == "stella-alpha")
                .unwrap();
            assert_eq!(alpha.version, "2:1.2.3-4.st1");
            assert_eq!(alpha.arch.as_deref(), Some("noarch"));
            assert_eq!(
                alpha.purl.as_ref().unwrap().to_string(),
                "pkg:rpm/almalinux/stella-alpha@1.2.3-4.st1?arch=noarch&distro=almalinux-9.4&epoch=2"
            );
            let src = alpha.source.as_ref().unwrap();
            assert_eq!(
                (src.name.as_str(), src.version.as_str()),
                ("stella-alpha", "1.2.3-4.st1")
            );
            assert_eq!(
                alpha.licenses,
                ["MIT AND (BSD-3-Clause OR GPL-2.0-or-later)"]
            );
            assert_eq!(
                alpha.supplier.as_deref(),
                Some("Stella Test Vendor <vendor@example.invalid>")
            );

            let beta = f
                .components
                .iter()
                .find(|c| c.name == "stella-beta")
                .unwrap();
            assert_eq!(beta.version, "0.9-1.st1");
            assert_eq!(beta.supplier, None);
            assert_eq!(
                beta.purl.as_ref().unwrap().to_string(),
                "pkg:rpm/almalinux/stella-beta@0.9-1.st1?arch=x86_64&distro=almalinux-9.4"
            );
            let gamma = f
                .components
                .iter()
                .find(|c| c.name == "stella-gamma")
                .unwrap();
            assert_eq!(gamma.version, "0:10.0~rc1-0.1.st1");
            assert_eq!(gamma.arch.as_deref(), Some("aarch64"));
            assert_eq!(gamma.supplier.as_deref(), Some("Ünïcode Vendör"));
            assert_eq!(
                gamma.purl.as_ref().unwrap().to_string(),
                "pkg:rpm/almalinux/stella-gamma@10.0~rc1-0.1.st1?arch=aarch64&distro=almalinux-9.4&epoch=0"
            );
        }
    }
}

#[test]
fn sqlite_wins_over_ndb_and_bdb_and_the_others_are_noted() {
    let fs = MemFs::new()
        .with_file("var/lib/rpm/Packages", db_bytes("bdb-le", "Packages"))
        .with_file(
            "usr/lib/sysimage/rpm/Packages.db",
            db_bytes("ndb", "Packages.db"),
        )
        .with_file(
            "var/lib/rpm/rpmdb.sqlite",
            db_bytes("sqlite", "rpmdb.sqlite"),
        );
    let f = RpmAnalyzer
        .analyze(&fs, &AnalyzeContext::default())
        .unwrap();
    assert!(f
        .components
        .iter()
        .all(|c| c.evidence == ["var/lib/rpm/rpmdb.sqlite"]));
    let noted: Vec<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        noted,
        ["usr/lib/sysimage/rpm/Packages.db", "var/lib/rpm/Packages"]
    );
    // No distro: no namespace and no distro qualifier.
    let beta = f
        .components
        .iter()
        .find(|c| c.name == "stella-beta")
        .unwrap();
    assert_eq!(
        beta.purl.as_ref().unwrap().to_string(),
        "pkg:rpm/stella-beta@0.9-1.st1?arch=x86_64"
    );
}

#[test]
fn sqlite_write_ahead_log_is_replayed() {
    // Delete a package through SQLite with checkpointing off, so the change
    // lives only in rpmdb.sqlite-wal, as in an image built while rpm left an
    // uncheckpointed log behind.
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("rpmdb.sqlite");
    std::fs::write(&db, db_bytes("sqlite", "rpmdb.sqlite")).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; PRAGMA wal_autocheckpoint = 0;
         DELETE FROM Packages WHERE hnum = 1;",
    )
    .unwrap();
    let main = std::fs::read(&db).unwrap();
    let wal = std::fs::read(tmp.path().join("rpmdb.sqlite-wal")).unwrap();
    assert!(!wal.is_empty());
    let names = |fs: MemFs| -> BTreeSet<String> {
        let f = RpmAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap();
        f.components.into_iter().map(|c| c.name).collect()
    };
    let without_wal = names(MemFs::new().with_file("var/lib/rpm/rpmdb.sqlite", main.clone()));
    let with_wal = names(
        MemFs::new()
            .with_file("var/lib/rpm/rpmdb.sqlite", main)
            .with_file("var/lib/rpm/rpmdb.sqlite-wal", wal),
    );
    assert_eq!(without_wal.len(), with_wal.len() + 1);
    assert!(with_wal.is_subset(&without_wal));
    drop(conn);
}

/// `Ok` results of damaged input must be a subset of the truth.
fn assert_error_or_subset(dir: &str, backend: Backend, bytes: &[u8], what: &str) {
    let want = expected(dir);
    if let Ok(rows) = parsed(backend, bytes) {
        for r in rows {
            assert!(want.contains(&r), "{dir} {what}: invented record {r:?}");
        }
    }
}

#[test]
fn truncated_databases_give_errors_or_subsets() {
    for (dir, backend, file) in FIXTURES {
        let bytes = db_bytes(dir, file);
        let mut cuts: Vec<usize> = vec![0, 1, 12, 16, 32, 100, 511, 512, 4095, 4096, 4097];
        cuts.extend((1..16).map(|i| bytes.len() * i / 16));
        cuts.push(bytes.len() - 1);
        for cut in cuts.into_iter().filter(|&c| c < bytes.len()) {
            assert_error_or_subset(dir, backend, &bytes[..cut], &format!("cut at {cut}"));
        }
        // Through the analyzer, a hopeless file is an error naming it.
        let path = format!("var/lib/rpm/{file}");
        let fs = MemFs::new().with_file(&path, bytes[..bytes.len() / 3].to_vec());
        if let Err(e) = RpmAnalyzer.analyze(&fs, &AnalyzeContext::default()) {
            assert_eq!(e.path, path);
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    // Berkeley DB and SQLite pages carry no checksums here, so a flipped byte
    // inside a string can yield a plausible wrong value; the guarantee is no
    // panic and no runaway allocation. ndb blobs are checksummed: a flip
    // there is an error or a correct subset.
    for (dir, backend, file) in FIXTURES {
        let bytes = db_bytes(dir, file);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..400 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (state >> 33) as usize % bytes.len();
            let mut b = bytes.clone();
            b[at] ^= 1 << ((state >> 20) % 8);
            if backend == Backend::Ndb {
                assert_error_or_subset(dir, backend, &b, &format!("flip at {at}"));
            } else {
                let _ = parsed(backend, &b);
            }
        }
    }
}

/// Minimal page walker for the Berkeley DB fixtures, to plant damage.
struct Bdb {
    big: bool,
    page_size: usize,
}

impl Bdb {
    fn new(bytes: &[u8]) -> Bdb {
        let big = bytes[12..16] == [0, 6, 0x15, 0x61];
        let page_size = Bdb { big, page_size: 0 }.u32(bytes, 20) as usize;
        Bdb { big, page_size }
    }
    fn u32(&self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    fn put32(&self, b: &mut [u8], at: usize, v: u32) {
        let a = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        b[at..at + 4].copy_from_slice(&a);
    }
    /// Page numbers of the overflow pages that start a chain, and of those
    /// whose chain goes on to another page.
    fn chain_heads(&self, bytes: &[u8]) -> (Vec<usize>, Vec<usize>) {
        let heads: Vec<usize> = (1..bytes.len() / self.page_size)
            .filter(|&p| {
                let pg = &bytes[p * self.page_size..];
                pg[25] == 7 && self.u32(pg, 12) == 0
            })
            .collect();
        let long = heads
            .iter()
            .copied()
            .filter(|&p| self.u32(bytes, p * self.page_size + 16) != 0)
            .collect();
        (heads, long)
    }
}

#[test]
fn fixtures_really_use_overflow_chains() {
    for dir in ["bdb-le", "bdb-be"] {
        let bytes = db_bytes(dir, "Packages");
        let db = Bdb::new(&bytes);
        let (heads, long) = db.chain_heads(&bytes);
        // With 4 KiB pages every header goes off-page; with 8 KiB pages the
        // small ones stay on the hash page. stella-alpha's spans pages.
        let off_page = if dir == "bdb-le" {
            expected(dir).len()
        } else {
            3
        };
        assert_eq!(heads.len(), off_page, "{dir}");
        assert!(!long.is_empty(), "{dir}");
    }
}

#[test]
fn cyclic_overflow_chain_is_an_error() {
    for dir in ["bdb-le", "bdb-be"] {
        let mut bytes = db_bytes(dir, "Packages");
        let db = Bdb::new(&bytes);
        let head = db.chain_heads(&bytes).1[0];
        // The first page of a multi-page chain points back to itself.
        db.put32(&mut bytes, head * db.page_size + 16, head as u32);
        let err = parsed(Backend::Bdb, &bytes).unwrap_err();
        assert!(err.contains("reached twice"), "{dir}: {err}");
        let fs = MemFs::new().with_file("var/lib/rpm/Packages", bytes);
        let err = RpmAnalyzer
            .analyze(&fs, &AnalyzeContext::default())
            .unwrap_err();
        assert_eq!(err.path, "var/lib/rpm/Packages");
        assert!(err.message.contains("bdb rpm database"), "{err}");
    }
}

#[test]
fn header_index_count_past_the_end_is_an_error() {
    // Berkeley DB: rewrite `il` at the start of a stored header blob.
    let mut bytes = db_bytes("bdb-le", "Packages");
    let db = Bdb::new(&bytes);
    let head = db.chain_heads(&bytes).0[0];
    let at = head * db.page_size + 26;
    bytes[at..at + 4].copy_from_slice(&0x8000u32.to_be_bytes());
    let err = parsed(Backend::Bdb, &bytes).unwrap_err();
    assert!(err.contains("32768 index entries"), "{err}");

    // ndb: the same, with the blob's adler32 fixed up so only the header is wrong.
    let mut bytes = db_bytes("ndb", "Packages.db");
    let le =
        |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    let (blkoff, blkcnt) = (le(&bytes, 32 + 8), le(&bytes, 32 + 12));
    let (start, end) = (blkoff * 16, (blkoff + blkcnt) * 16);
    bytes[start + 16..start + 20].copy_from_slice(&0xfff0u32.to_be_bytes());
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &bytes[start..end - 12] {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    bytes[end - 12..end - 8].copy_from_slice(&((b << 16) | a).to_le_bytes());
    let err = parsed(Backend::Ndb, &bytes).unwrap_err();
    assert!(err.contains("65520 index entries"), "{err}");
}

type FileRows = BTreeSet<(String, String)>;

fn file_rows(headers: &[RpmHeader]) -> FileRows {
    headers
        .iter()
        .flat_map(|h| h.files.iter().map(|f| (h.name.clone(), f.clone())))
        .collect()
}

/// File lists (what ownership of files rests on) against rpm's own
/// `%{FILENAMES}` on the sqlite database; the other backends hold the same
/// packages and must agree with it.
#[test]
fn file_lists_match_rpm_filenames() {
    let Some(rpm) = live_rpm("sqlite") else {
        panic!("needs rpm with the sqlite backend (apt-get install rpm)");
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture_dir("sqlite").join("rpmdb.sqlite"),
        tmp.path().join("rpmdb.sqlite"),
    )
    .unwrap();
    let out = Command::new(&rpm)
        .arg("--dbpath")
        .arg(tmp.path())
        .args([
            "--define",
            "_db_backend sqlite",
            "-qa",
            "--qf",
            "[%{NAME}\\t%{FILENAMES}\\n]",
        ])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: FileRows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, f)| *f != "(none)")
        .map(|(n, f)| (n.to_string(), f.to_string()))
        .collect();
    assert!(
        live.len() > 10,
        "fixture packages should own files: {live:?}"
    );
    for (dir, backend, file) in FIXTURES {
        let headers = read_database(backend, &db_bytes(dir, file), None).unwrap();
        assert_eq!(file_rows(&headers), live, "{dir}");
    }
}
