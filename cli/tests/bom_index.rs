//! `stella scan -o bom-index=FILE` and `stella index query`, on OCI layouts
//! built here and scanned by the real binary. The index is checked by the
//! independent Python decoder (`sbom/tests/bom_index_oracle.py`, pyroaring)
//! against the scan's own JSON inventory; query answers are checked against
//! what those inventories say, matched here by a separate, simple rule.

#[path = "support/oci.rs"]
mod oci;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci::{dpkg_status, stderr, stella, Layout, Tar, DEBIAN_OS_RELEASE};
use serde_json::Value;

fn base_layer() -> Vec<u8> {
    Tar::new()
        .dir("etc")
        .file("etc/os-release", DEBIAN_OS_RELEASE.as_bytes())
        .dir("var/lib/dpkg")
        .file(
            "var/lib/dpkg/status",
            dpkg_status(&[("base-files", "12.4"), ("libc6", "2.36-9")]).as_bytes(),
        )
        .finish()
}

fn npm_layer(pkgs: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = Tar::new();
    tar.dir("app").dir("app/node_modules");
    for (name, version) in pkgs {
        tar.dir(&format!("app/node_modules/{name}")).file(
            &format!("app/node_modules/{name}/package.json"),
            format!(r#"{{"name":"{name}","version":"{version}"}}"#).as_bytes(),
        );
    }
    tar.finish()
}

fn dpkg_layer(pkgs: &[(&str, &str)]) -> Vec<u8> {
    Tar::new()
        .dir("var/lib/dpkg")
        .file("var/lib/dpkg/status", dpkg_status(pkgs).as_bytes())
        .finish()
}

/// Scans `layers` as one image; writes `NAME.json` and `NAME.bomidx` into
/// `out`. Returns the inventory.
fn scan_image(
    work: &Path,
    out: &Path,
    name: &str,
    layers: &[Vec<u8>],
    epoch: Option<&str>,
) -> Value {
    let (layout, _, _) = Layout::simple(&work.join(name), layers);
    let json = out.join(format!("{name}.json"));
    let index = out.join(format!("{name}.bomidx"));
    let mut cmd = stella();
    cmd.arg("scan")
        .arg(layout.source())
        .arg("-q")
        .arg("-o")
        .arg(format!("json={}", json.display()))
        .arg("-o")
        .arg(format!("bom-index={}", index.display()));
    match epoch {
        Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
        None => cmd.env_remove("SOURCE_DATE_EPOCH"),
    };
    let run = cmd.output().expect("run stella");
    assert!(run.status.success(), "scan failed: {}", stderr(&run));
    serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("inventory JSON")
}

fn oracle_check(json: &Path, index: &Path, generated_at_us: i64) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/bom_index_oracle.py");
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(script)
        .arg("check")
        .arg(json)
        .arg(index)
        .arg(generated_at_us.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "oracle disagrees with {}:\n{}{}\n(needs: pip install pyroaring)",
        index.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn query(args: &[&str], targets: &[&Path]) -> Output {
    stella()
        .args(["index", "query"])
        .args(args)
        .args(targets)
        .output()
        .expect("run stella")
}

struct Fleet {
    _work: tempfile::TempDir,
    dir: PathBuf,
    inventories: Vec<(String, Value)>,
}

/// Two images sharing a base layer: `a` adds npm packages; `b` adds curl,
/// then an older lodash.
fn fleet() -> Fleet {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("indexes");
    std::fs::create_dir_all(dir.join("nested")).expect("mkdir");
    let a = scan_image(
        work.path(),
        &dir,
        "a",
        &[
            base_layer(),
            npm_layer(&[("lodash", "4.17.21"), ("ms", "2.1.3")]),
        ],
        Some("1700000000"),
    );
    let b = scan_image(
        work.path(),
        &dir.join("nested"),
        "b",
        &[
            base_layer(),
            dpkg_layer(&[
                ("base-files", "12.4"),
                ("libc6", "2.36-9"),
                ("curl", "7.88.1"),
            ]),
            npm_layer(&[("lodash", "4.17.20")]),
        ],
        Some("1700000000"),
    );
    let inventories = vec![
        (dir.join("a.bomidx").display().to_string(), a),
        (dir.join("nested/b.bomidx").display().to_string(), b),
    ];
    Fleet {
        _work: work,
        dir,
        inventories,
    }
}

#[test]
fn scan_writes_an_index_the_oracle_accepts() {
    let f = fleet();
    oracle_check(
        &f.dir.join("a.json"),
        &f.dir.join("a.bomidx"),
        1_700_000_000_000_000,
    );
    oracle_check(
        &f.dir.join("nested/b.json"),
        &f.dir.join("nested/b.bomidx"),
        1_700_000_000_000_000,
    );
    // Without SOURCE_DATE_EPOCH: the config's `created`, 2024-01-02T03:04:05Z.
    let work = tempfile::tempdir().expect("tempdir");
    scan_image(work.path(), work.path(), "c", &[base_layer()], None);
    oracle_check(
        &work.path().join("c.json"),
        &work.path().join("c.bomidx"),
        1_704_164_645_000_000,
    );
    // Same image, same bytes.
    let again = tempfile::tempdir().expect("tempdir");
    scan_image(again.path(), again.path(), "c", &[base_layer()], None);
    assert_eq!(
        std::fs::read(work.path().join("c.bomidx")).expect("read"),
        std::fs::read(again.path().join("c.bomidx")).expect("read")
    );
}

/// (image, component, [(layer index, layer digest)]) for every match.
type Answer = BTreeSet<(String, String, Vec<(u64, String)>)>;

/// What the inventories say for a purl query, by a rule written for the
/// test: strip the qualifiers; a versionless query compares the part before
/// '@', a versioned one the whole.
fn expected(inventories: &[(String, Value)], q: &str) -> Answer {
    let mut out = BTreeSet::new();
    for (image, inv) in inventories {
        let layers = inv["layers"].as_array().expect("layers");
        for c in inv["components"].as_array().expect("components") {
            let Some(purl) = c["purl"].as_str() else {
                continue;
            };
            let bare = purl.split('?').next().unwrap_or(purl);
            let hit = if q.contains('@') {
                bare == q
            } else {
                bare.split('@').next() == Some(q)
            };
            if hit {
                let from = c["layer"].as_u64().expect("attributed");
                let held = (from..layers.len() as u64)
                    .map(|i| {
                        (
                            i,
                            layers[i as usize]["digest"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect();
                out.insert((image.clone(), purl.to_string(), held));
            }
        }
    }
    out
}

fn answered(report: &Value, q: &str) -> Answer {
    let result = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["purl"] == q)
        .unwrap_or_else(|| panic!("no result for {q}: {report}"));
    result["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["image"].as_str().expect("image").to_string(),
                m["component"].as_str().expect("component").to_string(),
                m["layers"]
                    .as_array()
                    .expect("layers")
                    .iter()
                    .map(|l| {
                        (
                            l["index"].as_u64().expect("index"),
                            l["digest"].as_str().expect("digest").to_string(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn query_answers_what_the_inventories_say() {
    let f = fleet();
    let purls = [
        "pkg:npm/lodash",
        "pkg:npm/lodash@4.17.20",
        "pkg:npm/ms@2.1.3",
        "pkg:deb/debian/libc6@2.36-9",
        "pkg:deb/debian/curl",
        "pkg:npm/absent",
    ];
    let mut args: Vec<&str> = Vec::new();
    for p in &purls {
        args.extend(["--purl", p]);
    }
    args.extend(["-o", "json"]);
    let out = query(&args, &[&f.dir]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["images"], 2);
    for p in purls {
        let want = expected(&f.inventories, p);
        assert_eq!(answered(&report, p), want, "{p}");
        if p == "pkg:npm/absent" {
            assert!(want.is_empty());
        } else {
            assert!(!want.is_empty(), "{p} should be in the fleet");
        }
    }
    // Results come sorted by purl; the same query twice gives the same bytes.
    let order: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["purl"].as_str().expect("purl"))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(query(&args, &[&f.dir]).stdout, out.stdout);

    // The same from a purl file, with the files named one by one, and a
    // spelling that normalizes to the same query.
    let list = f.dir.join("purls.txt");
    std::fs::write(&list, "# fleet check\n\npkg:npm/ms@2.1.3\nPKG:NPM/lodash\n").expect("write");
    let out = query(
        &["--purl-file", list.to_str().unwrap(), "-o", "json"],
        &[&f.dir.join("a.bomidx"), &f.dir.join("nested/b.bomidx")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        answered(&report, "pkg:npm/lodash"),
        expected(&f.inventories, "pkg:npm/lodash")
    );
    assert_eq!(report["results"].as_array().expect("results").len(), 2);

    // The table names the image and the layer range.
    let out = query(&["--purl", "pkg:deb/debian/curl"], &[&f.dir]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("nested/b.bomidx"), "{table}");
    assert!(table.contains("#1-#2 sha256:"), "{table}");
    assert!(
        table.contains("1 of 1 purl(s) found; 2 image(s) searched"),
        "{table}"
    );
}

#[test]
fn exit_codes() {
    let f = fleet();
    // Nothing found: 3, and the answer still printed.
    let out = query(&["--purl", "pkg:npm/absent", "-o", "json"], &[&f.dir]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["results"][0]["found"], false);
    // No purl at all: usage error.
    assert_eq!(query(&[], &[&f.dir]).status.code(), Some(64));
    // A bad purl, a missing target, an unsupported target kind: 1.
    for (args, target, needle) in [
        (
            ["--purl", "npm/lodash"],
            f.dir.clone(),
            "does not start with pkg:",
        ),
        (
            ["--purl", "pkg:npm/x"],
            f.dir.join("missing.bomidx"),
            "missing.bomidx",
        ),
        (
            ["--purl", "pkg:npm/x"],
            PathBuf::from("oci-archive:/x.tar"),
            "holds no referrers",
        ),
        // A layout that does not exist is an error, and is not created.
        (
            ["--purl", "pkg:npm/x"],
            PathBuf::from(format!("oci-dir:{}", f.dir.join("no-layout").display())),
            "no-layout",
        ),
    ] {
        let out = query(&args, &[&target]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
    assert!(
        !f.dir.join("no-layout").exists(),
        "a query created a layout"
    );
    // A corrupt index in the directory: 1, naming the file and the offset.
    let mut bytes = std::fs::read(f.dir.join("a.bomidx")).expect("read");
    bytes.truncate(bytes.len() - 3);
    std::fs::write(f.dir.join("nested/broken.bomidx"), &bytes).expect("write");
    let out = query(&["--purl", "pkg:npm/lodash"], &[&f.dir]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("broken.bomidx") && err.contains("truncated at offset"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // bom-index is binary: never to stdout.
    let out = stella()
        .args(["scan", "dir:/nonexistent", "-o", "bom-index"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
}
