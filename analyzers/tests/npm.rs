//! The npm analyzer against a real `npm install` (oracle: `npm ls --all
//! --json` from the same install, see `fixtures/npm/make-fixture.sh`), plus
//! small inline samples for the layouts and malformed input.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use stella_analyzers::lang::npm::{NpmAnalyzer, PROP_DECLARED, PROP_PATH};
use stella_analyzers::{AnalyzeContext, Findings, MemFs, PackageAnalyzer};
use stella_model::ComponentKind;

fn run(fs: &MemFs) -> Findings {
    NpmAnalyzer
        .analyze(fs, &AnalyzeContext::default())
        .expect("the npm analyzer never fails as a whole")
}

fn installed(f: &Findings) -> BTreeSet<(String, String)> {
    f.components
        .iter()
        .filter(|c| !c.properties.contains_key(PROP_DECLARED))
        .map(|c| (c.name.clone(), c.version.clone()))
        .collect()
}

/// (name, version) of every installed dependency in `npm ls --all --json`.
fn oracle(tree: &Value, out: &mut BTreeSet<(String, String)>) {
    let Some(deps) = tree.get("dependencies").and_then(Value::as_object) else {
        return;
    };
    for (name, dep) in deps {
        if dep.get("missing").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(v) = dep.get("version").and_then(Value::as_str) {
            out.insert((name.clone(), v.to_string()));
        }
        oracle(dep, out);
    }
}

#[test]
fn real_npm_install_matches_npm_ls() {
    let has_npm = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_npm,
        "npm is required for this test (CI installs it): install Node.js/npm and rerun"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npm/make-fixture.sh");
    let status = Command::new("sh")
        .arg(&script)
        .arg(tmp.path())
        .status()
        .expect("run make-fixture.sh");
    assert!(status.success(), "make-fixture.sh failed: {status}");

    let ls: Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("npm-ls.json")).expect("npm-ls.json"),
    )
    .expect("npm ls output is JSON");
    let mut want = BTreeSet::new();
    oracle(&ls, &mut want);
    assert!(want.len() > 50, "suspiciously small oracle: {want:?}");
    // The fixture must exercise scoped packages and nested duplicates.
    assert!(want.iter().any(|(n, _)| n.starts_with("@babel/")));
    let debugs = want.iter().filter(|(n, _)| n == "debug").count();
    assert!(debugs >= 2, "expected several debug versions: {want:?}");

    // Test fixtures and the lockfiles are loaded too: the former must be
    // ignored, the latter must add nothing (everything is installed).
    let mut fs = MemFs::from_dir(tmp.path(), &|p| NpmAnalyzer.wants(p)).expect("load fixture");
    fs = fs
        .with_file(
            "app/package-lock.json",
            std::fs::read(tmp.path().join("app/package-lock.json")).expect("package-lock"),
        )
        .with_file(
            "app/node_modules/express/test/fixtures/package.json",
            r#"{"name":"not-a-package","version":"0.0.1"}"#,
        );
    let f = run(&fs);
    assert!(f.notes.is_empty(), "unexpected notes: {:?}", f.notes);
    let got = installed(&f);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "recall misses {missing:?}; precision misses {extra:?}"
    );
    assert_eq!(
        f.components.len(),
        f.components
            .iter()
            .filter(|c| !c.properties.contains_key(PROP_DECLARED))
            .count(),
        "lockfile entries are all installed, so none is declared"
    );
    for c in &f.components {
        assert_eq!(c.kind, ComponentKind::Npm);
        let dir = &c.properties[PROP_PATH];
        assert_eq!(c.evidence, vec![format!("{dir}/package.json")]);
    }

    // The same tree through the engine (directory walk, squashed view).
    let inv =
        stella_analyzers::scan_dir(tmp.path(), "dir:npm", &Default::default()).expect("scan_dir");
    let engine: BTreeSet<(String, String)> = inv
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Npm)
        .map(|c| {
            assert!(!c.properties.contains_key(PROP_DECLARED), "{c:?}");
            (c.name.clone(), c.version.clone())
        })
        .collect();
    assert_eq!(engine, want, "scan_dir disagrees with npm ls");
    eprintln!("oracle: {} (name, version) pairs, all matched", want.len());
}

