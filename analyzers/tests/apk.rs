//! The apk analyzer against real installed databases (see
//! `fixtures/apk/SOURCE.md`), with oracles computed independently of our
//! parser, plus malformed-input behaviour.

use std::collections::BTreeSet;
use std::path::PathBuf;

use stella_analyzers::os::apk::{ApkAnalyzer, APK_DB, APK_DB_USR, PROP_CHECKSUM};
use stella_analyzers::{AnalyzeContext, AnalyzerError, Findings, MemFs, PackageAnalyzer};
use stella_model::{ComponentKind, Distro};

fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apk")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn alpine(version: &str) -> Distro {
    Distro {
        id: "alpine".into(),
        version_id: Some(version.into()),
        evidence: "etc/os-release".into(),
        ..Distro::default()
    }
}

fn run_at(path: &str, bytes: &[u8], distro: Option<&Distro>) -> Result<Findings, AnalyzerError> {
    let fs = MemFs::new().with_file(path, bytes.to_vec());
    ApkAnalyzer.analyze(&fs, &AnalyzeContext { distro })
}

fn run(bytes: &[u8]) -> Result<Findings, AnalyzerError> {
    run_at(APK_DB, bytes, None)
}

type Row = (String, String, String, String, String);

/// (name, version, arch, origin, license) as the analyzer reports them.
fn rows(f: &Findings) -> BTreeSet<Row> {
    f.components
        .iter()
        .map(|c| {
            let src = c.source.as_ref().expect("source always set");
            assert_eq!(
                src.version, c.version,
                "source version is the package version"
            );
            assert!(
                c.licenses.len() <= 1,
                "license expression must not be split"
            );
            (
                c.name.clone(),
                c.version.clone(),
                c.arch.clone().unwrap_or_default(),
                src.name.clone(),
                c.licenses.first().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// Rows of an `expected.tsv` oracle (tab-separated, `columns` wide).
fn oracle(rel: &str, columns: usize) -> BTreeSet<Vec<String>> {
    let text = String::from_utf8(fixture(rel)).expect("oracle is UTF-8");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<String> = l.split('\t').map(str::to_string).collect();
            assert_eq!(cols.len(), columns, "bad oracle row {l:?}");
            cols
        })
        .collect()
}

fn as_vecs(rows: &BTreeSet<Row>, columns: usize) -> BTreeSet<Vec<String>> {
    rows.iter()
        .map(|(a, b, c, d, e)| {
            [a, b, c, d, e]
                .iter()
                .take(columns)
                .map(|s| s.to_string())
                .collect()
        })
        .collect()
}

const ALPINE_313: &str = "alpine-3.13-armv7/lib/apk/db/installed";

/// The trivy fixture without its deliberately broken two-line stanza.
fn trivy_valid() -> Vec<u8> {
    let text = String::from_utf8(fixture("trivy-apk/installed")).expect("UTF-8");
    let cleaned = text.replace("\nP:invalidPackageWithoutAVersion\n\n", "\n");
    assert_ne!(cleaned, text, "fixture changed: broken stanza not found");
    cleaned.into_bytes()
}

#[test]
fn wants_exactly_the_db_paths() {
    assert!(ApkAnalyzer.wants("lib/apk/db/installed"));
    assert!(ApkAnalyzer.wants("usr/lib/apk/db/installed"));
    for other in [
        "lib/apk/db/installed.new",
        "lib/apk/db/triggers",
        "/lib/apk/db/installed",
        "x/lib/apk/db/installed",
        "etc/apk/world",
        "",
    ] {
        assert!(!ApkAnalyzer.wants(other), "{other}");
    }
}

#[test]
fn alpine_3_13_matches_awk_oracle_exactly() {
    let d = alpine("3.13.0");
    let f = run_at(APK_DB, &fixture(ALPINE_313), Some(&d)).expect("real db parses");
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    assert_eq!(f.components.len(), 14);
    let got = as_vecs(&rows(&f), 5);
    let want = oracle("alpine-3.13-armv7/expected.tsv", 5);
    assert_eq!(got, want);
    for c in &f.components {
        assert_eq!(c.kind, ComponentKind::Apk);
        assert_eq!(c.evidence, vec![APK_DB.to_string()]);
        assert!(
            c.properties
                .get(PROP_CHECKSUM)
                .is_some_and(|s| s.starts_with("Q1")),
            "{} has its C: checksum",
            c.name
        );
        // libtls-standalone is the one package of this image without an m: line.
        assert_eq!(
            c.supplier.is_none(),
            c.name == "libtls-standalone",
            "{}",
            c.name
        );
    }
    let musl = &f.components[0];
    assert_eq!(musl.name, "musl");
    assert_eq!(
        musl.supplier.as_deref(),
        Some("Timo Teräs <timo.teras@iki.fi>")
    );
    assert_eq!(
        musl.properties.get(PROP_CHECKSUM).map(String::as_str),
        Some("Q1fTJU+LWOGXSeZQ/abUNk8tU3j4U=")
    );
}

#[test]
fn trivy_fixture_matches_awk_and_peer_oracles() {
    let f = run(&trivy_valid()).expect("parses once the broken stanza is removed");
    let got = rows(&f);
    assert_eq!(got.len(), 15);
    assert_eq!(as_vecs(&got, 5), oracle("trivy-apk/expected.tsv", 5));
    // trivy's own expectations for the same file (name, version, arch, source).
    assert_eq!(as_vecs(&got, 4), oracle("trivy-apk/peer-expected.tsv", 4));
    let ada = f
        .components
        .iter()
        .find(|c| c.name == "ada-libs")
        .expect("ada-libs");
    assert_eq!(ada.licenses, vec!["( Apache-2.0 OR MIT ) AND MPL-2.0"]);
}

#[test]
fn stanza_without_version_fails_naming_file_and_line() {
    // As published, the trivy fixture holds `P:invalidPackageWithoutAVersion`
    // (line 23) with no V: — trivy skips it, we refuse the database.
    let err = run(&fixture("trivy-apk/installed")).expect_err("must fail");
    assert_eq!(err.path, APK_DB);
    assert!(err.message.starts_with("line 23:"), "{err}");
    assert!(
        err.message.contains("invalidPackageWithoutAVersion"),
        "{err}"
    );
    assert!(err
        .to_string()
        .starts_with("lib/apk/db/installed: line 23:"));
}

#[test]
fn purl_shape_matches_syft() {
    let d = alpine("3.13.0");
    let f = run_at(APK_DB, &fixture(ALPINE_313), Some(&d)).expect("parses");
    let purl = |name: &str| {
        f.components
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.purl.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    assert_eq!(
        purl("musl"),
        "pkg:apk/alpine/musl@1.2.2_pre7-r0?arch=armv7&distro=alpine-3.13.0"
    );
    assert_eq!(
        purl("libcrypto1.1"),
        "pkg:apk/alpine/libcrypto1.1@1.1.1i-r0?arch=armv7&distro=alpine-3.13.0&upstream=openssl"
    );
    assert_eq!(
        purl("ssl_client"),
        "pkg:apk/alpine/ssl_client@1.32.1-r0?arch=armv7&distro=alpine-3.13.0&upstream=busybox"
    );

    // No os-release: alpine namespace, no distro qualifier.
    let bare = run(b"P:curl\nV:7.83.0-r0\nA:x86\n").expect("parses");
    assert_eq!(
        bare.components[0].purl.as_ref().map(ToString::to_string),
        Some("pkg:apk/alpine/curl@7.83.0-r0?arch=x86".to_string())
    );

    // Another apk distro names the namespace.
    let wolfi = Distro {
        id: "wolfi".into(),
        version_id: Some("20230201".into()),
        ..Distro::default()
    };
    let w = run_at(APK_DB, b"P:glibc\nV:2.38-r1\nA:aarch64\n", Some(&wolfi)).expect("parses");
    assert_eq!(
        w.components[0].purl.as_ref().map(ToString::to_string),
        Some("pkg:apk/wolfi/glibc@2.38-r1?arch=aarch64&distro=wolfi-20230201".to_string())
    );
}

#[test]
fn apk_tools_3_location_and_precedence() {
    let db = fixture(ALPINE_313);
    let f = run_at(APK_DB_USR, &db, None).expect("usr/lib location read");
    assert_eq!(f.components.len(), 14);
    assert_eq!(f.components[0].evidence, vec![APK_DB_USR.to_string()]);

    // Both present and different: lib/ wins, the other is noted.
    let fs = MemFs::new()
        .with_file(APK_DB, db.clone())
        .with_file(APK_DB_USR, b"P:other\nV:1-r0\n".to_vec());
    let f = ApkAnalyzer
        .analyze(&fs, &AnalyzeContext::default())
        .expect("parses");
    assert_eq!(f.components.len(), 14);
    assert_eq!(f.notes.len(), 1);
    assert_eq!(f.notes[0].0, APK_DB_USR);

    // Both present and identical: nothing to say.
    let fs = MemFs::new()
        .with_file(APK_DB, db.clone())
        .with_file(APK_DB_USR, db);
    let f = ApkAnalyzer
        .analyze(&fs, &AnalyzeContext::default())
        .expect("parses");
    assert!(f.notes.is_empty());
}

#[test]
fn no_database_means_no_components() {
    let f = ApkAnalyzer
        .analyze(&MemFs::new(), &AnalyzeContext::default())
        .expect("ok");
    assert_eq!(f, Findings::default());
    assert!(run(b"").expect("empty db").components.is_empty());
    assert!(run(b"\n\n\r\n").expect("blank db").components.is_empty());
}

#[test]
fn crlf_line_endings_give_the_same_result() {
    let lf = fixture(ALPINE_313);
    let crlf = String::from_utf8(lf.clone())
        .expect("UTF-8")
        .replace('\n', "\r\n");
    let a = run(&lf).expect("lf");
    let b = run(crlf.as_bytes()).expect("crlf");
    assert_eq!(a, b);
}

#[test]
fn every_truncation_point_errors_or_yields_a_consistent_prefix() {
    let full_bytes = fixture(ALPINE_313);
    let full = run(&full_bytes).expect("full").components;
    for cut in 0..full_bytes.len() {
        match run(&full_bytes[..cut]) {
            Err(e) => {
                assert_eq!(e.path, APK_DB);
                assert!(e.message.starts_with("line "), "cut {cut}: {e}");
            }
            Ok(f) => {
                let got = &f.components;
                assert!(got.len() <= full.len(), "cut {cut}");
                if let Some((last, done)) = got.split_last() {
                    assert_eq!(done, &full[..done.len()], "cut {cut}");
                    let want = &full[done.len()];
                    // A cut inside the last stanza can only shorten its values.
                    assert_eq!(last.name, want.name, "cut {cut}");
                    assert!(want.version.starts_with(&last.version), "cut {cut}");
                }
            }
        }
    }
}

#[test]
fn garbage_lines_fail_with_their_line_number() {
    let cases: &[(&[u8], &str)] = &[
        (b"P:a\nV:1\nthis is not a field\n", "line 3:"),
        (b"P:a\nV:1\n\n:orphan value\n", "line 4:"),
        (b"P:a\n PV:1\n", "line 2:"),
        (b"P:a\nVV:1\n", "line 2:"),
        (b"P:a\nV\n", "line 2:"),
        (b"P:a\nV:1\n \n", "line 3:"),
        (b"\xef\xbb\xbfP:a\nV:1\n", "line 1:"),
        (b"P:a\nV:1\nP:b\n", "line 3:"),
        (b"P:a\nV:1\nV:2\n", "line 3:"),
        (b"P:a\nV:\n", "line 2:"),
        (b"P:a b\nV:1\n", "line 1:"),
        (b"P:a\nV:1\tx\n", "line 2:"),
        (b"V:1\nA:x86_64\n", "line 1:"),
        (b"P:a\nV:1\n\nC:Q1abc=\nA:x86_64\nL:MIT\n", "line 4:"),
    ];
    for (input, want) in cases {
        let err = run(input).expect_err(&String::from_utf8_lossy(input));
        assert_eq!(err.path, APK_DB);
        assert!(err.message.starts_with(want), "{input:?}: {err}");
    }
}

#[test]
fn non_utf8_bytes_fail_naming_the_line() {
    let mut db = b"P:a\nV:1\nT:caf".to_vec();
    db.extend_from_slice(b"\xe9 latin-1\nA:x86\n");
    let err = run(&db).expect_err("latin-1");
    assert!(err.message.starts_with("line 3:"), "{err}");
    assert!(err.message.contains("UTF-8"), "{err}");
}

#[test]
fn huge_values_are_bounded() {
    let long_name = format!("P:{}\nV:1\n", "a".repeat(5000));
    let err = run(long_name.as_bytes()).expect_err("name too long");
    assert!(err.message.starts_with("line 1:"), "{err}");

    // Fields we do not report may be as large as they like.
    let big = format!("P:a\nV:1\nT:{}\nA:x86_64\n", "d".repeat(8 << 20));
    let f = run(big.as_bytes()).expect("large description is fine");
    assert_eq!(f.components[0].arch.as_deref(), Some("x86_64"));
}

#[test]
fn optional_fields_and_origin_fallback() {
    let f = run(b"P:a\nV:1-r0\no:\nL:\n").expect("parses");
    let c = &f.components[0];
    assert_eq!(c.source.as_ref().map(|s| s.name.as_str()), Some("a"));
    assert!(c.licenses.is_empty());
    assert!(c.arch.is_none());
    assert!(c.supplier.is_none());
    assert!(c.properties.is_empty());
}

#[test]
fn mutated_inputs_never_panic() {
    let base = fixture("trivy-apk/installed");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let mut m = base.clone();
        for _ in 0..(next() % 8 + 1) {
            let at = (next() as usize) % m.len();
            match next() % 4 {
                0 => m[at] = (next() & 0xff) as u8,
                1 => m[at] = b'\n',
                2 => m.truncate(at),
                _ => m.insert(at, b":"[0]),
            }
            if m.is_empty() {
                break;
            }
        }
        let _ = run(&m);
    }
}
