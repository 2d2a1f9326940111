//! Bad feeds artifacts: tampered and truncated layers (a hostile registry:
//! the loopback proxy corrupting the real registry's answers), damaged
//! layout blobs, malformed or lying metadata, a foreign artifact type.
//! Every one is refused with an error that names the digest, and the cache
//! keeps the DB it had: no half-written state.

mod db_support;

use std::path::Path;

use db_support::*;
use serde_json::{json, Value};
use stella_feeds::db::{build, pull, push, BuildOptions, BuiltDb, FeedDb, FeedMetadata};
use stella_model::Digest;
use stella_registry_store::oci::MEDIA_OCI_MANIFEST;
use stella_registry_store::{open_target, ArtifactStore, ManifestRef, StoreOptions};
use stella_testkit::distribution::Distribution;
use stella_testkit::proxy::{Fault, Proxy, Rule};

fn store(spec: &str) -> Box<dyn ArtifactStore> {
    open_target(spec, &StoreOptions::default()).unwrap().store
}

fn tag(t: &str) -> ManifestRef {
    ManifestRef::tag(t).unwrap()
}

fn small_db(dirs: &[&str]) -> BuiltDb {
    let dirs: Vec<_> = dirs.iter().map(|d| fixture(d)).collect();
    build(&specs(&dirs), &BuildOptions { threads: 1 }).unwrap()
}

/// The cache's state: `current` and the DB directories.
fn cache_state(cache: &Path) -> (Option<String>, Vec<String>) {
    let current = std::fs::read_to_string(cache.join("current")).ok();
    let mut dbs: Vec<String> = std::fs::read_dir(cache.join("db"))
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    dbs.sort();
    (current, dbs)
}

#[test]
fn tampered_or_truncated_layers_are_refused_and_the_cache_kept() {
    let registry = Distribution::start(None);
    let proxy = Proxy::start(&registry.addr);
    let remote = store(&format!("registry:{}/stella/feeds:v1", proxy.addr));
    let v1 = small_db(&["osv-crates", "osv-go"]);
    let v2 = small_db(&["osv-crates", "osv-go", "osv-dhi"]);
    push(remote.as_ref(), &v1, "v1").unwrap();
    push(remote.as_ref(), &v2, "v2").unwrap();
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let p1 = pull(remote.as_ref(), &tag("v1"), &cache).unwrap();
    let state = cache_state(&cache);
    assert_eq!(
        state.0.as_deref(),
        Some(format!("{}\n", p1.manifest_digest).as_str())
    );

    // The layer v2 adds (DHI) is the one fetched: tamper with it.
    let dhi = v2
        .shards
        .iter()
        .find(|s| s.entry.family == "DHI")
        .unwrap()
        .entry
        .digest
        .clone();
    for fault in [Fault::CorruptBody, Fault::TruncateBody] {
        proxy.clear();
        proxy.add(Rule::new(fault.clone()).method("GET").suffix(&dhi));
        let err = pull(remote.as_ref(), &tag("v2"), &cache).unwrap_err();
        assert!(err.to_string().contains(&dhi[7..]), "{fault:?}: {err}");
        assert!(proxy.faults_applied() > 0);
        assert_eq!(cache_state(&cache), state, "{fault:?}: cache unchanged");
        assert!(!cache.join("blobs/sha256").join(&dhi[7..]).exists());
        let db = FeedDb::open(&cache).unwrap();
        assert_eq!(db.metadata(), &v1.metadata, "still the v1 DB");
    }
    proxy.clear();
    let p2 = pull(remote.as_ref(), &tag("v2"), &cache).unwrap();
    // The config came (verified) with the failed attempts; only the layer is left.
    assert_eq!(
        p2.downloaded
            .iter()
            .map(|b| b.digest.as_str())
            .collect::<Vec<_>>(),
        [dhi.as_str()]
    );
    assert_eq!(FeedDb::open(&cache).unwrap().metadata(), &v2.metadata);

    // A damaged blob in the cache is fetched again, not trusted.
    let cached = cache.join("blobs/sha256").join(&dhi[7..]);
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&cached, bytes).unwrap();
    std::fs::remove_file(cache.join("current")).unwrap();
    std::fs::remove_dir_all(cache.join("db")).unwrap();
    let again = pull(remote.as_ref(), &tag("v2"), &cache).unwrap();
    assert_eq!(
        again
            .downloaded
            .iter()
            .map(|b| b.digest.as_str())
            .collect::<Vec<_>>(),
        [dhi.as_str()]
    );
    assert!(FeedDb::open(&cache).is_ok());
}

