//! The artifact store against real stores: an OCI layout on disk, the CNCF
//! distribution registry (no referrers API: the tag-schema fallback) and
//! ferro-oci-server (referrers API), the same scenario on all three; eight
//! concurrent attachers; a fault-injecting proxy in front of the real
//! registry; and oras, when installed, as the interop oracle.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use stella_model::Digest;
use stella_registry_store::oci::{Descriptor, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use stella_registry_store::{
    artifact_blobs, attach, fallback_tag, open_target, referrer_tag, ArtifactBlob, ArtifactStore,
    ManifestBytes, ManifestRef, OciLayoutStore, RegistryStore, RetryPolicy, StoreError,
    StoreOptions,
};
use support::distribution::Distribution;
use support::ferro::Ferro;
use support::proxy::{Fault, Proxy, Rule};
use support::{build_platform_image, raw_request, Flavor, PlatformImage};

const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
const SPDX: &str = "application/spdx+json";

/// A docker config directory with nothing in it: anonymous access, and the
/// host's own `~/.docker` never consulted.
fn empty_docker_config() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("config dir"))
        .path()
        .to_path_buf()
}

/// Quick retries, small chunks: faults are recovered from in milliseconds
/// and a few hundred KiB already make a chunked upload.
fn opts() -> StoreOptions {
    StoreOptions {
        docker_config_dir: Some(empty_docker_config()),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(5),
        },
        chunk_size: 64 * 1024,
        ..StoreOptions::default()
    }
}

fn registry(addr: &str, repo: &str) -> RegistryStore {
    RegistryStore::open(&format!("{addr}/{repo}"), &opts()).expect("open registry store")
}