#[test]
fn scoped_names_purls_licenses_and_authors() {
    let fs = MemFs::new()
        .with_file(
            "usr/lib/node_modules/@babel/core/package.json",
            r#"{"name":"@babel/core","version":"7.24.0","license":"MIT","author":"The Babel Team (https://babel.dev/team)"}"#,
        )
        .with_file(
            "app/node_modules/a/package.json",
            r#"{"name":"a","version":"1.0.0","license":{"type":"ISC","url":"x"},"author":{"name":"Ann","email":"a@x"}}"#,
        )
        .with_file(
            "app/node_modules/b/package.json",
            r#"{"name":"b","version":"2.0.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#,
        )
        .with_file(
            "app/node_modules/c/package.json",
            r#"{"name":"c","version":"3.0.0","licenses":["BSD-3-Clause"],"author":"Cy <c@x>"}"#,
        );
    let f = run(&fs);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    let by = |n: &str| {
        f.components
            .iter()
            .find(|c| c.name == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    let babel = by("@babel/core");
    assert_eq!(
        babel.purl.as_ref().map(ToString::to_string).as_deref(),
        Some("pkg:npm/%40babel/core@7.24.0")
    );
    assert_eq!(babel.licenses, vec!["MIT"]);
    assert_eq!(babel.supplier.as_deref(), Some("The Babel Team"));
    assert_eq!(
        babel.properties[PROP_PATH],
        "usr/lib/node_modules/@babel/core"
    );
    assert_eq!(
        babel.evidence,
        vec!["usr/lib/node_modules/@babel/core/package.json"]
    );
    let a = by("a");
    assert_eq!(a.licenses, vec!["ISC"]);
    assert_eq!(a.supplier.as_deref(), Some("Ann"));
    assert_eq!(
        a.purl.as_ref().map(ToString::to_string).as_deref(),
        Some("pkg:npm/a@1.0.0")
    );
    assert_eq!(by("b").licenses, vec!["MIT", "Apache-2.0"]);
    assert_eq!(by("c").licenses, vec!["BSD-3-Clause"]);
    assert_eq!(by("c").supplier.as_deref(), Some("Cy"));
}

#[test]
fn only_package_roots_count() {
    for p in [
        "node_modules/foo/package.json",
        "a/b/node_modules/foo/node_modules/@s/bar/package.json",
        "node_modules/.pnpm/foo@1.0.0/node_modules/foo/package.json",
        "app/package-lock.json",
        "yarn.lock",
        "srv/pnpm-lock.yaml",
    ] {
        assert!(NpmAnalyzer.wants(p), "{p}");
    }
    for p in [
        "package.json",
        "app/package.json",
        "node_modules/foo/test/fixtures/package.json",
        "node_modules/foo/lib/package.json",
        "node_modules/@s/package.json",
        "node_modules/.package-lock.json",
        "node_modules/foo/package-lock.json",
        "node_modules/foo/index.js",
    ] {
        assert!(!NpmAnalyzer.wants(p), "{p}");
    }
    let fs = MemFs::new()
        .with_file("app/package.json", r#"{"name":"app","version":"1.0.0"}"#)
        .with_file(
            "app/node_modules/foo/package.json",
            r#"{"name":"foo","version":"1.0.0"}"#,
        )
        .with_file(
            "app/node_modules/foo/test/fixtures/package.json",
            r#"{"name":"fixture","version":"9.9.9"}"#,
        )
        .with_file(
            "app/node_modules/foo/lib/package.json",
            r#"{"type":"module"}"#,
        )
        .with_file(
            "app/node_modules/foo/node_modules/bar/package.json",
            r#"{"name":"bar","version":"2.0.0"}"#,
        );
    let f = run(&fs);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    assert_eq!(
        installed(&f),
        BTreeSet::from([
            ("foo".to_string(), "1.0.0".to_string()),
            ("bar".to_string(), "2.0.0".to_string())
        ])
    );
}

#[test]
fn pnpm_store_layout() {
    // MemFs has no symlinks: the store holds the real directories, and the
    // top-level links (node_modules/foo) are absent as they would be after
    // following them to the same physical files.
    let fs = MemFs::new()
        .with_file(
            "app/node_modules/.pnpm/foo@1.0.0/node_modules/foo/package.json",
            r#"{"name":"foo","version":"1.0.0"}"#,
        )
        .with_file(
            "app/node_modules/.pnpm/@s+bar@2.0.0/node_modules/@s/bar/package.json",
            r#"{"name":"@s/bar","version":"2.0.0"}"#,
        )
        .with_file(
            "app/node_modules/.pnpm/lock.yaml",
            "lockfileVersion: '9.0'\n",
        )
        .with_file(
            "app/pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  foo@1.0.0:\n    resolution: {}\n  '@s/bar@2.0.0':\n    resolution: {}\n  gone@3.0.0:\n    resolution: {}\n",
        );
    let f = run(&fs);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    assert_eq!(
        installed(&f),
        BTreeSet::from([
            ("foo".to_string(), "1.0.0".to_string()),
            ("@s/bar".to_string(), "2.0.0".to_string())
        ])
    );
    let declared: Vec<_> = f
        .components
        .iter()
        .filter(|c| c.properties.get(PROP_DECLARED).map(String::as_str) == Some("true"))
        .collect();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].name, "gone");
    assert_eq!(declared[0].evidence, vec!["app/pnpm-lock.yaml"]);
}

#[test]
fn package_lock_declares_only_what_is_not_installed() {
    let v3 = r#"{"name":"app","lockfileVersion":3,"packages":{
        "":{"name":"app","version":"1.0.0"},
        "node_modules/ms":{"version":"2.1.3"},
        "node_modules/@s/x":{"version":"1.2.3","license":"MIT"},
        "node_modules/debug/node_modules/ms":{"version":"2.0.0"},
        "node_modules/alias":{"name":"real-name","version":"4.0.0"},
        "node_modules/ws-link":{"resolved":"packages/w","link":true},
        "packages/w":{"name":"w","version":"0.1.0"}}}"#;
    let v1 = r#"{"name":"old","lockfileVersion":1,"dependencies":{
        "left-pad":{"version":"1.3.0","dependencies":{"nested":{"version":"0.0.1"}}},
        "gitdep":{"version":"github:u/r#abc"}}}"#;
    let fs = MemFs::new()
        .with_file("app/package-lock.json", v3)
        .with_file("old/package-lock.json", v1)
        .with_file(
            "app/node_modules/ms/package.json",
            r#"{"name":"ms","version":"2.1.3"}"#,
        );
    let f = run(&fs);
    assert!(f.notes.is_empty(), "{:?}", f.notes);
    assert_eq!(
        installed(&f),
        BTreeSet::from([("ms".to_string(), "2.1.3".to_string())])
    );
    let declared: BTreeSet<(String, String, String)> = f
        .components
        .iter()
        .filter(|c| c.properties.get(PROP_DECLARED).map(String::as_str) == Some("true"))
        .map(|c| (c.name.clone(), c.version.clone(), c.evidence.join(",")))
        .collect();
    let d = |n: &str, v: &str, e: &str| (n.to_string(), v.to_string(), e.to_string());
    assert_eq!(
        declared,
        BTreeSet::from([
            d("@s/x", "1.2.3", "app/package-lock.json"),
            d("ms", "2.0.0", "app/package-lock.json"),
            d("real-name", "4.0.0", "app/package-lock.json"),
            d("left-pad", "1.3.0", "old/package-lock.json"),
            d("nested", "0.0.1", "old/package-lock.json"),
        ])
    );
    let x = f
        .components
        .iter()
        .find(|c| c.name == "@s/x")
        .expect("@s/x");
    assert_eq!(
        x.purl.as_ref().map(ToString::to_string).as_deref(),
        Some("pkg:npm/%40s/x@1.2.3")
    );
}

