//! The java analyzer against real jars: Debian bookworm's Java library
//! packages (fetched with `apt-get download`, unpacked with `dpkg-deb -x`),
//! a fat jar and a war built from them with Info-ZIP `zip`, and hostile
//! archives (`fixtures/java/make-fixture.sh`, `hostile.py`).
//!
//! The oracle is independent of the analyzer: Info-ZIP `unzip` lists each
//! archive, prints its `pom.properties` and manifest and extracts nested jars
//! (recursively), and `sha1sum` hashes each archive. Every Maven coordinate it
//! finds must be reported with the right evidence path and SHA-1, and nothing
//! else (100% precision and recall). Scans go through `scan_dir`, the real
//! directory walker with the default file analyzers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use stella_analyzers::binary::java::{
    JarAnalyzer, JarLimits, PROP_GROUP_UNKNOWN, PROP_POM_PROPERTIES, PROP_SHA1,
};
use stella_analyzers::{scan_dir, FileAnalyzer, FileReport, ScanOptions};
use stella_model::{Component, ComponentKind, Inventory};

/// Builds the fixture once per test process, under cargo's test scratch dir.
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        for tool in ["unzip", "zip", "sha1sum", "python3", "apt-get", "dpkg-deb"] {
            let ok = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(
                ok,
                "{tool} is required by the java analyzer tests (apt-get install zip unzip python3)"
            );
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java/make-fixture.sh");
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

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sha1sum(file: &Path) -> String {
    let out = String::from_utf8(run(Command::new("sha1sum").arg(file))).expect("utf-8");
    out.split_whitespace().next().expect("hash").to_string()
}

fn unzip_list(archive: &Path) -> Vec<String> {
    let out = String::from_utf8(run(Command::new("unzip").arg("-Z1").arg(archive))).expect("names");
    out.lines().map(str::to_string).collect()
}

fn unzip_cat(archive: &Path, entry: &str) -> Vec<u8> {
    run(Command::new("unzip").arg("-p").arg(archive).arg(entry))
}

/// `key=value` lines of a Maven-written pom.properties.
fn simple_properties(text: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// What one archive (and those nested in it) must yield.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    /// (purl, evidence label, sha1) for every pom.properties.
    maven: BTreeSet<(String, String, String)>,
    /// (evidence label, sha1, manifest version if the manifest has one) for
    /// archives without pom.properties.
    unknown_group: BTreeSet<(String, String, Option<String>)>,
}

/// Walks `archive` with unzip, extracting nested archives into `scratch`.
fn oracle(archive: &Path, label: &str, scratch: &Path, out: &mut Expected) {
    let sha1 = sha1sum(archive);
    let names = unzip_list(archive);
    let poms: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("META-INF/maven/") && n.ends_with("/pom.properties"))
        .collect();
    for pom in &poms {
        let p = simple_properties(&unzip_cat(archive, pom));
        let purl = format!(
            "pkg:maven/{}/{}@{}",
            p["groupId"], p["artifactId"], p["version"]
        );
        out.maven.insert((purl, label.to_string(), sha1.clone()));
    }
    if poms.is_empty() {
        let manifest_version = names
            .iter()
            .any(|n| n == "META-INF/MANIFEST.MF")
            .then(|| {
                let text = String::from_utf8_lossy(&unzip_cat(archive, "META-INF/MANIFEST.MF"))
                    .into_owned();
                let get = |key: &str| {
                    text.lines()
                        .find_map(|l| l.trim_end().strip_prefix(key)?.strip_prefix(": "))
                        .map(str::to_string)
                };
                get("Implementation-Version").or_else(|| get("Bundle-Version"))
            })
            .flatten();
        out.unknown_group
            .insert((label.to_string(), sha1.clone(), manifest_version));
    }
    for nested in names
        .iter()
        .filter(|n| n.ends_with(".jar") || n.ends_with(".war"))
    {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let file = scratch.join(format!(
            "nested-{}.jar",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&file, unzip_cat(archive, nested)).expect("extract nested");
        oracle(&file, &format!("{label}!/{nested}"), scratch, out);
    }
}

/// The evidence labels of a component: its archive paths (nested ones, when
/// any, rather than the physical file the engine appends).
fn labels(c: &Component) -> Vec<&str> {
    let nested: Vec<&str> = c
        .evidence
        .iter()
        .map(String::as_str)
        .filter(|e| e.contains("!/"))
        .collect();
    if nested.is_empty() {
        c.evidence.iter().map(String::as_str).collect()
    } else {
        nested
    }
}

fn found(components: &[Component]) -> Expected {
    let mut out = Expected::default();
    for c in components.iter().filter(|c| c.kind == ComponentKind::Maven) {
        let sha1 = c.properties.get(PROP_SHA1).cloned().unwrap_or_default();
        for label in labels(c) {
            match (&c.purl, c.properties.get(PROP_GROUP_UNKNOWN)) {
                (Some(purl), None) => {
                    out.maven
                        .insert((purl.to_string(), label.to_string(), sha1.clone()));
                }
                (None, Some(t)) if t == "true" => {
                    let version = c
                        .properties
                        .get("stella:java:version-from")
                        .filter(|from| *from != "file-name")
                        .map(|_| c.version.clone());
                    out.unknown_group
                        .insert((label.to_string(), sha1.clone(), version));
                }
                _ => panic!("a maven component has a purl xor is marked group-unknown: {c:#?}"),
            }
        }
    }
    out
}

fn scan(dir: &Path) -> Inventory {
    scan_dir(dir, "dir:java-fixture", &ScanOptions::default()).expect("scan_dir")
}

fn java_warnings(inv: &Inventory) -> Vec<String> {
    inv.warnings
        .iter()
        .filter(|w| w.message.starts_with("java"))
        .map(|w| format!("{:?}: {}", w.path, w.message))
        .collect()
}

/// Expected components of every regular archive file under `dir` (symlinks
/// are skipped, as the walker does), evidence relative to `dir`.
fn oracle_tree(dir: &Path) -> Expected {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut expected = Expected::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && path
                    .extension()
                    .is_some_and(|e| e == "jar" || e == "war" || e == "ear")
            {
                let rel = path.strip_prefix(dir).expect("relative");
                oracle(&path, &rel.to_string_lossy(), scratch.path(), &mut expected);
            }
        }
    }
    expected
}

