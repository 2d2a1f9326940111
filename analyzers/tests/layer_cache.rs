//! The layer cache hook of `scan_image_with`: a warm rescan opens no blob
//! and yields the same inventory as a scan without a cache; an image on a
//! shared base streams only its own layers; files named by one image's
//! command line do not tie the base's fragment to that image; undecodable
//! fragments are refused and rewritten.
//!
//! The reference for "the same inventory" is `scan_image` without any cache
//! (the plain streaming path), compared as serialized JSON.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use stella_analyzers::fragment::{kind_of, FragmentKind};
use stella_analyzers::layer::LayerLimits;
use stella_analyzers::{scan_image, scan_image_with, LayerCache, ScanOptions, Silent};
use stella_model::{Digest, ImageInfo, Inventory};
use stella_registry_store::oci::{ImageConfig, RootFs, RuntimeConfig};
use stella_registry_store::{BlobSource, LayerDescriptor, ResolvedImage, StoreError};

/// One tar entry of a test layer.
enum Entry<'a> {
    File(&'a str, u32, &'a [u8]),
    Hardlink(&'a str, &'a str),
}

struct Layer {
    blob: Vec<u8>,
    digest: Digest,
    diff_id: Digest,
}

fn layer(entries: &[Entry<'_>]) -> Layer {
    let mut tar = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        match e {
            Entry::File(path, mode, data) => {
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                h.set_cksum();
                tar.append_data(&mut h, path, *data).unwrap();
            }
            Entry::Hardlink(path, target) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                h.set_mode(0o644);
                tar.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let blob = gz.finish().unwrap();
    Layer {
        digest: Digest::sha256_of(&blob),
        diff_id: Digest::sha256_of(&tar),
        blob,
    }
}

/// Serves layer blobs from memory and records which layers were opened.
struct CountingBlobs {
    blobs: BTreeMap<Digest, Vec<u8>>,
    opened: Arc<Mutex<Vec<u32>>>,
}

impl BlobSource for CountingBlobs {
    fn open_layer(&self, l: &LayerDescriptor) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        self.opened.lock().unwrap().push(l.index);
        let blob = self.blobs.get(&l.digest).expect("blob of the image");
        Ok(Box::new(Cursor::new(blob.clone())))
    }
}

/// An image of `layers` that runs `argv` (all as CMD); also returns the
/// list of layer indexes opened by scans of it.
fn image(layers: &[&Layer], argv: &[&str]) -> (ResolvedImage, Arc<Mutex<Vec<u32>>>) {
    let opened = Arc::new(Mutex::new(Vec::new()));
    let descriptors: Vec<LayerDescriptor> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerDescriptor {
            index: i as u32,
            digest: l.digest.clone(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_string(),
            size: Some(l.blob.len() as u64),
            diff_id: l.diff_id.clone(),
            created_by: None,
        })
        .collect();
    let config = ImageConfig {
        config: Some(RuntimeConfig {
            cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
            ..RuntimeConfig::default()
        }),
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        ..ImageConfig::default()
    };
    let identity: String = layers.iter().map(|l| l.digest.to_string()).collect();
    let img = ResolvedImage {
        info: ImageInfo {
            source: "test".to_string(),
            manifest_digest: Some(Digest::sha256_of(format!("{identity} {argv:?}").as_bytes())),
            ..ImageInfo::default()
        },
        config,
        layers: descriptors,
        blobs: Box::new(CountingBlobs {
            blobs: layers
                .iter()
                .map(|l| (l.digest.clone(), l.blob.clone()))
                .collect(),
            opened: Arc::clone(&opened),
        }),
    };
    (img, opened)
}

/// A cache in memory, counting what the scan asks of it.
#[derive(Default)]
struct MemCache {
    entries: Mutex<BTreeMap<Digest, Vec<u8>>>,
    puts: Mutex<Vec<Digest>>,
    rejected: Mutex<Vec<(Digest, String)>>,
    /// Drop whole-image inventories: every scan then analyzes the layers'
    /// fragments (the path a changed image config takes).
    layers_only: bool,
}

impl MemCache {
    fn layers_only() -> MemCache {
        MemCache {
            layers_only: true,
            ..MemCache::default()
        }
    }

    fn kinds(&self) -> Vec<FragmentKind> {
        let entries = self.entries.lock().unwrap();
        entries.values().filter_map(|b| kind_of(b)).collect()
    }
}

impl LayerCache for MemCache {
    fn get(&self, key: &Digest) -> Option<Vec<u8>> {
        self.entries.lock().unwrap().get(key).cloned()
    }
    fn put(&self, key: &Digest, fragment: &[u8]) {
        if self.layers_only && kind_of(fragment) == Some(FragmentKind::Inventory) {
            return;
        }
        self.puts.lock().unwrap().push(key.clone());
        self.entries
            .lock()
            .unwrap()
            .insert(key.clone(), fragment.to_vec());
    }
    fn rejected(&self, key: &Digest, reason: &str) {
        self.rejected
            .lock()
            .unwrap()
            .push((key.clone(), reason.to_string()));
    }
}

fn json(inv: &Inventory) -> String {
    serde_json::to_string_pretty(inv).unwrap()
}

/// Scans through `cache`; returns the inventory and the layers opened.
fn scan_cached(
    img: &(ResolvedImage, Arc<Mutex<Vec<u32>>>),
    cache: &MemCache,
    opts: &ScanOptions,
) -> (String, Vec<u32>) {
    img.1.lock().unwrap().clear();
    let inv = scan_image_with(&img.0, opts, &Silent, Some(cache)).unwrap();
    let mut opened = std::mem::take(&mut *img.1.lock().unwrap());
    opened.sort_unstable();
    (json(&inv), opened)
}

fn reference(img: &(ResolvedImage, Arc<Mutex<Vec<u32>>>)) -> String {
    json(&scan_image(&img.0, &ScanOptions::default(), &Silent).unwrap())
}

fn fixture_elf() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rust-auditable/bin/stella-auditable-fixture");
    std::fs::read(path).unwrap()
}

