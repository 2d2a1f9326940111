//! The advisory DB as an OCI artifact, end to end on real parts: built
//! from the OSV fixtures, pushed to an OCI layout and to the CNCF
//! distribution registry (through a loopback proxy that logs what crosses
//! the wire), pulled into a cache, looked up.
//!
//! Oracles: Python's json/PyYAML reading of the same files for which ids
//! each (ecosystem, name) must return; the connector's own import for the
//! full records (the connector is checked against Python in
//! osv_corpus.rs); the proxy's request log and the layout's blob files for
//! what was uploaded and downloaded; oras and the zstd CLI for "a normal
//! OCI artifact".

mod db_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use db_support::*;
use serde_json::Value;
use stella_feeds::connector::import_osv;
use stella_feeds::db::{build, pull, push, BuildOptions, FeedDb, ARTIFACT_TYPE};
use stella_model::Advisory;
use stella_registry_store::{open_target, ArtifactStore, ManifestRef, StoreOptions};
use stella_testkit::distribution::Distribution;
use stella_testkit::proxy::Proxy;

fn opts(threads: usize) -> BuildOptions {
    BuildOptions { threads }
}

fn store(spec: &str) -> Box<dyn ArtifactStore> {
    open_target(spec, &StoreOptions::default()).unwrap().store
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::tag(t).unwrap()
}

fn sort_key(a: &Advisory) -> (String, String, String) {
    (
        a.provenance
            .first()
            .map(|p| p.source.clone())
            .unwrap_or_default(),
        a.id.clone(),
        serde_json::to_string(a).unwrap(),
    )
}

/// Every key of the oracle returns exactly the imported advisories that
/// name it (full records), and the ids Python finds; the DB has no other
/// keys; misses are empty.
fn check_lookups(db: &FeedDb, dirs: &[PathBuf]) {
    let oracle = python_oracle(dirs);
    let mut imported: Vec<Advisory> = Vec::new();
    for d in dirs {
        let name = format!("osv/{}", d.file_name().unwrap().to_string_lossy());
        let import = import_osv(d, &name).unwrap();
        assert!(import.quarantined.is_empty(), "{:?}", import.quarantined);
        imported.extend(import.advisories);
    }
    let db_keys: BTreeSet<(String, String)> = db.keys().into_iter().collect();
    let oracle_keys: BTreeSet<(String, String)> = oracle.keys.keys().cloned().collect();
    assert_eq!(db_keys, oracle_keys, "the DB's keys");
    for ((eco, name), ids) in &oracle.keys {
        let mut got = db.lookup(eco, name).unwrap();
        let got_ids: BTreeSet<String> = got.iter().map(|a| a.id.clone()).collect();
        assert_eq!(&got_ids, ids, "ids for ({eco}, {name})");
        let mut full = db.lookup_full(eco, name).unwrap();
        let mut want: Vec<Advisory> = imported
            .iter()
            .filter(|a| {
                a.affected
                    .iter()
                    .any(|p| &p.ecosystem == eco && &p.name == name)
            })
            .cloned()
            .collect();
        full.sort_by_key(sort_key);
        want.sort_by_key(sort_key);
        assert_eq!(full, want, "whole records for ({eco}, {name})");
        // `lookup`: the same, affected narrowed to this package's entries.
        for a in &mut want {
            a.affected
                .retain(|p| &p.ecosystem == eco && &p.name == name);
        }
        got.sort_by_key(sort_key);
        want.sort_by_key(sort_key);
        assert_eq!(got, want, "records for ({eco}, {name})");
    }
    assert!(db
        .lookup("PyPI", "no-such-package-stella")
        .unwrap()
        .is_empty());
    assert!(db.lookup("NoSuchEcosystem", "requests").unwrap().is_empty());
    let (eco, name) = oracle_keys.iter().next().unwrap();
    assert!(db.lookup(&eco.to_lowercase(), name).unwrap().is_empty() || eco == &eco.to_lowercase());
    let meta = db.metadata();
    for s in &meta.sources {
        let dir = s.name.strip_prefix("osv/").unwrap();
        assert_eq!(s.advisories, oracle.docs[dir], "advisories of {}", s.name);
        assert_eq!(s.quarantined, 0);
    }
}

