//! Scans images built from real Debian packages (samples/build-test-images.sh)
//! through every source kind and checks the result against dpkg-query's view
//! of the same root filesystem — the package manager is the oracle.
//!
//! The images are built by `tests/run.sh` before `cargo test`; set
//! `STELLA_TEST_IMAGES` to reuse a directory built earlier.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/images.rs"]
mod images;
use images::{images_dir_with, stella};

fn images_dir() -> PathBuf {
    images_dir_with(".done")
}

fn scan_json(source: &str, extra: &[&str]) -> Value {
    let mut args = vec!["scan", source, "-o", "json", "-q"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = stella(&args);
    assert_eq!(code, 0, "stella scan {source} failed: {stderr}");
    serde_json::from_str(&stdout).expect("scan output is JSON")
}

/// (name, version, arch) → (source name, source version), from dpkg-query output.
type Packages = BTreeMap<(String, String, String), (String, String)>;

fn oracle(tsv: &Path) -> Packages {
    let text = std::fs::read_to_string(tsv).expect("oracle file");
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            // Only packages whose files are on disk; config-files/not-installed are gone.
            (f.len() == 6 && !matches!(f[3], "config-files" | "not-installed")).then(|| {
                (
                    (f[0].into(), f[1].into(), f[2].into()),
                    (f[4].into(), f[5].into()),
                )
            })
        })
        .collect()
}

fn found(scan: &Value) -> Packages {
    scan["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["kind"] == "deb")
        .map(|c| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                (s(&c["name"]), s(&c["version"]), s(&c["arch"])),
                (s(&c["source"]["name"]), s(&c["source"]["version"])),
            )
        })
        .collect()
}

fn assert_same(expected: &Packages, actual: &Packages, what: &str) {
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(expected, actual, "{what}: source packages differ");
}

#[test]
fn single_layer_debootstrap_matches_dpkg_query() {
    let dir = images_dir();
    let scan = scan_json(&format!("oci-dir:{}:base", dir.join("oci").display()), &[]);
    let expected = oracle(&dir.join("base.dpkg-query.tsv"));
    assert!(
        expected.len() > 80,
        "minbase has ~88 packages, oracle has {}",
        expected.len()
    );
    assert_same(&expected, &found(&scan), "base");
    assert_eq!(scan["distro"]["id"], "debian");
    assert_eq!(scan["distro"]["versionId"], "12");
    for c in scan["components"].as_array().unwrap() {
        assert_eq!(c["layer"], 0, "{c}");
        let purl = c["purl"].as_str().unwrap();
        assert!(
            purl.starts_with(&format!("pkg:deb/debian/{}@", c["name"].as_str().unwrap())),
            "{purl}"
        );
        assert!(purl.contains("distro=debian-12"), "{purl}");
    }
}

#[test]
fn multi_layer_with_purge_matches_dpkg_query_and_attributes_layers() {
    let dir = images_dir();
    let scan = scan_json(&format!("oci-dir:{}:multi", dir.join("oci").display()), &[]);
    let expected = oracle(&dir.join("multi.dpkg-query.tsv"));
    assert_same(&expected, &found(&scan), "multi");
    // The purged package was installed in layer 1 and whited out in layer 2.
    assert!(oracle(&dir.join("multi-1.dpkg-query.tsv"))
        .keys()
        .any(|k| k.0 == "less"));
    assert!(
        !found(&scan).keys().any(|k| k.0 == "less"),
        "purged package reported"
    );

    // Oracle for attribution: present in the base rootfs → layer 0, else the
    // layer that installed it (1).
    let base = oracle(&dir.join("base.dpkg-query.tsv"));
    let layers = scan["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for c in scan["components"].as_array().unwrap() {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let key = (s(&c["name"]), s(&c["version"]), s(&c["arch"]));
        let want = if base.contains_key(&key) { 0 } else { 1 };
        assert_eq!(c["layer"], want, "layer of {key:?}");
        assert_eq!(
            c["layerDiffId"], layers[want as usize]["diffId"],
            "diffID of {key:?}"
        );
        assert_eq!(c["evidence"], serde_json::json!(["var/lib/dpkg/status"]));
    }
}

/// Everything but the source-specific image facts.
fn comparable(scan: &Value) -> (Value, Value, Vec<Value>) {
    let layers = scan["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diffId"].clone())
        .collect();
    (scan["components"].clone(), scan["distro"].clone(), layers)
}

#[test]
fn every_source_kind_gives_the_same_inventory() {
    let dir = images_dir();
    let reference = scan_json(&format!("oci-dir:{}:multi", dir.join("oci").display()), &[]);
    for source in [
        format!("oci-archive:{}", dir.join("multi.oci.tar").display()),
        format!("docker-archive:{}", dir.join("multi.docker.tar").display()),
    ] {
        let scan = scan_json(&source, &[]);
        assert_eq!(
            comparable(&scan),
            comparable(&reference),
            "{source} differs from oci-dir"
        );
        assert_eq!(
            scan["image"]["configDigest"], reference["image"]["configDigest"],
            "{source}"
        );
    }
    // A root filesystem has no layers: same packages, all in the one pseudo-layer.
    let dir_scan = scan_json(&format!("dir:{}", dir.join("multi-rootfs").display()), &[]);
    assert_same(&found(&reference), &found(&dir_scan), "dir: vs oci-dir");
    assert_eq!(dir_scan["distro"], reference["distro"]);
}