const STATUS: &[u8] = b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n\nPackage: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nSource: tool-src (1.0)\n\n";
const OS_RELEASE: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

/// A base layer with an OS, an ELF with cargo-auditable data as `bin/sh`,
/// an executable `#!` script, and a plain text file `opt/tool/run.sh`.
fn base_layer(elf: &[u8]) -> Layer {
    layer(&[
        Entry::File("etc/os-release", 0o644, OS_RELEASE),
        Entry::File("var/lib/dpkg/status", 0o644, STATUS),
        Entry::File("bin/sh", 0o755, elf),
        Entry::File(
            "usr/bin/helper",
            0o755,
            b"#!/bin/sh\nexec /bin/sh -c true\n",
        ),
        Entry::File("opt/tool/run.sh", 0o644, b"exec /bin/sh -c 'echo run'\n"),
    ])
}

fn npm_layer() -> Layer {
    layer(&[Entry::File(
        "app/node_modules/left-pad/package.json",
        0o644,
        br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
    )])
}

#[test]
fn warm_rescan_opens_no_blob_and_matches_the_uncached_scan() {
    let elf = fixture_elf();
    let (base, npm) = (base_layer(&elf), npm_layer());
    let top = layer(&[
        Entry::File("app/start.sh", 0o644, b"exec /usr/bin/helper\n"),
        Entry::Hardlink("app/again.sh", "app/start.sh"),
    ]);
    let img = image(&[&base, &npm, &top], &["sh", "/app/start.sh"]);
    let want = reference(&img);
    // The scan found what the layers hold, through every kind of report.
    for needle in [
        "\"left-pad\"",
        "\"tool\"",
        "pkg:cargo/",
        "app/start.sh",
        "usr/bin/helper",
    ] {
        assert!(want.contains(needle), "{needle} missing from\n{want}");
    }
    assert!(!want.contains("script-unreadable"), "{want}");

    for cache in [MemCache::default(), MemCache::layers_only()] {
        let opts = ScanOptions::default();
        let (cold, opened) = scan_cached(&img, &cache, &opts);
        assert_eq!(cold, want);
        assert_eq!(opened, vec![0, 1, 2]);
        let mut kinds = cache.kinds();
        kinds.sort_by_key(|k| format!("{k:?}"));
        let mut expected = vec![
            FragmentKind::Layer,
            FragmentKind::Layer,
            FragmentKind::Layer,
            // The top layer holds the files CMD names.
            FragmentKind::NamedScripts,
        ];
        if !cache.layers_only {
            expected.insert(0, FragmentKind::Inventory);
        }
        assert_eq!(kinds, expected);

        for threads in [1, 2, 4] {
            let opts = ScanOptions {
                threads,
                ..ScanOptions::default()
            };
            let (warm, opened) = scan_cached(&img, &cache, &opts);
            assert_eq!(opened, Vec::<u32>::new(), "a warm scan opens no blob");
            assert_eq!(warm, want);
        }
        assert!(cache.rejected.lock().unwrap().is_empty());
    }
}