fn fixture_dirs() -> Vec<PathBuf> {
    SOURCES.iter().map(|s| fixture(s)).collect()
}

#[test]
fn roundtrip_through_layout_and_registry() {
    let dirs = fixture_dirs();
    let db = build(&specs(&dirs), &opts(2)).unwrap();
    let work = tempfile::tempdir().unwrap();

    let layout = work.path().join("layout");
    let report = push(
        store(&format!("oci-dir:{}", layout.display())).as_ref(),
        &db,
        "v1",
    )
    .unwrap();
    assert_eq!(report.reused.len(), 0);
    assert_eq!(report.uploaded.len(), db.shards.len() + 1);
    let cache = work.path().join("cache-layout");
    let s = store(&format!("oci-dir:{}", layout.display()));
    let pulled = pull(s.as_ref(), &tag("v1"), &cache).unwrap();
    assert_eq!(pulled.manifest_digest, report.manifest_digest);
    assert_eq!(pulled.downloaded.len(), db.shards.len() + 1);
    check_lookups(&FeedDb::open(&cache).unwrap(), &dirs);

    let registry = Distribution::start(None);
    let remote = format!("registry:{}/stella/feeds:v1", registry.addr);
    let report2 = push(store(&remote).as_ref(), &db, "v1").unwrap();
    assert_eq!(report2.manifest_digest, report.manifest_digest);
    let cache2 = work.path().join("cache-registry");
    let pulled = pull(store(&remote).as_ref(), &tag("v1"), &cache2).unwrap();
    assert_eq!(pulled.manifest_digest, report.manifest_digest);
    check_lookups(&FeedDb::open(&cache2).unwrap(), &dirs);

    // Pulling again downloads nothing.
    let again = pull(store(&remote).as_ref(), &tag("v1"), &cache2).unwrap();
    assert!(again.downloaded.is_empty());
    assert_eq!(again.cached.len(), db.shards.len() + 1);
}

#[test]
fn same_input_same_bytes() {
    let dirs = fixture_dirs();
    let one = build(&specs(&dirs), &opts(1)).unwrap();
    let four = build(&specs(&dirs), &opts(4)).unwrap();
    // The same trees elsewhere, listed in another order.
    let work = tempfile::tempdir().unwrap();
    let moved: Vec<PathBuf> = SOURCES
        .iter()
        .rev()
        .map(|s| {
            let d = work.path().join("elsewhere").join(s);
            copy_tree(&fixture(s), &d);
            d
        })
        .collect();
    let elsewhere = build(&specs(&moved), &opts(3)).unwrap();
    for other in [&four, &elsewhere] {
        assert_eq!(one.manifest().unwrap(), other.manifest().unwrap());
        assert_eq!(one.config, other.config);
        assert_eq!(one.shards.len(), other.shards.len());
        for (a, b) in one.shards.iter().zip(&other.shards) {
            assert_eq!(a.data, b.data, "shard {}", a.entry.name);
        }
    }
    // One shard per (source, ecosystem family), named after both.
    let names: Vec<&str> = one.shards.iter().map(|s| s.entry.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "osv.osv-almalinux9.AlmaLinux.jsonl.zst",
            "osv.osv-crates.crates.io.jsonl.zst",
            "osv.osv-dhi.DHI.jsonl.zst",
            "osv.osv-go.Go.jsonl.zst",
            "osv.osv-pypi-yaml.PyPI.jsonl.zst",
        ]
    );
    // Shards decompress (zstd CLI) to JSON Lines sorted by id.
    for s in &one.shards {
        let plain = zstd_cli(&s.data);
        let ids: Vec<String> = plain
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "{} sorted by id", s.entry.name);
        assert_eq!(ids.len(), s.entry.advisories);
    }
}

fn zstd_cli(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.zst");
    std::fs::write(&f, data).unwrap();
    let out = Command::new("zstd")
        .args(["-dc", f.to_str().unwrap()])
        .output()
        .expect("zstd CLI (apt-get install zstd)");
    assert!(out.status.success(), "zstd -dc");
    String::from_utf8(out.stdout).unwrap()
}