#[test]
fn yarn_lock_v1() {
    let y = "# THIS IS AN AUTOGENERATED FILE.\n# yarn lockfile v1\n\n\n\"@babel/core@^7.0.0\":\n  version \"7.24.0\"\n  resolved \"https://registry.yarnpkg.com/@babel/core/-/core-7.24.0.tgz\"\n  dependencies:\n    debug \"^4.1.0\"\n\ndebug@^4.1.0, debug@^4.3.1:\n  version \"4.3.4\"\n";
    let fs = MemFs::new().with_file("srv/yarn.lock", y);
    let f = run(&fs);
    let got: BTreeSet<_> = f
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str()))
        .collect();
    assert_eq!(
        got,
        BTreeSet::from([("@babel/core", "7.24.0"), ("debug", "4.3.4")])
    );
}

#[test]
fn malformed_files_become_notes_not_errors() {
    let fs = MemFs::new()
        .with_file("node_modules/broken/package.json", "{ not json")
        .with_file("node_modules/arr/package.json", "[1,2]")
        .with_file(
            "node_modules/noversion/package.json",
            r#"{"name":"noversion"}"#,
        )
        .with_file("node_modules/noname/package.json", r#"{"version":"1.0.0"}"#)
        .with_file(
            "node_modules/@s/noname2/package.json",
            r#"{"name":"","version":"2.0.0"}"#,
        )
        .with_file(
            "node_modules/ok/package.json",
            r#"{"name":"ok","version":"1.0.0"}"#,
        )
        .with_file("app/package-lock.json", "\u{0}garbage")
        .with_file(
            "node_modules/big/package.json",
            vec![b' '; 16 * 1024 * 1024 + 1],
        );
    let f = run(&fs);
    assert_eq!(
        installed(&f),
        BTreeSet::from([
            ("ok".to_string(), "1.0.0".to_string()),
            ("noname".to_string(), "1.0.0".to_string()),
            ("@s/noname2".to_string(), "2.0.0".to_string()),
        ])
    );
    let noted: BTreeSet<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        noted,
        BTreeSet::from([
            "node_modules/broken/package.json",
            "node_modules/arr/package.json",
            "node_modules/noversion/package.json",
            "node_modules/noname/package.json",
            "node_modules/@s/noname2/package.json",
            "app/package-lock.json",
            "node_modules/big/package.json",
        ])
    );
    let nov = f
        .notes
        .iter()
        .find(|(p, _)| p == "node_modules/noversion/package.json")
        .expect("note");
    assert!(
        nov.1.contains("node_modules/noversion/package.json"),
        "{nov:?}"
    );
}