#[test]
fn a_cached_inventory_carries_the_facts_of_the_scanned_source() {
    let elf = fixture_elf();
    let base = base_layer(&elf);
    let mut img = image(&[&base], &["sh"]);
    let cache = MemCache::default();
    let opts = ScanOptions::default();
    scan_cached(&img, &cache, &opts);
    // The same image reached another way (another tag, transport or registry).
    img.0.info.source = "registry:example.com/app:2".to_string();
    img.0.info.name = Some("example.com/app:2".to_string());
    let (got, opened) = scan_cached(&img, &cache, &opts);
    assert_eq!(opened, Vec::<u32>::new());
    assert_eq!(got, reference(&img));
    assert!(got.contains("registry:example.com/app:2"));
}

#[test]
fn an_image_on_the_same_base_streams_only_its_new_layers() {
    let elf = fixture_elf();
    let (base, npm) = (base_layer(&elf), npm_layer());
    let old_top = layer(&[Entry::File("app/v1", 0o644, b"1")]);
    let new_top = layer(&[
        Entry::File("app/v2", 0o644, b"2"),
        Entry::File(
            "app/node_modules/is-odd/package.json",
            0o644,
            br#"{"name":"is-odd","version":"3.0.1"}"#,
        ),
    ]);
    let v1 = image(&[&base, &npm, &old_top], &["sh", "-c", "echo v1"]);
    let v2 = image(&[&base, &npm, &new_top], &["sh", "-c", "echo v2"]);
    let cache = MemCache::default();
    let opts = ScanOptions::default();
    scan_cached(&v1, &cache, &opts);
    let (got, opened) = scan_cached(&v2, &cache, &opts);
    assert_eq!(opened, vec![2], "only the rebuilt layer is streamed");
    assert_eq!(got, reference(&v2));
    assert!(got.contains("is-odd"));
}

#[test]
fn files_named_by_one_image_do_not_tie_the_base_to_it() {
    let elf = fixture_elf();
    let base = base_layer(&elf);
    // Names base's opt/tool/run.sh: the naming script analyzer keeps its text.
    let runs_tool = image(&[&base], &["sh", "/opt/tool/run.sh"]);
    // Names nothing in base.
    let echoes = image(&[&base], &["sh", "-c", "echo hi"]);
    let cache = MemCache::layers_only();
    let opts = ScanOptions::default();

    let (got, opened) = scan_cached(&echoes, &cache, &opts);
    assert_eq!((got, opened), (reference(&echoes), vec![0]));
    // The base fragment is there, but not what runs_tool's naming analyzer
    // would keep from it: the layer is streamed once more for that ...
    let (got, opened) = scan_cached(&runs_tool, &cache, &opts);
    let want = reference(&runs_tool);
    assert_eq!((&got, opened), (&want, vec![0]));
    assert!(want.contains("opt/tool/run.sh") && !want.contains("script-unreadable"));
    // ... and from then on both images are served from the cache.
    let (got, opened) = scan_cached(&runs_tool, &cache, &opts);
    assert_eq!((got, opened), (want, vec![]));
    let (got, opened) = scan_cached(&echoes, &cache, &opts);
    assert_eq!((got, opened), (reference(&echoes), vec![]));
    // Another image naming the same file shares the supplement.
    let also_runs = image(&[&base], &["/bin/sh", "/opt/tool/run.sh", "--verbose"]);
    let (got, opened) = scan_cached(&also_runs, &cache, &opts);
    assert_eq!((got, opened), (reference(&also_runs), vec![]));
}