#[test]
fn debian_jars_match_unzip() {
    let root = fixture().join("root");
    let expected = oracle_tree(&root);
    assert!(
        expected.maven.len() >= 25,
        "too few pom.properties in the Debian jars: {:#?}",
        expected.maven
    );
    assert!(
        expected.unknown_group.len() >= 5,
        "asm, junit4 and hamcrest jars have no pom.properties: {:#?}",
        expected.unknown_group
    );
    let inv = scan(&root);
    assert_eq!(found(&inv.components), expected);
    // One component per pom.properties / manifest-only jar: nothing doubled
    // through Debian's versioned symlinks.
    let maven: Vec<&Component> = inv
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Maven)
        .collect();
    assert_eq!(
        maven.len(),
        expected.maven.len() + expected.unknown_group.len()
    );
    for c in &maven {
        assert_eq!(c.evidence.len(), 1, "{c:#?}");
        assert_eq!(
            c.properties.get(PROP_SHA1),
            Some(&sha1sum(&root.join(&c.evidence[0]))),
            "{c:#?}"
        );
        if c.purl.is_some() {
            assert!(c.properties[PROP_POM_PROPERTIES].ends_with("/pom.properties"));
        } else {
            assert!(!c.name.is_empty() && !c.version.is_empty(), "{c:#?}");
        }
    }
    assert!(java_warnings(&inv).is_empty(), "{:#?}", java_warnings(&inv));
    // The manifest-only jars by name: a one-word title, else the OSGi name.
    let names: BTreeMap<&str, (&str, &str)> = maven
        .iter()
        .filter(|c| c.purl.is_none())
        .map(|c| {
            (
                c.evidence[0].as_str(),
                (c.name.as_str(), c.version.as_str()),
            )
        })
        .collect();
    assert_eq!(
        names.get("usr/share/java/junit4.jar"),
        Some(&("JUnit", "4.13.2"))
    );
    assert_eq!(
        names.get("usr/share/java/asm-9.4.jar"),
        Some(&("org.objectweb.asm", "9.4-SNAPSHOT"))
    );
    assert_eq!(
        names.get("usr/share/java/hamcrest-integration-1.3.1-SNAPSHOT.jar"),
        Some(&("hamcrest-integration", "1.3.1-SNAPSHOT"))
    );
}