fn sbom(kind: &str, n: u32) -> ArtifactBlob {
    let body = format!("{{\"kind\":\"{kind}\",\"n\":{n},\"components\":[]}}").into_bytes();
    ArtifactBlob::new(kind, body).titled(&format!("sbom-{n}.json"))
}

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An image as exact bytes (pretty-printed, so a client that re-serializes
/// would change its digest), pushed blob by blob.
fn push_image(store: &dyn ArtifactStore, image: &PlatformImage, tag: Option<&str>) -> Descriptor {
    for blob in image.layers.iter().chain([&image.config]) {
        store.put_blob(&blob.digest, &blob.data).expect("put blob");
    }
    store
        .put_manifest(&image.manifest.data, &image.manifest.media_type, tag)
        .expect("put manifest")
}

/// Everything the scenario observed, compared across backends.
#[derive(Debug, PartialEq)]
struct Transcript {
    tags: Vec<String>,
    resolved: Vec<Descriptor>,
    manifests: Vec<ManifestBytes>,
    blobs: Vec<Vec<u8>>,
    attached: Vec<Descriptor>,
    all: Vec<Descriptor>,
    cyclonedx: Vec<Descriptor>,
    spdx: Vec<Descriptor>,
    unknown_type: Vec<Descriptor>,
    other_subject: Vec<Descriptor>,
    referrer_manifests: Vec<ManifestBytes>,
    referrer_blobs: Vec<Vec<u8>>,
}

/// Pushes two images (tags v1, v2) and an index (untagged), attaches three
/// artifacts of two types to the v1 image, and reads everything back,
/// checking each answer against what was pushed.
fn scenario(store: &dyn ArtifactStore) -> Transcript {
    let v1 = build_platform_image("linux/amd64", Flavor::Oci, 300 * 1024);
    let v2 = build_platform_image("linux/arm64", Flavor::Oci, 1024);
    let d1 = push_image(store, &v1, Some("v1"));
    let d2 = push_image(store, &v2, Some("v2"));
    assert_eq!(d1.digest, v1.manifest.digest, "digest of the exact bytes");
    let index = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{MEDIA_OCI_INDEX}\",\n  \"manifests\": [{}, {}]\n}}\n",
        serde_json::to_string(&d1.plain()).unwrap(),
        serde_json::to_string(&d2.plain()).unwrap()
    )
    .into_bytes();
    let di = store
        .put_manifest(&index, MEDIA_OCI_INDEX, None)
        .expect("put index");
    assert_eq!(di.digest, Digest::sha256_of(&index));

    // A tag that moves: the manifest it left stays reachable by digest.
    store
        .put_manifest(&v2.manifest.data, &v2.manifest.media_type, Some("moving"))
        .expect("tag v2 as moving");
    store
        .put_manifest(&v1.manifest.data, &v1.manifest.media_type, Some("moving"))
        .expect("move the tag to v1");
    assert_eq!(
        store
            .resolve(&ManifestRef::Tag("moving".into()))
            .unwrap()
            .digest,
        v1.manifest.digest
    );
    assert_eq!(
        store
            .get_manifest(&ManifestRef::Digest(v2.manifest.digest.clone()))
            .unwrap()
            .bytes,
        v2.manifest.data
    );
    // A manifest whose blobs were never pushed is refused.
    let orphan = build_platform_image("linux/riscv64", Flavor::Oci, 512);
    let err = store
        .put_manifest(
            &orphan.manifest.data,
            &orphan.manifest.media_type,
            Some("orphan"),
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::BlobNotFound { .. }),
        "{}: {err}",
        store.location()
    );
    assert!(matches!(
        store.get_manifest(&ManifestRef::Tag("orphan".into())),
        Err(StoreError::NotFound { .. })
    ));

    let tags = store.tags().expect("tags");
    assert_eq!(tags, ["moving", "v1", "v2"]);
    let refs = [
        ManifestRef::Tag("v1".into()),
        ManifestRef::Tag("v2".into()),
        ManifestRef::Digest(di.digest.clone()),
        ManifestRef::Digest(v1.manifest.digest.clone()),
    ];
    let resolved: Vec<Descriptor> = refs
        .iter()
        .map(|r| store.resolve(r).expect("resolve"))
        .collect();
    assert_eq!(resolved[0].digest, v1.manifest.digest);
    assert_eq!(resolved[0].size, v1.manifest.data.len() as u64);
    assert_eq!(resolved[0].media_type, MEDIA_OCI_MANIFEST);
    assert_eq!(resolved[2].media_type, MEDIA_OCI_INDEX);
    let manifests: Vec<ManifestBytes> = refs
        .iter()
        .map(|r| store.get_manifest(r).expect("get manifest"))
        .collect();
    assert_eq!(manifests[0].bytes, v1.manifest.data, "exact bytes back");
    assert_eq!(manifests[1].bytes, v2.manifest.data);
    assert_eq!(manifests[2].bytes, index);
    let blobs: Vec<Vec<u8>> = v1
        .layers
        .iter()
        .chain([&v1.config])
        .map(|b| {
            let whole = store.get_blob(&b.digest, 1 << 24).expect("get blob");
            let mut streamed = Vec::new();
            store
                .open_blob(&Descriptor::new(
                    &b.media_type,
                    b.digest.clone(),
                    b.data.len() as u64,
                ))
                .expect("open blob")
                .read_to_end(&mut streamed)
                .expect("stream blob");
            assert_eq!(whole, b.data);
            assert_eq!(streamed, b.data);
            whole
        })
        .collect();
    assert!(store.blob_exists(&v1.config.digest).unwrap());
    assert!(!store
        .blob_exists(&Digest::sha256_of(b"never pushed"))
        .unwrap());

    let subject = d1.plain();
    let attached = vec![
        attach(
            store,
            &subject,
            CYCLONEDX,
            &[sbom(CYCLONEDX, 1)],
            &annotations(&[("org.example.n", "1")]),
        )
        .expect("attach 1"),
        attach(
            store,
            &subject,
            CYCLONEDX,
            &[sbom(CYCLONEDX, 2)],
            &annotations(&[("org.example.n", "2")]),
        )
        .expect("attach 2"),
        attach(store, &subject, SPDX, &[sbom(SPDX, 3)], &BTreeMap::new()).expect("attach 3"),
    ];
    let mut expected: Vec<Descriptor> = attached.clone();
    expected.sort_by_key(|d| d.digest.to_string());
    let all = store.referrers(&subject.digest, None).expect("referrers");
    assert_eq!(all, expected, "every referrer, as attach described it");
    let cyclonedx = store.referrers(&subject.digest, Some(CYCLONEDX)).unwrap();
    assert_eq!(cyclonedx.len(), 2);
    assert!(cyclonedx
        .iter()
        .all(|d| d.artifact_type.as_deref() == Some(CYCLONEDX)));
    let spdx = store.referrers(&subject.digest, Some(SPDX)).unwrap();
    assert_eq!(spdx.len(), 1);
    assert_eq!(spdx[0].digest, attached[2].digest);
    let unknown_type = store
        .referrers(&subject.digest, Some("application/x-none"))
        .unwrap();
    assert!(unknown_type.is_empty());
    let other_subject = store.referrers(&d2.digest, None).unwrap();
    assert!(other_subject.is_empty());
    // The referrer tags of the fallback stay out of the tag list.
    assert_eq!(store.tags().unwrap(), ["moving", "v1", "v2"]);

    let mut referrer_manifests = Vec::new();
    let mut referrer_blobs = Vec::new();
    for d in &all {
        let m = store
            .get_manifest(&ManifestRef::Digest(d.digest.clone()))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap();
        assert_eq!(v["subject"]["digest"], subject.digest.to_string());
        assert_eq!(v["artifactType"].as_str(), d.artifact_type.as_deref());
        let layer: Descriptor = serde_json::from_value(v["layers"][0].clone()).unwrap();
        let mut data = Vec::new();
        store
            .open_blob(&layer)
            .unwrap()
            .read_to_end(&mut data)
            .unwrap();
        let blobs = artifact_blobs(store, d, 1 << 20).expect("artifact blobs");
        assert_eq!(blobs, [(layer, data.clone())]);
        referrer_blobs.push(data);
        referrer_manifests.push(m);
    }
    Transcript {
        tags,
        resolved,
        manifests,
        blobs,
        attached,
        all,
        cyclonedx,
        spdx,
        unknown_type,
        other_subject,
        referrer_manifests,
        referrer_blobs,
    }
}

#[test]
fn parity_layout_distribution_ferro() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayoutStore::open_or_create(&dir.path().join("layout")).unwrap();
    let from_layout = scenario(&layout);

    let distribution = Distribution::start(None);
    let dist = registry(&distribution.addr, "team/parity");
    let from_distribution = scenario(&dist);
    assert_eq!(
        dist.has_referrers_api(),
        Some(false),
        "distribution 2.8 has no referrers API"
    );

    let ferro = Ferro::start();
    let fe = registry(&ferro.addr, "team/parity");
    // Asked before anything was pushed: no referrers, whatever the API.
    assert!(fe
        .referrers(&Digest::sha256_of(b"x"), None)
        .unwrap()
        .is_empty());
    assert!(dist
        .referrers(&Digest::sha256_of(b"x"), None)
        .unwrap()
        .is_empty());
    let from_ferro = scenario(&fe);
    assert_eq!(fe.has_referrers_api(), Some(true));

    assert_eq!(from_layout, from_distribution, "layout vs distribution");
    assert_eq!(from_layout, from_ferro, "layout vs ferro");

    // Independent look at each store: the layout's index.json lists the
    // referrers with their artifactType; distribution's fallback index
    // (read over raw HTTP) lists all three; ferro's referrers API too.
    let subject = &from_layout.resolved[0].digest;
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("layout/index.json")).unwrap())
            .unwrap();
    let typed: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["artifactType"].as_str())
        .collect();
    assert_eq!(typed.len(), 3, "{index}");
    let expected: Vec<String> = from_layout
        .all
        .iter()
        .map(|d| d.digest.to_string())
        .collect();
    let fallback = raw_request(
        &distribution.addr,
        "GET",
        &format!("/v2/team/parity/manifests/{}", fallback_tag(subject)),
        &[("Accept", MEDIA_OCI_INDEX)],
    )
    .unwrap();
    assert_eq!(fallback.status, 200);
    assert_eq!(listed_digests(&fallback.body), expected);
    let api = raw_request(
        &ferro.addr,
        "GET",
        &format!("/v2/team/parity/referrers/{subject}"),
        &[],
    )
    .unwrap();
    assert_eq!(api.status, 200);
    assert_eq!(listed_digests(&api.body), expected);
}