#[test]
fn undecodable_fragments_are_refused_and_rewritten() {
    let elf = fixture_elf();
    let (base, npm) = (base_layer(&elf), npm_layer());
    let img = image(&[&base, &npm], &["sh", "/opt/tool/run.sh"]);
    let want = reference(&img);
    let cache = MemCache::default();
    let opts = ScanOptions::default();
    scan_cached(&img, &cache, &opts);
    let keys: Vec<Digest> = cache.entries.lock().unwrap().keys().cloned().collect();
    for damage in [
        (|b: &mut Vec<u8>| b.truncate(b.len() / 2)) as fn(&mut Vec<u8>),
        |b| b[0] ^= 0xff,
        |b| b.push(7),
        |b| b.clear(),
    ] {
        for bytes in cache.entries.lock().unwrap().values_mut() {
            damage(bytes);
        }
        cache.rejected.lock().unwrap().clear();
        let (got, opened) = scan_cached(&img, &cache, &opts);
        assert_eq!(got, want);
        assert_eq!(opened, vec![0, 1]);
        let rejected = cache.rejected.lock().unwrap().len();
        assert!(
            rejected >= 2,
            "each layer's damaged fragment is refused: {rejected}"
        );
        let (got, opened) = scan_cached(&img, &cache, &opts);
        assert_eq!((got, opened), (want.clone(), vec![]), "rewritten");
    }
    let after: Vec<Digest> = cache.entries.lock().unwrap().keys().cloned().collect();
    assert_eq!(keys, after);
}

#[test]
fn a_layer_whose_split_would_not_be_exact_is_not_cached() {
    // The named file occurs twice in one layer: which version the naming
    // analyzer's record belongs to is ambiguous, so the layer is not stored.
    let twice = layer(&[
        Entry::File("opt/run.sh", 0o644, b"exec /bin/sh -c 'echo old'\n"),
        Entry::File("opt/run.sh", 0o644, b"exec /bin/sh -c 'echo new'\n"),
    ]);
    let elf = fixture_elf();
    let shell = layer(&[Entry::File("bin/sh", 0o755, &elf)]);
    let img = image(&[&shell, &twice], &["sh", "/opt/run.sh"]);
    let cache = MemCache::layers_only();
    let opts = ScanOptions::default();
    let want = reference(&img);
    assert!(want.contains("opt/run.sh"));
    let (got, opened) = scan_cached(&img, &cache, &opts);
    assert_eq!((&got, opened), (&want, vec![0, 1]));
    for _ in 0..2 {
        let (got, opened) = scan_cached(&img, &cache, &opts);
        assert_eq!(got, want);
        assert_eq!(
            opened,
            vec![1],
            "the ambiguous layer is streamed every time"
        );
    }
}

#[test]
fn options_that_change_the_walk_change_the_key() {
    let elf = fixture_elf();
    let base = base_layer(&elf);
    let img = image(&[&base], &["sh"]);
    let cache = MemCache::default();
    scan_cached(&img, &cache, &ScanOptions::default());
    let small = ScanOptions {
        limits: LayerLimits {
            // Over os-release, under dpkg's status file.
            max_captured_file: 100,
            ..LayerLimits::default()
        },
        lenient: true,
        ..ScanOptions::default()
    };
    let (got, opened) = scan_cached(&img, &cache, &small);
    assert_eq!(opened, vec![0], "other capture limits: another key");
    let uncached = json(&scan_image(&img.0, &small, &Silent).unwrap());
    assert_eq!(got, uncached);
    assert_ne!(got, reference(&img), "the limit does change the result");
    // Options that do not change the walk share the key.
    let lenient = ScanOptions {
        lenient: true,
        threads: 1,
        ..ScanOptions::default()
    };
    let (_, opened) = scan_cached(&img, &cache, &lenient);
    assert_eq!(opened, Vec::<u32>::new());
}