#[test]
fn fat_jar_and_nested_war() {
    let apps = fixture().join("apps");
    let expected = oracle_tree(&apps);
    let inv = scan(&apps);
    assert_eq!(found(&inv.components), expected);
    assert!(java_warnings(&inv).is_empty(), "{:#?}", java_warnings(&inv));

    let by_purl = |purl: &str| -> Vec<&Component> {
        inv.components
            .iter()
            .filter(|c| c.purl.as_ref().is_some_and(|p| p.to_string() == purl))
            .collect()
    };
    // Nested evidence: the archive path with `!/`, then the physical file.
    let lang3 = by_purl("pkg:maven/org.apache.commons/commons-lang3@3.12.0");
    assert_eq!(lang3.len(), 1);
    assert_eq!(
        lang3[0].evidence,
        [
            "shop-1.4.war!/WEB-INF/lib/mid-2.0.jar!/lib/commons-lang3.jar",
            "shop-1.4.war"
        ]
    );
    let mid = by_purl("pkg:maven/com.example/mid@2.0");
    assert_eq!(
        mid[0].evidence,
        ["shop-1.4.war!/WEB-INF/lib/mid-2.0.jar", "shop-1.4.war"]
    );
    // The same commons-io bytes twice in the fat jar: one component, both paths.
    let io = by_purl("pkg:maven/commons-io/commons-io@2.11.0");
    assert_eq!(io.len(), 1, "{io:#?}");
    assert_eq!(
        io[0].evidence,
        [
            "demo-app.jar!/BOOT-INF/lib/commons-io.jar",
            "demo-app.jar!/BOOT-INF/lib/dup/commons-io-2.11.0.jar",
            "demo-app.jar"
        ]
    );
    // The nested jar's own SHA-1 (zip stores the bytes as they were).
    let debian_io = fixture().join("root/usr/share/java/commons-io.jar");
    assert_eq!(io[0].properties[PROP_SHA1], sha1sum(&debian_io));
    // The war has neither pom.properties nor a manifest: named by its file.
    let shop: Vec<&Component> = inv
        .components
        .iter()
        .filter(|c| c.evidence == ["shop-1.4.war"])
        .collect();
    assert_eq!(shop.len(), 1, "{shop:#?}");
    assert_eq!(
        (shop[0].name.as_str(), shop[0].version.as_str()),
        ("shop", "1.4")
    );
    // The fat jar itself: no pom.properties, named by its manifest.
    let app: Vec<&Component> = inv
        .components
        .iter()
        .filter(|c| c.evidence == ["demo-app.jar"])
        .collect();
    assert_eq!(app.len(), 1, "{app:#?}");
    assert_eq!(
        (app[0].name.as_str(), app[0].version.as_str()),
        ("demo-app", "0.0.1")
    );
    assert_eq!(app[0].purl, None);
}

fn analyze(analyzer: &JarAnalyzer, file: &str) -> FileReport {
    let path = fixture().join("hostile").join(file);
    let data = std::fs::read(&path).expect("read hostile file");
    let mut report = FileReport::default();
    analyzer
        .analyze_file(file, &data, &mut report)
        .expect("notes, not errors");
    report
}