#[cfg(unix)]
#[test]
fn pnpm_symlinks_and_loops_through_the_engine() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let write = |rel: &str, body: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, body).expect("write");
    };
    let store = "app/node_modules/.pnpm";
    write(
        &format!("{store}/foo@1.0.0/node_modules/foo/package.json"),
        r#"{"name":"foo","version":"1.0.0"}"#,
    );
    write(
        &format!("{store}/@s+bar@2.0.0/node_modules/@s/bar/package.json"),
        r#"{"name":"@s/bar","version":"2.0.0"}"#,
    );
    write(
        "app/packages/w/package.json",
        r#"{"name":"w","version":"0.1.0"}"#,
    );
    std::fs::create_dir_all(root.join("app/node_modules/@s")).expect("mkdir");
    symlink(
        ".pnpm/foo@1.0.0/node_modules/foo",
        root.join("app/node_modules/foo"),
    )
    .expect("link");
    symlink(
        "../.pnpm/@s+bar@2.0.0/node_modules/@s/bar",
        root.join("app/node_modules/@s/bar"),
    )
    .expect("link");
    // foo depends on @s/bar: pnpm links it next to foo inside the store.
    std::fs::create_dir_all(root.join(format!("{store}/foo@1.0.0/node_modules/@s")))
        .expect("mkdir");
    symlink(
        "../../../@s+bar@2.0.0/node_modules/@s/bar",
        root.join(format!("{store}/foo@1.0.0/node_modules/@s/bar")),
    )
    .expect("link");
    // A workspace link and a Debian-style self loop (usr/bin/X11 -> .).
    symlink("../packages/w", root.join("app/node_modules/w")).expect("link");
    std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
    symlink(".", root.join("usr/bin/X11")).expect("link");
    write("usr/bin/node", "");
    write("usr/bin/env", "");

    let inv = stella_analyzers::scan_dir(root, "dir:test", &Default::default()).expect("scan");
    let npm: Vec<_> = inv
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Npm)
        .collect();
    let got: BTreeSet<(&str, &str, &str)> = npm
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str(), c.evidence[0].as_str()))
        .collect();
    assert_eq!(npm.len(), 2, "{npm:#?}");
    assert!(inv.warnings.is_empty(), "{:#?}", inv.warnings);
    assert_eq!(
        got,
        BTreeSet::from([
            (
                "foo",
                "1.0.0",
                "app/node_modules/.pnpm/foo@1.0.0/node_modules/foo/package.json"
            ),
            (
                "@s/bar",
                "2.0.0",
                "app/node_modules/.pnpm/@s+bar@2.0.0/node_modules/@s/bar/package.json"
            ),
        ])
    );
}
