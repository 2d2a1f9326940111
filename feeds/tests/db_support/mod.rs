//! Shared by the feeds DB tests: fixture copies, the Python oracle of
//! (ecosystem, name) → ids, manifest reading with plain serde_json, and
//! what the proxy in front of the real registry saw.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stella_feeds::db::SourceSpec;
use stella_testkit::proxy::Seen;

pub const SOURCES: &[&str] = &[
    "osv-almalinux9",
    "osv-crates",
    "osv-dhi",
    "osv-go",
    "osv-pypi-yaml",
];

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/osv")
        .join(name)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Specs for `dirs` (directories named like the fixture sources).
pub fn specs(dirs: &[PathBuf]) -> Vec<SourceSpec> {
    dirs.iter()
        .map(|d| SourceSpec::parse(&format!("osv:{}", d.display())).unwrap())
        .collect()
}

/// Python's own reading of OSV directories (json and PyYAML): for every
/// (ecosystem, name) of an `affected[].package`, the ids that name it;
/// and the number of documents per directory.
const KEYS_ORACLE: &str = r#"
import json, os, sys, yaml
keys, docs = {}, {}
for root in sys.argv[1:]:
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if f.endswith(".json"):
                d = json.load(open(p, encoding="utf-8"))
            elif f.endswith((".yaml", ".yml")):
                d = yaml.load(open(p, encoding="utf-8"), Loader=yaml.BaseLoader)
            else:
                continue
            n += 1
            for a in d.get("affected") or []:
                k = a["package"]["ecosystem"] + "\t" + a["package"]["name"]
                keys.setdefault(k, set()).add(d["id"])
    docs[os.path.basename(root.rstrip("/"))] = n
json.dump({"keys": {k: sorted(v) for k, v in keys.items()}, "docs": docs}, sys.stdout)
"#;

pub struct Oracle {
    pub keys: BTreeMap<(String, String), BTreeSet<String>>,
    pub docs: BTreeMap<String, usize>,
}

pub fn python_oracle(dirs: &[PathBuf]) -> Oracle {
    let out = Command::new("python3")
        .arg("-c")
        .arg(KEYS_ORACLE)
        .args(dirs)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python oracle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = v["keys"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, ids)| {
            let (e, n) = k.split_once('\t').unwrap();
            let ids = ids
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect();
            ((e.to_string(), n.to_string()), ids)
        })
        .collect();
    let docs = v["docs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap() as usize))
        .collect();
    Oracle { keys, docs }
}

/// Layer title → (digest, size), read from the manifest JSON.
pub fn layers_by_title(manifest: &[u8]) -> BTreeMap<String, (String, u64)> {
    let v: Value = serde_json::from_slice(manifest).unwrap();
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["annotations"]["org.opencontainers.image.title"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                (
                    l["digest"].as_str().unwrap().to_string(),
                    l["size"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

pub fn config_of(manifest: &[u8]) -> (String, u64) {
    let v: Value = serde_json::from_slice(manifest).unwrap();
    (
        v["config"]["digest"].as_str().unwrap().to_string(),
        v["config"]["size"].as_u64().unwrap(),
    )
}

/// Digests of the blob uploads the registry completed (`PUT …?digest=`).
pub fn uploaded(seen: &[Seen]) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.method == "PUT" && s.target.contains("/blobs/uploads/"))
        .filter_map(|s| {
            let q = s.target.split_once('?')?.1;
            q.split('&')
                .find_map(|kv| kv.strip_prefix("digest="))
                .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

/// Digests of the blobs fetched (`GET /v2/…/blobs/sha256:…`).
pub fn fetched(seen: &[Seen]) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.method == "GET")
        .filter_map(|s| {
            let path = s.target.split('?').next()?;
            let (_, d) = path.rsplit_once("/blobs/")?;
            d.starts_with("sha256:").then(|| d.to_string())
        })
        .collect()
}

/// Files under an OCI layout's `blobs/sha256`.
pub fn layout_blobs(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}