fn purls(report: &FileReport) -> BTreeSet<String> {
    report
        .components
        .iter()
        .filter_map(|c| c.purl.as_ref().map(|p| p.to_string()))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn assert_one_note(report: &FileReport, needle: &str) {
    let hits = report.notes.iter().filter(|n| n.contains(needle)).count();
    assert_eq!(hits, 1, "one note with {needle:?}: {:#?}", report.notes);
}

#[test]
fn zip_bombs_are_refused_and_the_rest_is_read() {
    let r = analyze(&JarAnalyzer::default(), "bomb.jar");
    assert_eq!(
        purls(&r),
        set(&[
            "pkg:maven/com.example/bomb@1.0",
            "pkg:maven/commons-io/commons-io@2.11.0"
        ])
    );
    assert_one_note(&r, "java: bomb.jar!/BOOT-INF/lib/zeros.jar: not read: ");
    assert_one_note(&r, "over the 100:1 compression ratio limit");
    assert_one_note(
        &r,
        "java: bomb.jar!/BOOT-INF/lib/huge.jar: not read: inflates to 314572804 bytes, over the 268435456-byte limit",
    );
    assert_eq!(r.notes.len(), 2, "{:#?}", r.notes);

    // Sizes in the headers lie: the read itself is bounded.
    let r = analyze(&JarAnalyzer::default(), "liar.jar");
    assert_eq!(purls(&r), set(&["pkg:maven/com.example/liar@1.0"]));
    assert_eq!(
        r.notes,
        ["java: liar.jar!/BOOT-INF/lib/liar.jar: not read: inflates past the 1000 bytes it declares"]
    );
}

#[test]
fn inflate_budget_per_file_stops_the_walk_with_one_note() {
    let limits = JarLimits {
        max_total_inflated: 1 << 20,
        ..JarLimits::default()
    };
    let apps = fixture().join("apps");
    let data = std::fs::read(apps.join("demo-app.jar")).expect("fat jar");
    let mut r = FileReport::default();
    JarAnalyzer::with_limits(limits)
        .analyze_file("demo-app.jar", &data, &mut r)
        .expect("notes");
    assert_eq!(r.notes.len(), 1, "{:#?}", r.notes);
    assert!(
        r.notes[0].starts_with("java: demo-app.jar: stopped after inflating ")
            && r.notes[0].contains("the 1048576-byte limit per file"),
        "{:#?}",
        r.notes
    );
    // What fit in the budget was reported: the app and some nested jars, not all.
    let all = scan(&apps);
    let in_fat = all
        .components
        .iter()
        .filter(|c| c.evidence.last().is_some_and(|e| e == "demo-app.jar"))
        .count();
    assert!(
        (2..in_fat).contains(&r.components.len()),
        "{} of {in_fat}: {:#?}",
        r.components.len(),
        r.components
    );
}

#[test]
fn nesting_past_the_depth_limit_is_a_note() {
    let r = analyze(&JarAnalyzer::default(), "deep.jar");
    let expected: BTreeSet<String> = (0..=4)
        .map(|l| format!("pkg:maven/com.example/level{l}@1.0"))
        .collect();
    assert_eq!(purls(&r), expected);
    assert_eq!(
        r.notes,
        ["java: deep.jar!/lib/level1.jar!/lib/level2.jar!/lib/level3.jar!/lib/level4.jar!/lib/level5.jar: not opened: nested more than 4 archives deep"]
    );
    let level4 = r
        .components
        .iter()
        .find(|c| c.name == "level4")
        .expect("level4");
    assert_eq!(
        level4.evidence,
        ["deep.jar!/lib/level1.jar!/lib/level2.jar!/lib/level3.jar!/lib/level4.jar"]
    );
}

#[test]
fn truncated_and_corrupt_jars_are_notes() {
    for file in ["truncated.jar", "garbage-cd.jar"] {
        let r = analyze(&JarAnalyzer::default(), file);
        assert!(r.components.is_empty(), "{file}: {:#?}", r.components);
        assert_eq!(r.notes.len(), 1, "{file}: {:#?}", r.notes);
        assert!(
            r.notes[0].starts_with(&format!("java: {file}: not a readable zip archive: ")),
            "{:#?}",
            r.notes
        );
    }
    // Nested inside a fat jar: named by their nested path, the good jar after them found.
    let r = analyze(&JarAnalyzer::default(), "fat-with-broken.jar");
    assert!(
        purls(&r).contains("pkg:maven/org.apache.commons/commons-lang3@3.12.0"),
        "{:#?}",
        r.components
    );
    assert_one_note(
        &r,
        "java: fat-with-broken.jar!/BOOT-INF/lib/truncated.jar: not a readable zip archive",
    );
    assert_one_note(
        &r,
        "java: fat-with-broken.jar!/BOOT-INF/lib/garbage-cd.jar: not a readable zip archive",
    );
    // The whole engine, over the directory: a warning per broken file, no failure.
    let inv = scan(&fixture().join("hostile"));
    for file in ["truncated.jar", "garbage-cd.jar"] {
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.path.as_deref() == Some(file) && w.message.contains("not a readable")),
            "{file}: {:#?}",
            inv.warnings
        );
    }
}

#[test]
fn an_archive_without_any_version_is_a_note() {
    let r = analyze(&JarAnalyzer::default(), "plain.jar");
    assert!(r.components.is_empty(), "{:#?}", r.components);
    assert_eq!(
        r.notes,
        ["java: plain.jar: no pom.properties, and neither MANIFEST.MF nor the file name gives a version; not reported"]
    );
}

#[test]
fn shaded_jar_reports_each_pom_and_notes_the_broken_one() {
    let r = analyze(&JarAnalyzer::default(), "shaded.jar");
    assert_eq!(
        purls(&r),
        set(&[
            "pkg:maven/com.example/shaded@1.0",
            "pkg:maven/com.google.guava/guava@31.1-jre"
        ])
    );
    // com.example:shaded twice in the same archive: reported once.
    assert_eq!(r.components.len(), 2, "{:#?}", r.components);
    assert_eq!(
        r.notes,
        ["java: shaded.jar!/META-INF/maven/org.example/noversion/pom.properties: no version in pom.properties; not reported"]
    );
}

#[test]
fn entries_past_the_limit_are_not_looked_at() {
    let limits = JarLimits {
        max_entries: 10,
        ..JarLimits::default()
    };
    let r = analyze(&JarAnalyzer::with_limits(limits), "many.jar");
    assert_eq!(purls(&r), set(&["pkg:maven/com.example/many@1.0"]));
    assert_eq!(
        r.notes,
        ["java: many.jar: 30 entries, over the 10-entry limit: the rest were not looked at"]
    );
}