#[test]
fn damaged_layout_blob_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let db = small_db(&["osv-crates"]);
    push(
        store(&format!("oci-dir:{}", layout.display())).as_ref(),
        &db,
        "v1",
    )
    .unwrap();
    let digest = &db.shards[0].entry.digest;
    let blob = layout.join("blobs/sha256").join(&digest[7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let len = bytes.len();
    bytes[len / 2] ^= 0x01;
    std::fs::write(&blob, &bytes).unwrap();
    let cache = work.path().join("cache");
    let err = pull(
        store(&format!("oci-dir:{}", layout.display())).as_ref(),
        &tag("v1"),
        &cache,
    )
    .unwrap_err();
    assert!(err.to_string().contains(&digest[7..]), "{err}");
    assert_eq!(cache_state(&cache), (None, vec![]));
    assert!(FeedDb::open(&cache).is_err());
}

/// Pushes `layers` (media type, bytes, title) with `config` as a feeds
/// artifact of `artifact_type`, the manifest written here by hand.
fn push_raw(
    store: &dyn ArtifactStore,
    artifact_type: &str,
    config: &[u8],
    layers: &[(&str, &[u8], &str)],
    t: &str,
) {
    let digest = |b: &[u8]| Digest::sha256_of(b);
    store.put_blob(&digest(config), config).unwrap();
    let mut descs = Vec::new();
    for (media, data, title) in layers {
        store.put_blob(&digest(data), data).unwrap();
        descs.push(json!({
            "mediaType": media, "digest": digest(data).to_string(), "size": data.len(),
            "annotations": {"org.opencontainers.image.title": title}
        }));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": "application/vnd.stellaops.feeds.config.v1+json",
            "digest": digest(config).to_string(), "size": config.len()
        },
        "layers": descs,
    });
    store
        .put_manifest(
            &serde_json::to_vec(&manifest).unwrap(),
            MEDIA_OCI_MANIFEST,
            Some(t),
        )
        .unwrap();
}

#[test]
fn malformed_or_lying_metadata_is_refused() {
    const SHARD: &str = "application/vnd.stellaops.feeds.shard.v1.jsonl+zstd";
    const TYPE: &str = "application/vnd.stellaops.feeds.v1";
    let registry = Distribution::start(None);
    let remote = store(&format!("registry:{}/stella/bad:x", registry.addr));
    let db = small_db(&["osv-crates"]);
    let shard = &db.shards[0];
    let layer = [(SHARD, shard.data.as_slice(), shard.entry.name.as_str())];
    let work = tempfile::tempdir().unwrap();
    let mut case = 0;
    let mut refused = |config: &[u8], layers: &[(&str, &[u8], &str)], ty: &str, needle: &str| {
        case += 1;
        let t = format!("case{case}");
        push_raw(remote.as_ref(), ty, config, layers, &t);
        let cache = work.path().join(&t);
        let err = pull(remote.as_ref(), &tag(&t), &cache)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(needle),
            "case {case}: {err:?} should name {needle}"
        );
        assert_eq!(
            cache_state(&cache).0,
            None,
            "case {case}: nothing installed"
        );
    };
    let digest_hex = |b: &[u8]| Digest::sha256_of(b).hex().to_string();

    // Not JSON.
    let junk = b"{not json".as_slice();
    refused(junk, &layer, TYPE, &digest_hex(junk));
    // Unknown schema version.
    let mut meta: Value = serde_json::from_slice(&db.config).unwrap();
    meta["schemaVersion"] = 99.into();
    let v99 = serde_json::to_vec(&meta).unwrap();
    refused(&v99, &layer, TYPE, &digest_hex(&v99));
    // The shard table names another digest for the layer.
    let mut lying: FeedMetadata = db.metadata.clone();
    lying.shards[0].digest = Digest::sha256_of(b"other").to_string();
    let lying = serde_json::to_vec(&lying).unwrap();
    refused(&lying, &layer, TYPE, &digest_hex(&lying));
    // The shard table's content digest is wrong: the layer is named.
    let mut lying: FeedMetadata = db.metadata.clone();
    lying.shards[0].content_digest = Digest::sha256_of(b"other").to_string();
    let lying = serde_json::to_vec(&lying).unwrap();
    refused(&lying, &layer, TYPE, &shard.entry.digest[7..]);
    // A layer that is not zstd, with a truthful table otherwise.
    let mut lying: FeedMetadata = db.metadata.clone();
    let not_zstd = b"plain text, not zstd".as_slice();
    lying.shards[0].digest = Digest::sha256_of(not_zstd).to_string();
    lying.shards[0].size = not_zstd.len() as u64;
    let lying = serde_json::to_vec(&lying).unwrap();
    refused(
        &lying,
        &[(SHARD, not_zstd, shard.entry.name.as_str())],
        TYPE,
        &digest_hex(not_zstd),
    );
    // A shard name that would leave the cache.
    let mut evil: Value = serde_json::from_slice(&db.config).unwrap();
    evil["shards"][0]["name"] = "../../escape".into();
    let evil = serde_json::to_vec(&evil).unwrap();
    refused(
        &evil,
        &[(SHARD, &shard.data, "../../escape")],
        TYPE,
        &digest_hex(&evil),
    );
    // Some other artifact.
    refused(
        &db.config,
        &layer,
        "application/x-other",
        "not a feeds artifact",
    );
}