/// Digests of an image index's manifests, sorted.
fn listed_digests(index: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(index).expect("index JSON");
    let mut out: Vec<String> = v["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| m["digest"].as_str().expect("digest").to_string())
        .collect();
    out.sort();
    out
}

// ------------------------------------------------------------ concurrency

const WRITERS: usize = 8;

/// Eight attachers at once, each with a store of its own, released together.
fn attach_concurrently(
    open: impl Fn() -> Box<dyn ArtifactStore> + Sync,
    subject: &Descriptor,
) -> Vec<Descriptor> {
    let barrier = Barrier::new(WRITERS);
    let mut out: Vec<Descriptor> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (barrier, open) = (&barrier, &open);
                s.spawn(move || {
                    let store = open();
                    let blob = sbom(CYCLONEDX, 100 + i as u32);
                    // Blobs first, so the eight manifest writes and index
                    // updates after the barrier really overlap.
                    store
                        .put_blob(&blob.descriptor().digest, &blob.data)
                        .expect("blob");
                    store
                        .put_blob(&Digest::sha256_of(b"{}"), b"{}")
                        .expect("empty blob");
                    barrier.wait();
                    attach(
                        store.as_ref(),
                        subject,
                        if i % 2 == 0 { CYCLONEDX } else { SPDX },
                        &[blob],
                        &BTreeMap::new(),
                    )
                    .unwrap_or_else(|e| panic!("attacher {i}: {e}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("attacher"))
            .collect()
    });
    out.sort_by_key(|d| d.digest.to_string());
    out
}

#[test]
fn eight_concurrent_attachers_against_distribution_lose_nothing() {
    let distribution = Distribution::start(None);
    // Three rounds, three subjects: races are likelier to show.
    for round in 0..3 {
        let arch = ["amd64", "arm64", "s390x"][round];
        eight_attachers_one_subject(&distribution, &format!("linux/{arch}"));
    }
}

fn eight_attachers_one_subject(distribution: &Distribution, platform: &str) {
    let addr = distribution.addr.clone();
    let image = build_platform_image(platform, Flavor::Oci, 1024);
    let subject = push_image(&registry(&addr, "team/busy"), &image, None).plain();
    let attached = attach_concurrently(|| Box::new(registry(&addr, "team/busy")), &subject);
    let expected: Vec<String> = attached.iter().map(|d| d.digest.to_string()).collect();
    // The fallback index itself, as `oras discover` reads it.
    let fallback = raw_request(
        &addr,
        "GET",
        &format!("/v2/team/busy/manifests/{}", fallback_tag(&subject.digest)),
        &[("Accept", MEDIA_OCI_INDEX)],
    )
    .unwrap();
    assert_eq!(fallback.status, 200, "{}", distribution.log());
    assert_eq!(listed_digests(&fallback.body), expected);
    let store = registry(&addr, "team/busy");
    assert_eq!(store.referrers(&subject.digest, None).unwrap(), attached);
    if let Some(oras) = stella_testkit::oras::find() {
        let listed = oras_discover(&oras, &format!("{addr}/team/busy@{}", subject.digest), &[]);
        assert_eq!(listed, expected, "oras sees all eight");
    }
}

#[test]
fn eight_concurrent_attachers_in_one_layout_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(
        &OciLayoutStore::open_or_create(&path).unwrap(),
        &image,
        Some("v1"),
    )
    .plain();
    let attached = attach_concurrently(
        || Box::new(OciLayoutStore::open_or_create(&path).unwrap()),
        &subject,
    );
    let store = OciLayoutStore::open(&path).unwrap();
    assert_eq!(store.referrers(&subject.digest, None).unwrap(), attached);
    let index = std::fs::read(path.join("index.json")).unwrap();
    let listed = listed_digests(&index);
    for d in &attached {
        assert!(
            listed.contains(&d.digest.to_string()),
            "{d:?} missing from index.json"
        );
    }
    assert_eq!(listed.len(), WRITERS + 1, "eight referrers and the image");
    let leftovers: Vec<_> = walk(&path)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    if let Some(oras) = stella_testkit::oras::find() {
        let listed = oras_discover(
            &oras,
            &format!("{}@{}", path.display(), subject.digest),
            &["--oci-layout"],
        );
        let expected: Vec<String> = attached.iter().map(|d| d.digest.to_string()).collect();
        assert_eq!(listed, expected, "oras reads our layout's referrers");
    }
}

/// Eight processes (this test binary, re-run as attachers) attach to one
/// layout at once: `flock` on index.json.lock must order them.
#[test]
fn eight_processes_attach_to_one_layout() {
    if std::env::var_os("STELLA_TEST_ATTACH_CHILD").is_some() {
        return; // the child's work is done in `layout_attacher_child`
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(
        &OciLayoutStore::open_or_create(&path).unwrap(),
        &image,
        Some("v1"),
    )
    .plain();
    let exe = std::env::current_exe().unwrap();
    // All started before any is waited for, so they overlap.
    let spawned: Vec<_> = (0..WRITERS)
        .map(|i| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "layout_attacher_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("STELLA_TEST_ATTACH_CHILD", i.to_string())
                .env("STELLA_TEST_LAYOUT", &path)
                .env(
                    "STELLA_TEST_SUBJECT",
                    serde_json::to_string(&subject).unwrap(),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start attacher process")
        })
        .collect();
    for child in spawned {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the child ran"
        );
    }
    let store = OciLayoutStore::open(&path).unwrap();
    let found = store.referrers(&subject.digest, None).unwrap();
    assert_eq!(
        found.len(),
        WRITERS,
        "every process's referrer is in index.json"
    );
}

/// The attacher a process of `eight_processes_attach_to_one_layout` runs.
#[test]
fn layout_attacher_child() {
    let Some(n) = std::env::var_os("STELLA_TEST_ATTACH_CHILD") else {
        return;
    };
    let n: u32 = n.to_string_lossy().parse().unwrap();
    let path = PathBuf::from(std::env::var_os("STELLA_TEST_LAYOUT").unwrap());
    let subject: Descriptor =
        serde_json::from_str(&std::env::var("STELLA_TEST_SUBJECT").unwrap()).unwrap();
    let store = OciLayoutStore::open_or_create(&path).unwrap();
    attach(
        &store,
        &subject,
        SPDX,
        &[sbom(SPDX, 1000 + n)],
        &BTreeMap::new(),
    )
    .unwrap();
}

/// skopeo, an independent reader of OCI layouts, takes ours: image by tag,
/// with referrers in index.json beside it.
#[test]
fn skopeo_reads_our_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let store = OciLayoutStore::open_or_create(&path).unwrap();
    let image = build_platform_image("linux/amd64", Flavor::Oci, 64 * 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    let out = std::process::Command::new("skopeo")
        .args(["inspect", &format!("oci:{}:v1", path.display())])
        .output()
        .expect("skopeo is installed by tests/run.sh (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Digest"], subject.digest.to_string());
    let layers: Vec<String> = v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let pushed: Vec<String> = image.layers.iter().map(|l| l.digest.to_string()).collect();
    assert_eq!(layers, pushed);
    // And copies it out, blobs verified by skopeo.
    let copy = dir.path().join("copy");
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            &format!("oci:{}:v1", path.display()),
            &format!("oci:{}:v1", copy.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_lost_update_of_the_fallback_index_is_repaired() {
    let distribution = Distribution::start(None);
    let store = registry(&distribution.addr, "team/lost");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let first = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    let tag = fallback_tag(&subject.digest);
    let after_first = store.get_manifest(&ManifestRef::Tag(tag.clone())).unwrap();
    let second = attach(&store, &subject, SPDX, &[sbom(SPDX, 2)], &BTreeMap::new()).unwrap();
    // A slow writer overwrites the index with what it read before the second
    // attach: the second referrer drops out of the index …
    store
        .put_manifest(&after_first.bytes, MEDIA_OCI_INDEX, Some(&tag))
        .unwrap();
    let raw = |addr: &str| {
        listed_digests(
            &raw_request(
                addr,
                "GET",
                &format!("/v2/team/lost/manifests/{tag}"),
                &[("Accept", MEDIA_OCI_INDEX)],
            )
            .unwrap()
            .body,
        )
    };
    assert_eq!(raw(&distribution.addr), [first.digest.to_string()]);
    // … but not out of sight: its own tag keeps it discoverable,
    assert_eq!(store.referrers(&subject.digest, None).unwrap().len(), 2);
    assert!(store
        .tags()
        .unwrap()
        .iter()
        .all(|t| !t.starts_with("sha256-")));
    let all_tags = raw_request(&distribution.addr, "GET", "/v2/team/lost/tags/list", &[]).unwrap();
    assert!(String::from_utf8_lossy(&all_tags.body)
        .contains(&referrer_tag(&subject.digest, &second.digest)));
    // and the next writer puts it back.
    let third = attach(&store, &subject, SPDX, &[sbom(SPDX, 3)], &BTreeMap::new()).unwrap();
    let mut expected = vec![
        first.digest.to_string(),
        second.digest.to_string(),
        third.digest.to_string(),
    ];
    expected.sort();
    assert_eq!(raw(&distribution.addr), expected);
}

// ---------------------------------------------------------------- faults

struct Hostile {
    registry: Distribution,
    proxy: Proxy,
}

fn hostile() -> Hostile {
    let registry = Distribution::start(None);
    let proxy = Proxy::start(&registry.addr);
    Hostile { registry, proxy }
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let h = hostile();
    let store = registry(&h.proxy.addr, "team/flaky");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 200 * 1024);

    // 429 with Retry-After: 1, twice, on the blob uploads: waited out.
    h.proxy.add(
        Rule::new(Fault::too_many(1))
            .method("POST")
            .contains("/blobs/uploads")
            .times(2),
    );
    let started = Instant::now();
    let subject = push_image(&store, &image, Some("v1")).plain();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    assert_eq!(h.proxy.faults_applied(), 2);

    // 503 twice on a manifest read, then the real answer.
    h.proxy.clear();
    h.proxy.clear_log();
    h.proxy.add(
        Rule::new(Fault::status(503))
            .method("GET")
            .suffix("/manifests/v1")
            .times(2),
    );
    let m = store.get_manifest(&ManifestRef::Tag("v1".into())).unwrap();
    assert_eq!(m.bytes, image.manifest.data);
    assert_eq!(h.proxy.faults_applied(), 2);

    // A body cut short once: read again.
    h.proxy.add(
        Rule::new(Fault::TruncateBody)
            .method("GET")
            .suffix(&format!("/blobs/{}", image.layers[1].digest))
            .times(1),
    );
    assert_eq!(
        store.get_blob(&image.layers[1].digest, 1 << 24).unwrap(),
        image.layers[1].data
    );

    // 503 for ever: a clear error after the bounded attempts.
    h.proxy.add(
        Rule::new(Fault::status(503))
            .method("GET")
            .suffix("/manifests/v1"),
    );
    let err = store
        .get_manifest(&ManifestRef::Tag("v1".into()))
        .unwrap_err();
    eprintln!("{err}");
    let text = err.to_string();
    assert!(matches!(err, StoreError::Registry { .. }), "{text}");
    assert!(
        text.contains("503") && text.contains("gave up after 4 attempts"),
        "{text}"
    );

    // A Retry-After longer than we wait: refused at once, saying so.
    h.proxy.clear();
    h.proxy
        .add(Rule::new(Fault::too_many(3600)).suffix("/tags/list"));
    let started = Instant::now();
    let err = store.tags().unwrap_err().to_string();
    eprintln!("{err}");
    assert!(err.contains("3600"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Attaching through a throttled fallback index write still lands.
    h.proxy.clear();
    h.proxy.add(
        Rule::new(Fault::too_many(0))
            .method("PUT")
            .suffix(&format!("/manifests/{}", fallback_tag(&subject.digest)))
            .times(2),
    );
    let d = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    h.proxy.clear();
    assert_eq!(store.referrers(&subject.digest, None).unwrap(), [d]);
    drop(h.registry);
}

/// Uploads ten-chunk blobs through `proxy`, the third chunk failing once
/// with each fault; returns, per fault, how many sessions were opened.
fn upload_through_faults(
    proxy: &Proxy,
    direct: &str,
    log: &dyn Fn() -> String,
) -> Vec<(Fault, usize)> {
    let store = registry(&proxy.addr, "team/uploads");
    let faults = [
        Fault::DropRequest,
        Fault::status(500),
        Fault::too_many(0),
        Fault::DropAfterForward,
        Fault::CutRequestBody,
    ];
    let mut sessions = Vec::new();
    for (i, fault) in faults.into_iter().enumerate() {
        // Ten chunks of 64 KiB and a bit; a new blob each round.
        let mut data = support::noise(640 * 1024 + 17, 7);
        data[0] = i as u8;
        let digest = Digest::sha256_of(&data);
        proxy.clear();
        proxy.clear_log();
        proxy.add(Rule::new(fault.clone()).method("PATCH").skip(2).times(1));
        store
            .put_blob(&digest, &data)
            .unwrap_or_else(|e| panic!("{fault:?}: {e}\n{}", log()));
        assert_eq!(proxy.faults_applied(), 1, "{fault:?} was injected");
        let seen = proxy.seen();
        let patches = seen.iter().filter(|s| s.method == "PATCH").count();
        assert!(patches >= 11, "{fault:?}: chunked ({patches} PATCHes)");
        sessions.push((
            fault.clone(),
            seen.iter().filter(|s| s.method == "POST").count(),
        ));
        // Read back straight from the registry: intact.
        let direct = registry(direct, "team/uploads");
        assert_eq!(
            direct.get_blob(&digest, 1 << 24).unwrap(),
            data,
            "{fault:?}"
        );
    }
    sessions
}

#[test]
fn uploads_resume_after_dropped_connections() {
    let h = hostile();
    let sessions = upload_through_faults(&h.proxy, &h.registry.addr, &|| h.registry.log());
    // A chunk the registry never took is resumed in the same session; one
    // it may have taken cannot be (distribution ties the session's state to
    // the URL we never got back), so a new session starts over.
    for (fault, n) in &sessions[..3] {
        assert_eq!(*n, 1, "{fault:?}: resumed, not restarted");
    }
    for (fault, n) in &sessions[3..] {
        assert_eq!(*n, 2, "{fault:?}: restarted once");
    }

    let ferro = Ferro::start();
    let proxy = Proxy::start(&ferro.addr);
    let sessions = upload_through_faults(&proxy, &ferro.addr, &String::new);
    // ferro keeps the session's state server-side: even a chunk whose
    // answer was lost is resumed.
    for (fault, n) in &sessions[..4] {
        assert_eq!(*n, 1, "{fault:?}: resumed, not restarted");
    }
}

#[test]
fn lying_and_refusing_registries_give_clear_errors() {
    let h = hostile();
    let store = registry(&h.proxy.addr, "team/liar");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 64 * 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();

    // Wrong bytes for a blob digest.
    let layer = &image.layers[1];
    h.proxy
        .inject(&format!("/blobs/{}", layer.digest), Fault::CorruptBody);
    let err = store.get_blob(&layer.digest, 1 << 24).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    let mut streamed = Vec::new();
    let err = store
        .open_blob(&Descriptor::new(
            &layer.media_type,
            layer.digest.clone(),
            layer.data.len() as u64,
        ))
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap_err();
    assert!(err.to_string().contains(&layer.digest.to_string()), "{err}");
    h.proxy.clear();

    // Another manifest for a tag, with the registry's digest header left as was.
    let other = build_platform_image("linux/arm64", Flavor::Oci, 1024);
    h.proxy.inject(
        "/manifests/v1",
        Fault::ReplaceBody(other.manifest.data.clone()),
    );
    let err = store
        .get_manifest(&ManifestRef::Tag("v1".into()))
        .unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    h.proxy.clear();
    // … and by digest, with a digest header that matches the lie.
    h.proxy.inject(
        &format!("/manifests/{}", subject.digest),
        Fault::ReplaceBodyAndDigest(other.manifest.data.clone()),
    );
    let err = store
        .resolve(&ManifestRef::Digest(subject.digest.clone()))
        .unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    h.proxy.clear();

    // 401 once (an expired token): renewed and retried; for ever: refused.
    h.proxy.add(
        Rule::new(Fault::bad_token())
            .method("PUT")
            .contains("/manifests/")
            .times(1),
    );
    store
        .put_manifest(&image.manifest.data, &image.manifest.media_type, Some("v2"))
        .unwrap();
    h.proxy.add(
        Rule::new(Fault::bad_token())
            .method("PUT")
            .contains("/manifests/"),
    );
    let err = store
        .put_manifest(&image.manifest.data, &image.manifest.media_type, Some("v3"))
        .unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::AuthFailed { .. }), "{err}");
    assert!(err.to_string().contains("write access"), "{err}");
    h.proxy.clear();

    // An oversized fallback index (with a digest header to match).
    let fb = format!("/manifests/{}", fallback_tag(&subject.digest));
    let mut huge = format!("{{\"schemaVersion\":2,\"mediaType\":\"{MEDIA_OCI_INDEX}\",\"manifests\":[],\"annotations\":{{\"pad\":\"").into_bytes();
    huge.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024));
    huge.extend_from_slice(b"\"}}");
    h.proxy.inject(&fb, Fault::ReplaceBodyAndDigest(huge));
    let err = store.referrers(&subject.digest, None).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    h.proxy.clear();

    // A malformed one: discovery and attaching both refuse, naming it; the
    // index is not overwritten.
    h.proxy.inject(
        &fb,
        Fault::ReplaceBodyAndDigest(br#"{"schemaVersion":2,"manifests":"nope"}"#.to_vec()),
    );
    let err = store.referrers(&subject.digest, None).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
    assert!(
        err.to_string().contains(&fallback_tag(&subject.digest)),
        "{err}"
    );
    let err = attach(&store, &subject, SPDX, &[sbom(SPDX, 9)], &BTreeMap::new()).unwrap_err();
    assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
    h.proxy.clear();
    assert_eq!(
        store.referrers(&subject.digest, None).unwrap().len(),
        2,
        "the refused attach left its referrer tagged"
    );

    // Refusals before anything leaves: wrong digest, oversized manifest.
    let err = store.put_blob(&Digest::sha256_of(b"a"), b"b").unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    let big = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"{MEDIA_OCI_MANIFEST}\",\"pad\":\"{}\"}}",
        "x".repeat(5 << 20)
    );
    let err = store
        .put_manifest(big.as_bytes(), MEDIA_OCI_MANIFEST, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
}

#[test]
fn referrers_api_answers_are_checked_and_filtered() {
    let ferro = Ferro::start();
    let proxy = Proxy::start(&ferro.addr);
    let store = registry(&proxy.addr, "team/api");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let a = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    let b = attach(
        &store,
        &subject,
        CYCLONEDX,
        &[sbom(CYCLONEDX, 2)],
        &BTreeMap::new(),
    )
    .unwrap();
    let unfiltered = raw_request(
        &ferro.addr,
        "GET",
        &format!("/v2/team/api/referrers/{}", subject.digest),
        &[],
    )
    .unwrap()
    .body;
    assert_eq!(listed_digests(&unfiltered).len(), 2);
    let path = format!("/referrers/{}", subject.digest);

    // A server that ignores the filter (no OCI-Filters-Applied): we filter.
    proxy.inject(
        &path,
        Fault::ReplaceBodyDropHeaders(unfiltered.clone(), vec!["oci-filters-applied".into()]),
    );
    assert_eq!(store.referrers(&subject.digest, Some(SPDX)).unwrap(), [a]);
    assert_eq!(
        store.referrers(&subject.digest, Some(CYCLONEDX)).unwrap(),
        [b]
    );
    proxy.clear();

    // Oversized and malformed answers.
    let mut huge = b"{\"schemaVersion\":2,\"manifests\":[],\"x\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024));
    huge.extend_from_slice(b"\"}");
    proxy.inject(&path, Fault::ReplaceBody(huge));
    let err = store.referrers(&subject.digest, None).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    proxy.clear();
    proxy.inject(&path, Fault::ReplaceBody(b"<html>not json</html>".to_vec()));
    let err = store.referrers(&subject.digest, None).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
    proxy.clear();
    assert_eq!(store.referrers(&subject.digest, None).unwrap().len(), 2);
}

// ------------------------------------------------------------------ auth

#[test]
fn pushing_with_basic_credentials_from_the_docker_config() {
    use base64::Engine as _;
    let registry = Distribution::start(Some(("stella", "hunter2")));
    let config = tempfile::tempdir().unwrap();
    let write = |password: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("stella:{password}"));
        std::fs::write(
            config.path().join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.addr),
        )
        .unwrap();
    };
    let open = || {
        RegistryStore::open(
            &format!("{}/team/secure", registry.addr),
            &StoreOptions {
                docker_config_dir: Some(config.path().to_path_buf()),
                ..opts()
            },
        )
        .unwrap()
    };
    write("hunter2");
    let store = open();
    let image = build_platform_image("linux/amd64", Flavor::Oci, 100 * 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let d = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    assert_eq!(store.referrers(&subject.digest, None).unwrap(), [d]);

    write("wrong");
    let err = open().put_blob(&Digest::sha256_of(b"x"), b"x").unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::AuthFailed { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");

    let anonymous = registry_with(&registry.addr, "team/secure");
    let err = anonymous.tags().unwrap_err();
    eprintln!("{err}");
    assert!(err.to_string().contains("anonymous"), "{err}");
}

/// Pushing with credentials from a docker credential helper (a script of
/// ours on PATH, speaking the helper protocol).
#[test]
fn pushing_with_a_credential_helper() {
    use std::os::unix::fs::PermissionsExt;
    let registry = Distribution::start(Some(("stella", "hunter2")));
    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-stella-store-test");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread -r server\n[ \"$1\" = get ] || exit 1\n\
         printf '{\"ServerURL\":\"%s\",\"Username\":\"stella\",\"Secret\":\"hunter2\"}' \"$server\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.path().to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    // Prepending a directory of our own leaves every other program findable.
    std::env::set_var("PATH", std::env::join_paths(dirs).unwrap());
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!(
            r#"{{"credHelpers":{{"{}":"stella-store-test"}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
    let store = RegistryStore::open(
        &format!("{}/team/helped", registry.addr),
        &StoreOptions {
            docker_config_dir: Some(config.path().to_path_buf()),
            ..opts()
        },
    )
    .unwrap();
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let d = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap();
    assert_eq!(store.referrers(&subject.digest, None).unwrap(), [d]);
}

fn registry_with(addr: &str, repo: &str) -> RegistryStore {
    registry(addr, repo)
}

// --------------------------------------------------------------- targets

#[test]
fn targets_name_the_subject() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let layout = OciLayoutStore::open_or_create(&path).unwrap();
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let pushed = push_image(&layout, &image, Some("v1"));
    attach(
        &layout,
        &pushed.plain(),
        SPDX,
        &[sbom(SPDX, 1)],
        &BTreeMap::new(),
    )
    .unwrap();

    // `oci-dir:PATH` still names the one image, referrers or not …
    let only = open_target(&format!("oci-dir:{}", path.display()), &opts()).unwrap();
    assert_eq!(only.subject().unwrap(), pushed.plain());
    let tagged = open_target(&format!("oci-dir:{}:v1", path.display()), &opts()).unwrap();
    assert_eq!(tagged.subject().unwrap(), pushed.plain());
    // … and the read side still opens it.
    let spec =
        stella_registry_store::SourceSpec::parse(&format!("oci-dir:{}", path.display())).unwrap();
    let opened = stella_registry_store::open_image(
        &spec,
        &stella_registry_store::OpenOptions::default(),
        "x",
    )
    .unwrap();
    assert_eq!(opened.info.manifest_digest, Some(pushed.digest.clone()));

    let distribution = Distribution::start(None);
    let reg = registry(&distribution.addr, "team/target");
    let pushed = push_image(&reg, &image, Some("v1"));
    for spec in [
        format!("registry:{}/team/target:v1", distribution.addr),
        format!("{}/team/target:v1", distribution.addr),
        format!("{}/team/target@{}", distribution.addr, pushed.digest),
    ] {
        let t = open_target(&spec, &opts()).unwrap();
        assert_eq!(t.subject().unwrap(), pushed.plain(), "{spec}");
    }
    let err = open_target("docker-archive:/tmp/x.tar", &opts()).unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(open_target(&format!("oci-dir:{}", file.display()), &opts()).is_err());
}

// ------------------------------------------------------------------ oras

fn run_oras(oras: &Path, args: &[&str], cwd: &Path) -> Vec<u8> {
    stella_testkit::oras::run(oras, args, cwd)
}

/// Digests `oras discover` lists directly under `target`, sorted.
fn oras_discover(oras: &Path, target: &str, extra: &[&str]) -> Vec<String> {
    oras_discover_typed(oras, target, extra)
        .into_iter()
        .map(|(d, _)| d)
        .collect()
}

fn oras_discover_typed(oras: &Path, target: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["discover", "--format", "json"];
    if !extra.contains(&"--oci-layout") {
        args.push("--plain-http");
    }
    args.extend_from_slice(extra);
    args.push(target);
    let out = run_oras(oras, &args, Path::new("/"));
    let v: serde_json::Value = serde_json::from_slice(&out).expect("oras discover JSON");
    // oras 1.2: {"manifests":[...]} (or "referrers" in the tree format).
    let list = v["manifests"]
        .as_array()
        .or_else(|| v["referrers"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap_or_default().to_string(),
                m["artifactType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn oras_reads_what_we_attach_and_we_read_what_oras_attaches() {
    let Some(oras) = stella_testkit::oras::find() else {
        return;
    };
    let distribution = Distribution::start(None);
    let addr = distribution.addr.clone();
    let store = registry(&addr, "team/oras");
    let image = build_platform_image("linux/amd64", Flavor::Oci, 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let blob = sbom(CYCLONEDX, 42);
    let ours = attach(
        &store,
        &subject,
        CYCLONEDX,
        std::slice::from_ref(&blob),
        &BTreeMap::new(),
    )
    .unwrap();

    let listed = oras_discover_typed(&oras, &format!("{addr}/team/oras@{}", subject.digest), &[]);
    assert_eq!(listed, [(ours.digest.to_string(), CYCLONEDX.to_string())]);

    let work = tempfile::tempdir().unwrap();
    let fetched = run_oras(
        &oras,
        &[
            "blob",
            "fetch",
            "--plain-http",
            "--output",
            "-",
            &format!("{addr}/team/oras@{}", blob.descriptor().digest),
        ],
        work.path(),
    );
    assert_eq!(fetched, blob.data);
    run_oras(
        &oras,
        &[
            "pull",
            "--plain-http",
            "-o",
            "out",
            &format!("{addr}/team/oras@{}", ours.digest),
        ],
        work.path(),
    );
    assert_eq!(
        std::fs::read(work.path().join("out/sbom-42.json")).unwrap(),
        blob.data
    );

    // oras attaches; we discover it next to ours.
    std::fs::write(work.path().join("sig.txt"), b"signed").unwrap();
    run_oras(
        &oras,
        &[
            "attach",
            "--plain-http",
            "--artifact-type",
            "application/vnd.example.sig",
            &format!("{addr}/team/oras@{}", subject.digest),
            "sig.txt:text/plain",
        ],
        work.path(),
    );
    let fresh = registry(&addr, "team/oras");
    let found = fresh.referrers(&subject.digest, None).unwrap();
    let types: Vec<_> = found
        .iter()
        .map(|d| d.artifact_type.clone().unwrap_or_default())
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        types.contains(&"application/vnd.example.sig".to_string()),
        "{types:?}"
    );
    // And our next attach keeps oras' entry in the fallback index.
    let again = attach(&fresh, &subject, SPDX, &[sbom(SPDX, 43)], &BTreeMap::new()).unwrap();
    let listed = oras_discover(&oras, &format!("{addr}/team/oras@{}", subject.digest), &[]);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed.contains(&again.digest.to_string()));

    // The same in an OCI layout.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let layout = OciLayoutStore::open_or_create(&path).unwrap();
    let subject = push_image(&layout, &image, Some("v1")).plain();
    let ours = attach(
        &layout,
        &subject,
        CYCLONEDX,
        std::slice::from_ref(&blob),
        &BTreeMap::new(),
    )
    .unwrap();
    let target = format!("{}@{}", path.display(), subject.digest);
    assert_eq!(
        oras_discover_typed(&oras, &target, &["--oci-layout"]),
        [(ours.digest.to_string(), CYCLONEDX.to_string())]
    );
    run_oras(
        &oras,
        &[
            "attach",
            "--oci-layout",
            "--artifact-type",
            "application/vnd.example.sig",
            &target,
            "sig.txt:text/plain",
        ],
        work.path(),
    );
    let reopened = OciLayoutStore::open(&path).unwrap();
    assert_eq!(reopened.referrers(&subject.digest, None).unwrap().len(), 2);
    assert_eq!(
        reopened
            .referrers(&subject.digest, Some("application/vnd.example.sig"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_damaged_layout_is_noticed_and_repaired_where_possible() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout");
    let store = OciLayoutStore::open_or_create(&path).unwrap();
    let image = build_platform_image("linux/amd64", Flavor::Oci, 4 * 1024);
    let subject = push_image(&store, &image, Some("v1")).plain();
    let layer = &image.layers[0];
    let file = path.join(format!("blobs/sha256/{}", layer.digest.hex()));

    // A blob with the right size but wrong bytes: reads refuse it …
    let mut bytes = layer.data.clone();
    bytes[3] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let err = store.get_blob(&layer.digest, 1 << 20).unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    // … and putting the blob again repairs it.
    store.put_blob(&layer.digest, &layer.data).unwrap();
    assert_eq!(store.get_blob(&layer.digest, 1 << 20).unwrap(), layer.data);

    // A blob over the caller's limit.
    let err = store.get_blob(&layer.digest, 10).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");

    // A manifest listed in index.json whose file was damaged.
    let manifest = path.join(format!("blobs/sha256/{}", subject.digest.hex()));
    let original = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, b"{}").unwrap();
    let err = store
        .referrers(&Digest::sha256_of(b"some other subject"), None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Malformed { .. } | StoreError::DigestMismatch { .. }
        ),
        "{err}"
    );
    let err = store
        .get_manifest(&ManifestRef::Tag("v1".into()))
        .unwrap_err();
    assert!(
        err.to_string().contains(&subject.digest.to_string()),
        "{err}"
    );
    std::fs::write(&manifest, original).unwrap();

    // index.json that is not JSON: a clear error, and nothing written over it.
    std::fs::write(path.join("index.json"), b"not json").unwrap();
    let err = attach(&store, &subject, SPDX, &[sbom(SPDX, 1)], &BTreeMap::new()).unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
    assert_eq!(std::fs::read(path.join("index.json")).unwrap(), b"not json");

    // A directory with other things in it is not turned into a layout.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), b"mine").unwrap();
    let err = OciLayoutStore::open_or_create(&busy).unwrap_err();
    assert!(matches!(err, StoreError::BadSource { .. }), "{err}");
}

/// `put_blobs` sends several blobs at once to the real registry; one
/// wrong digest among them and nothing is sent.
#[test]
fn put_blobs_all_or_nothing() {
    let distribution = Distribution::start(None);
    let store = registry(&distribution.addr, "stella/blobs");
    let blobs: Vec<(Digest, Vec<u8>)> = (0..6u8)
        .map(|i| {
            let data = vec![i; 1000 * usize::from(i) + 1];
            (Digest::sha256_of(&data), data)
        })
        .collect();
    let wrong = Digest::sha256_of(b"something else");
    let mut with_wrong: Vec<(&Digest, &[u8])> =
        blobs.iter().map(|(d, b)| (d, b.as_slice())).collect();
    with_wrong.push((&wrong, b"not that"));
    let err = store.put_blobs(&with_wrong).unwrap_err();
    assert!(err.to_string().contains(&wrong.to_string()), "{err}");
    for (d, _) in &blobs {
        assert!(!store.blob_exists(d).unwrap(), "{d} was sent");
    }
    with_wrong.pop();
    store.put_blobs(&with_wrong).unwrap();
    for (d, data) in &blobs {
        assert_eq!(&store.get_blob(d, 1 << 20).unwrap(), data);
    }
    // Again: every blob exists, nothing fails.
    store.put_blobs(&with_wrong).unwrap();
}