/// The sources of the delta cycle, copied so they can be changed; DHI,
/// AlmaLinux and PyPI stay as they are.
struct DeltaSources {
    dirs: Vec<PathBuf>,
    added: PathBuf,
    removed: (PathBuf, Vec<u8>, String),
    changed: (PathBuf, Vec<u8>, String),
}

const ADDED_ID: &str = "GO-2099-9999";
const ADDED_PKG: &str = "example.com/stella/added";

impl DeltaSources {
    fn new(root: &Path) -> DeltaSources {
        let dirs: Vec<PathBuf> = SOURCES
            .iter()
            .map(|s| {
                let d = root.join(s);
                copy_tree(&fixture(s), &d);
                d
            })
            .collect();
        let first = |dir: &Path| {
            let mut files: Vec<PathBuf> = walk(dir);
            files.sort();
            files.remove(0)
        };
        let removed = first(&root.join("osv-crates"));
        let changed = first(&root.join("osv-dhi"));
        let id_of = |p: &Path| {
            serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        DeltaSources {
            added: root.join("osv-go").join("GO-2099-9999.json"),
            removed: (
                removed.clone(),
                std::fs::read(&removed).unwrap(),
                id_of(&removed),
            ),
            changed: (
                changed.clone(),
                std::fs::read(&changed).unwrap(),
                id_of(&changed),
            ),
            dirs,
        }
    }

    /// Adds a Go record, removes a crates.io one, changes a DHI one.
    fn change(&self) {
        let mut go: Value =
            serde_json::from_slice(&std::fs::read(first_file(&fixture("osv-go"))).unwrap())
                .unwrap();
        go["id"] = ADDED_ID.into();
        go["aliases"] = Value::Array(Vec::new());
        go["affected"][0]["package"]["name"] = ADDED_PKG.into();
        std::fs::write(&self.added, serde_json::to_vec_pretty(&go).unwrap()).unwrap();
        std::fs::remove_file(&self.removed.0).unwrap();
        let mut dhi: Value = serde_json::from_slice(&self.changed.1).unwrap();
        dhi["summary"] = "changed by the delta test".into();
        std::fs::write(&self.changed.0, serde_json::to_vec_pretty(&dhi).unwrap()).unwrap();
    }

    fn revert(&self) {
        std::fs::remove_file(&self.added).unwrap();
        std::fs::write(&self.removed.0, &self.removed.1).unwrap();
        std::fs::write(&self.changed.0, &self.changed.1).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out
}

fn first_file(dir: &Path) -> PathBuf {
    let mut files = walk(dir);
    files.sort();
    files.remove(0)
}

const CHANGED_SHARDS: &[&str] = &[
    "osv.osv-crates.crates.io.jsonl.zst",
    "osv.osv-dhi.DHI.jsonl.zst",
    "osv.osv-go.Go.jsonl.zst",
];

#[test]
fn delta_cycle_uploads_and_downloads_only_changed_shards() {
    let work = tempfile::tempdir().unwrap();
    let src = DeltaSources::new(&work.path().join("src"));
    let registry = Distribution::start(None);
    let proxy = Proxy::start(&registry.addr);
    let remote = format!("registry:{}/stella/feeds:latest", proxy.addr);
    let layout = work.path().join("layout");
    let layout_spec = format!("oci-dir:{}", layout.display());
    let cache = work.path().join("cache");
    let registry_store = store(&remote);
    let layout_store = store(&layout_spec);

    // Full build.
    let v1 = build(&specs(&src.dirs), &opts(2)).unwrap();
    let m1 = v1.manifest().unwrap();
    let r1 = push(registry_store.as_ref(), &v1, "latest").unwrap();
    push(layout_store.as_ref(), &v1, "latest").unwrap();
    let layers1 = layers_by_title(&m1);
    assert_eq!(
        uploaded(&proxy.seen()),
        layers1
            .values()
            .map(|l| l.0.clone())
            .chain([config_of(&m1).0])
            .collect()
    );
    pull(registry_store.as_ref(), &tag("latest"), &cache).unwrap();
    let before_delta = FeedDb::open(&cache).unwrap();
    assert!(before_delta.lookup("Go", ADDED_PKG).unwrap().is_empty());

    // Delta: one record added, one removed, one changed.
    src.change();
    let v2 = build(&specs(&src.dirs), &opts(2)).unwrap();
    let m2 = v2.manifest().unwrap();
    let layers2 = layers_by_title(&m2);
    assert_eq!(
        layers1.keys().collect::<Vec<_>>(),
        layers2.keys().collect::<Vec<_>>()
    );
    for (title, layer) in &layers2 {
        if CHANGED_SHARDS.contains(&title.as_str()) {
            assert_ne!(layer, &layers1[title], "{title} changed");
        } else {
            assert_eq!(layer, &layers1[title], "{title} unchanged, same digest");
        }
    }
    let changed: BTreeSet<String> = CHANGED_SHARDS
        .iter()
        .map(|t| layers2[*t].0.clone())
        .chain([config_of(&m2).0])
        .collect();
    let changed_bytes: u64 =
        CHANGED_SHARDS.iter().map(|t| layers2[*t].1).sum::<u64>() + config_of(&m2).1;

    proxy.clear_log();
    let r2 = push(registry_store.as_ref(), &v2, "latest").unwrap();
    assert_eq!(
        uploaded(&proxy.seen()),
        changed,
        "blobs the registry received"
    );
    let reported: BTreeSet<String> = r2.uploaded.iter().map(|b| b.digest.clone()).collect();
    assert_eq!(reported, changed, "blobs the report names");
    assert_eq!(r2.uploaded_bytes(), changed_bytes);
    assert_eq!(r2.uploaded_layers(), CHANGED_SHARDS.len());
    assert_eq!(r2.reused.len(), layers2.len() - CHANGED_SHARDS.len());

    let files_before = layout_blobs(&layout);
    push(layout_store.as_ref(), &v2, "latest").unwrap();
    let new_files: BTreeSet<String> = layout_blobs(&layout)
        .difference(&files_before)
        .cloned()
        .collect();
    let mut want_files = changed.clone();
    want_files.insert(format!("sha256:{}", sha256_hex(&m2)));
    assert_eq!(new_files, want_files, "new blob files in the layout");

    // Pull: only the changed layers (and config) cross the wire.
    proxy.clear_log();
    let p2 = pull(registry_store.as_ref(), &tag("latest"), &cache).unwrap();
    assert_eq!(fetched(&proxy.seen()), changed, "blobs fetched by the pull");
    assert_eq!(p2.downloaded.len(), changed.len());
    let db = FeedDb::open(&cache).unwrap();
    let added = db.lookup("Go", ADDED_PKG).unwrap();
    assert_eq!(
        added.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [ADDED_ID]
    );
    let all_ids = |db: &FeedDb| -> BTreeSet<String> {
        db.keys()
            .iter()
            .flat_map(|(e, n)| db.lookup(e, n).unwrap())
            .map(|a| a.id)
            .collect()
    };
    assert!(all_ids(&before_delta).contains(&src.removed.2));
    assert!(
        !all_ids(&db).contains(&src.removed.2),
        "removed record gone"
    );
    let changed_summaries: Vec<Option<String>> = db
        .keys()
        .iter()
        .filter(|(e, _)| e == "DHI")
        .flat_map(|(e, n)| db.lookup(e, n).unwrap())
        .filter(|a| a.id == src.changed.2)
        .map(|a| a.summary)
        .collect();
    assert!(!changed_summaries.is_empty());
    assert!(changed_summaries
        .iter()
        .all(|s| s.as_deref() == Some("changed by the delta test")));
    check_lookups(&db, &src.dirs);

    // Revert: the original artifact again, nothing new to send.
    src.revert();
    let v3 = build(&specs(&src.dirs), &opts(1)).unwrap();
    assert_eq!(v3.manifest().unwrap(), m1, "back to the original bytes");
    proxy.clear_log();
    let r3 = push(registry_store.as_ref(), &v3, "latest").unwrap();
    assert_eq!(r3.manifest_digest, r1.manifest_digest);
    assert!(uploaded(&proxy.seen()).is_empty(), "nothing re-uploaded");
    assert!(r3.uploaded.is_empty());
    let files_before = layout_blobs(&layout);
    push(layout_store.as_ref(), &v3, "latest").unwrap();
    assert_eq!(layout_blobs(&layout), files_before);
    proxy.clear_log();
    let p3 = pull(registry_store.as_ref(), &tag("latest"), &cache).unwrap();
    assert!(fetched(&proxy.seen()).is_empty(), "all blobs were cached");
    assert!(p3.downloaded.is_empty());
    assert_eq!(p3.manifest_digest, r1.manifest_digest);
    check_lookups(&FeedDb::open(&cache).unwrap(), &src.dirs);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn run_oras(oras: &Path, args: &[&str]) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, Path::new("."))
}

#[test]
fn oras_reads_the_artifact() {
    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    let dirs = fixture_dirs();
    let db = build(&specs(&dirs), &opts(2)).unwrap();
    let registry = Distribution::start(None);
    let report = push(
        store(&format!("registry:{}/stella/feeds:v1", registry.addr)).as_ref(),
        &db,
        "v1",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let reference = format!("{}/stella/feeds:v1", registry.addr);

    let manifest = run_oras(&oras, &["manifest", "fetch", "--plain-http", &reference]);
    assert_eq!(sha256_hex(&manifest), report.manifest_digest[7..]);
    let v: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(v["artifactType"], "application/vnd.stellaops.feeds.v1");
    assert_eq!(v["artifactType"], ARTIFACT_TYPE);
    assert_eq!(
        v["config"]["mediaType"],
        "application/vnd.stellaops.feeds.config.v1+json"
    );

    let out = work.path().join("pulled");
    std::fs::create_dir(&out).unwrap();
    run_oras(
        &oras,
        &[
            "pull",
            "--plain-http",
            "-o",
            out.to_str().unwrap(),
            &reference,
        ],
    );
    let oracle = python_oracle(&dirs);
    let want_ids: BTreeSet<String> = oracle.keys.values().flatten().cloned().collect();
    let mut got_ids = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        files += 1;
        for line in zstd_cli(&std::fs::read(&path).unwrap()).lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            got_ids.insert(v["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(files, db.shards.len(), "one file per shard, by title");
    assert_eq!(got_ids, want_ids, "every record, read by oras + zstd");

    // The same artifact in an OCI layout reads the same.
    let layout = work.path().join("layout");
    push(
        store(&format!("oci-dir:{}", layout.display())).as_ref(),
        &db,
        "v1",
    )
    .unwrap();
    let from_layout = run_oras(
        &oras,
        &[
            "manifest",
            "fetch",
            "--oci-layout",
            &format!("{}:v1", layout.display()),
        ],
    );
    assert_eq!(from_layout, manifest);
}

#[test]
fn sources_report_input_digests_and_quarantine() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("mixed");
    copy_tree(&fixture("osv-go"), &dir);
    let db1 = build(&specs(std::slice::from_ref(&dir)), &opts(1)).unwrap();
    std::fs::write(dir.join("broken.json"), b"{not json").unwrap();
    std::fs::write(dir.join("README.md"), b"readme").unwrap();
    let db2 = build(&specs(std::slice::from_ref(&dir)), &opts(1)).unwrap();
    let (s1, s2) = (&db1.metadata.sources[0], &db2.metadata.sources[0]);
    assert_eq!(s2.name, "osv/mixed");
    assert_eq!((s2.quarantined, s2.ignored), (1, 1));
    assert_eq!(s2.advisories, s1.advisories);
    assert_ne!(s1.input_digest, s2.input_digest);
    assert_eq!(db2.quarantined.len(), 1);
    assert_eq!(db2.quarantined[0].1.path, "broken.json");
    // The shard is the same: quarantine changes metadata only.
    assert_eq!(db1.shards[0].data, db2.shards[0].data);
    let meta: Value = serde_json::from_slice(&db2.config).unwrap();
    assert_eq!(meta["sources"][0]["quarantined"], 1);
    assert_eq!(meta["schemaVersion"], 1);
}