#[test]
fn registry_source_matches_oci_dir_on_the_real_distribution_registry() {
    let dir = images_dir();
    let registry = stella_testkit::distribution::Distribution::start(None);
    let dest = format!("docker://{}/stella-test/multi:latest", registry.addr);
    let status = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:multi", dir.join("oci").display()))
        .arg(&dest)
        .status()
        .expect("skopeo (apt-get install skopeo)");
    assert!(status.success(), "skopeo copy to {dest} failed");
    let reference = scan_json(&format!("oci-dir:{}:multi", dir.join("oci").display()), &[]);
    for source in [
        format!("registry:{}/stella-test/multi:latest", registry.addr),
        format!("{}/stella-test/multi:latest", registry.addr),
    ] {
        let scan = scan_json(&source, &[]);
        assert_eq!(comparable(&scan), comparable(&reference), "{source}");
        assert_eq!(
            scan["image"]["manifestDigest"], reference["image"]["manifestDigest"],
            "{source}"
        );
    }
}

#[test]
fn sboms_of_a_real_image_are_deterministic_across_thread_counts() {
    let dir = images_dir();
    let out = tempfile::tempdir().unwrap();
    let source = format!("oci-dir:{}:multi", dir.join("oci").display());
    let mut runs = Vec::new();
    for threads in ["1", "3"] {
        let files: Vec<PathBuf> = ["cdx.json", "spdx.json", "inv.json"]
            .iter()
            .map(|f| out.path().join(format!("{threads}-{f}")))
            .collect();
        let (code, _, stderr) = stella(&[
            "scan",
            &source,
            "-q",
            "--threads",
            threads,
            "-o",
            &format!("cyclonedx-json={}", files[0].display()),
            "-o",
            &format!("spdx-json={}", files[1].display()),
            "-o",
            &format!("json={}", files[2].display()),
        ]);
        assert_eq!(code, 0, "{stderr}");
        runs.push(
            files
                .iter()
                .map(|f| std::fs::read(f).unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(runs[0], runs[1], "outputs differ between --threads 1 and 3");
    let cdx: Value = serde_json::from_slice(&runs[0][0]).unwrap();
    assert_eq!(cdx["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let names: BTreeSet<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains("jq") && !names.contains("less"));
}

#[test]
fn sboms_of_a_real_image_validate_against_the_official_schemas() {
    let dir = images_dir();
    let out = tempfile::tempdir().unwrap();
    let cdx = out.path().join("cdx.json");
    let spdx = out.path().join("spdx.json");
    let (code, _, stderr) = stella(&[
        "scan",
        &format!("oci-dir:{}:multi", dir.join("oci").display()),
        "-q",
        "-o",
        &format!("cyclonedx-json={}", cdx.display()),
        "-o",
        &format!("spdx-json={}", spdx.display()),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/validate.py");
    for (kind, file) in [("cyclonedx", &cdx), ("spdx", &spdx)] {
        let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(&validator)
            .arg(kind)
            .arg(file)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{kind} SBOM of a real image fails validation: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn live_root_filesystem_matches_the_hosts_dpkg_query() {
    // The machine running the tests is Debian: its own dpkg is the oracle.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\t${source:Package}\\t${source:Version}\\n"])
        .output()
        .expect("dpkg-query");
    assert!(out.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let tsv = tmp.path().join("host.tsv");
    std::fs::write(&tsv, &out.stdout).unwrap();
    let scan = scan_json("dir:/", &[]);
    assert_same(&oracle(&tsv), &found(&scan), "dir:/ vs host dpkg-query");
    // Whatever else on a live machine may warn, never the kernel's trees.
    let pseudo: Vec<&Value> = scan["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| {
            w["path"].as_str().is_some_and(|p| {
                ["proc", "sys", "dev"]
                    .iter()
                    .any(|d| p == *d || p.starts_with(&format!("{d}/")))
            })
        })
        .collect();
    assert!(
        pseudo.is_empty(),
        "pseudo-filesystems must be skipped: {pseudo:?}"
    );
    python_distributions_inside_debs_are_reported_once(&scan);
}

/// Debian's own Python distributions (dist-packages) belong to `python3-*`
/// debs: each must appear once, as a language purl on the deb dpkg says owns
/// it; distributions dpkg does not know stay standalone pypi components.
/// Oracle: importlib.metadata for the distributions, `dpkg-query -S` for owners.
fn python_distributions_inside_debs_are_reported_once(scan: &Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pypi_owner_oracle.py");
    let out = Command::new("python3")
        .arg(&script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dists: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let components = scan["components"].as_array().unwrap();
    let mut owned = 0;
    for d in &dists {
        let dir = d["path"].as_str().unwrap().trim_start_matches('/');
        let standalone = components.iter().any(|c| {
            c["kind"] == "pypi"
                && c["evidence"][0]
                    .as_str()
                    .is_some_and(|e| e == dir || e.starts_with(&format!("{dir}/")))
        });
        match d["owner"].as_str() {
            Some(owner) => {
                owned += 1;
                assert!(
                    !standalone,
                    "{dir} belongs to {owner} but is also reported as pypi"
                );
                let purl = format!(
                    "pkg:pypi/{}@{}",
                    d["name"].as_str().unwrap(),
                    d["version"].as_str().unwrap()
                );
                let deb = components
                    .iter()
                    .find(|c| c["kind"] == "deb" && c["name"] == owner)
                    .unwrap_or_else(|| panic!("owner {owner} of {dir} not in the scan"));
                let purls = deb["properties"]["stella:language:purls"]
                    .as_str()
                    .unwrap_or("");
                assert!(
                    purls.split(' ').any(|p| p == purl),
                    "{owner} should carry {purl} (from {dir}); has {purls:?}"
                );
            }
            None => assert!(
                standalone,
                "{dir} is owned by no deb and must be reported as pypi"
            ),
        }
    }
    assert!(
        owned > 0,
        "no dpkg-owned Python distribution on this machine (tests/run.sh installs python3-yaml)"
    );
}

#[test]
fn debian_licenses_match_python_debians_dep5_parser() {
    let dir = images_dir();
    let scan = scan_json(&format!("oci-dir:{}:multi", dir.join("oci").display()), &[]);
    let components = scan["components"].as_array().unwrap();
    let names: Vec<&str> = components
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let oracle_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dep5_oracle.py");
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(&oracle_script)
        .arg(dir.join("multi-rootfs"))
        .args(&names)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python-debian oracle failed (pip install python-debian): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: BTreeMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let mut with_licenses = 0;
    for c in components {
        let name = c["name"].as_str().unwrap();
        let got: Vec<String> = c["licenses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(&got, &expected[name], "licenses of {name}");
        with_licenses += usize::from(!got.is_empty());
    }
    assert!(
        with_licenses > 60,
        "only {with_licenses} packages with licenses"
    );
}

/// The BOM-Index of the real multi-layer image: the independent decoder
/// (`sbom/tests/bom_index_oracle.py`, pyroaring) agrees with the scan's JSON,
/// and `stella index query` finds every package dpkg-query lists in exactly
/// the layers that hold it (base packages: 0..=2; installed in layer 1: 1..=2).
#[test]
fn bom_index_of_the_multi_layer_image_answers_like_dpkg_query() {
    let dir = images_dir();
    let out = tempfile::tempdir().expect("tempdir");
    let json = out.path().join("multi.json");
    let index = out.path().join("multi.bomidx");
    let (code, _, stderr) = stella(&[
        "scan",
        &format!("oci-dir:{}:multi", dir.join("oci").display()),
        "-q",
        "-o",
        &format!("json={}", json.display()),
        "-o",
        &format!("bom-index={}", index.display()),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let check = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/bom_index_oracle.py"))
        .args([
            "check",
            json.to_str().unwrap(),
            index.to_str().unwrap(),
            "1700000000000000",
        ])
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let expected = oracle(&dir.join("multi.dpkg-query.tsv"));
    let base = oracle(&dir.join("base.dpkg-query.tsv"));
    let list = out.path().join("purls.txt");
    let names: BTreeSet<&str> = expected.keys().map(|k| k.0.as_str()).collect();
    let purls: Vec<String> = names
        .iter()
        .map(|n| format!("pkg:deb/debian/{n}"))
        .collect();
    std::fs::write(&list, purls.join("\n")).expect("write");
    let (code, stdout, stderr) = stella(&[
        "index",
        "query",
        "--purl-file",
        list.to_str().unwrap(),
        "-o",
        "json",
        index.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let layer_digests: Vec<Value> = serde_json::from_slice::<Value>(&std::fs::read(&json).unwrap())
        .unwrap()["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].clone())
        .collect();
    for r in report["results"].as_array().unwrap() {
        let name = r["purl"]
            .as_str()
            .unwrap()
            .trim_start_matches("pkg:deb/debian/");
        let matches = r["matches"].as_array().unwrap();
        let want: Vec<&(String, String, String)> =
            expected.keys().filter(|k| k.0 == name).collect();
        assert_eq!(matches.len(), want.len(), "{name}: {matches:?}");
        for (m, key) in matches.iter().zip(want) {
            assert!(
                m["component"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("@{}", key.1)),
                "{name}: {m}"
            );
            let from = if base.contains_key(key) { 0 } else { 1 };
            let layers: Vec<(u64, Value)> = m["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (l["index"].as_u64().unwrap(), l["digest"].clone()))
                .collect();
            let want_layers: Vec<(u64, Value)> = (from..3)
                .map(|i| (i, layer_digests[i as usize].clone()))
                .collect();
            assert_eq!(layers, want_layers, "{name}");
        }
    }
}
