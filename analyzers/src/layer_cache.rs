//! The scan's side of the layer cache: which key a layer's fragment lives
//! under, and how a cached fragment stands in for streaming the layer.
//!
//! The engine does not store anything itself. [`LayerCache`] is the hook a
//! caller implements (the CLI adapts `stella-cas` to it), so this crate never
//! depends on a storage crate: engines do not call each other sideways.
//!
//! ## Keys
//!
//! A layer's key is a sha256 over a canonical encoding of everything that
//! decides what the layer walk keeps ([`LayerFs`]): the layer's diffID (the
//! digest of its uncompressed tar: the same layer compressed differently
//! shares the key), the fragment format, [`CAPTURE_VERSION`], this crate's
//! version, every package analyzer and file analyzer with its version, and
//! the [`LayerLimits`]. Nothing image-specific is in it, so images built on
//! the same base share the base's fragments.
//!
//! The key also holds a fingerprint of the engine's source code (see
//! `build.rs`), so a build whose analysis differs in any way never reads
//! another build's entries, even if a version bump was forgotten.
//!
//! ## Whole images
//!
//! The analysis after the walk (squash, package analyzers, attribution,
//! EntryTrace) is a pure function of the layers' fragments, the layer table,
//! the image's start configuration and a few options. So the finished
//! inventory is cached too, keyed by all of those (the layer keys stand for
//! the fragments); a rescan of the same image reads only that entry. An image
//! whose config changed (another CMD, a new tag's history) misses it and is
//! analyzed from the cached layer fragments.
//!
//! ## The one image-specific analyzer
//!
//! [`ScriptAnalyzer::naming`] keeps the text of files named in the image's
//! ENTRYPOINT/CMD (`sh start.sh` needs neither `#!` nor an executable bit).
//! Putting its words into the layer key would tie every layer's fragment to
//! one image's command line, and a new application image on a shared base
//! would miss on every base layer. Instead the layer fragment is stored
//! without what that analyzer kept, and its findings go to a small
//! supplement keyed by the layer key plus the *candidate* paths: the files of
//! that layer it could claim for this image (regular files, or hardlinks to
//! them, whose base name is one of its words and which are neither ELF nor
//! already kept as a script — both visible in the fragment itself). The
//! supplement is looked up only when a layer has candidates, which for base
//! layers is rare; two images that name the same files share it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};
use stella_model::{Digest, ImageInfo, Inventory};
use stella_registry_store::LayerDescriptor;

use crate::analyzer::PackageAnalyzer;
use crate::entrytrace::script::ScriptAnalyzer;
use crate::entrytrace::StartConfig;
use crate::file_analyzer::{FileAnalyzer, FileReport, ScriptText};
use crate::fragment::{
    decode_inventory, decode_layer, decode_scripts, encode_inventory, encode_layer, encode_scripts,
    FragmentError, FRAGMENT_FORMAT,
};
use crate::layer::{EntryKind, LayerFs, LayerLimits};
use crate::scan::ScanOptions;

/// Bumped whenever what the layer walk keeps changes in a way no analyzer
/// version covers: `layer.rs`, the `wants` of `os_release`, `ownership` and
/// `usage`, or how reports are shared by hardlinks.
pub const CAPTURE_VERSION: u32 = 1;

/// Where the scan gets and puts per-layer fragments. Called from the scan's
/// worker threads. Problems of the backing store (I/O, damaged entries) are
/// the implementation's to report: they read as a miss, and the scan goes on.
pub trait LayerCache: Sync {
    /// The fragment stored under `key`, if any.
    fn get(&self, key: &Digest) -> Option<Vec<u8>>;
    /// Stores a fragment (replacing any entry under `key`).
    fn put(&self, key: &Digest, fragment: &[u8]);
    /// A fragment [`LayerCache::get`] returned could not be decoded; the
    /// layer is streamed again and its fragment put anew.
    fn rejected(&self, key: &Digest, reason: &str);
}

/// Feeds a length-prefixed field into the key hash (no two field lists
/// encode the same).
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The part of every layer key that is the same for all layers of a scan.
pub(crate) struct CaptureKey {
    prefix: Sha256,
}

impl CaptureKey {
    /// `file_analyzers` are the image-independent ones (not the naming script analyzer).
    pub(crate) fn new(
        analyzers: &[Box<dyn PackageAnalyzer>],
        file_analyzers: &[&dyn FileAnalyzer],
        limits: &LayerLimits,
    ) -> CaptureKey {
        let mut h = Sha256::new();
        field(&mut h, b"stella layer fragment");
        field(&mut h, &FRAGMENT_FORMAT.to_le_bytes());
        field(&mut h, &CAPTURE_VERSION.to_le_bytes());
        field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        field(&mut h, env!("STELLA_ENGINE_FINGERPRINT").as_bytes());
        let mut package: Vec<(&str, u32)> =
            analyzers.iter().map(|a| (a.name(), a.version())).collect();
        let mut file: Vec<(&str, u32)> = file_analyzers
            .iter()
            .map(|a| (a.name(), a.version()))
            .collect();
        for set in [&mut package, &mut file] {
            set.sort_unstable();
            field(&mut h, &(set.len() as u64).to_le_bytes());
            for (name, version) in set.iter() {
                field(&mut h, name.as_bytes());
                field(&mut h, &version.to_le_bytes());
            }
        }
        let LayerLimits {
            max_captured_file,
            max_entries,
            max_path_len,
        } = *limits;
        for n in [max_captured_file, max_entries, max_path_len as u64] {
            field(&mut h, &n.to_le_bytes());
        }
        CaptureKey { prefix: h }
    }

    /// The key of one layer's fragment.
    pub(crate) fn layer(&self, diff_id: &Digest) -> Digest {
        let mut h = self.prefix.clone();
        field(&mut h, diff_id.to_string().as_bytes());
        Digest::from_sha256_bytes(&h.finalize())
    }
}

/// The key of a whole image's inventory: every input of the analysis after
/// the layer walk except the source-specific image facts (which are put
/// back on a hit). The layer keys carry the engine and analyzer versions.
pub(crate) fn inventory_key(
    layer_keys: &[Digest],
    layers: &[LayerDescriptor],
    start: &StartConfig,
    opts: &ScanOptions,
) -> Digest {
    let opt = |h: &mut Sha256, v: Option<&str>| match v {
        Some(s) => {
            field(h, b"1");
            field(h, s.as_bytes());
        }
        None => field(h, b"0"),
    };
    let list = |h: &mut Sha256, v: &[String]| {
        field(h, &(v.len() as u64).to_le_bytes());
        for s in v {
            field(h, s.as_bytes());
        }
    };
    let mut h = Sha256::new();
    field(&mut h, b"stella inventory");
    field(&mut h, &(layers.len() as u64).to_le_bytes());
    for (key, l) in layer_keys.iter().zip(layers) {
        let LayerDescriptor {
            index,
            digest,
            media_type,
            size,
            diff_id: _, // in the layer key
            created_by,
        } = l;
        field(&mut h, key.to_string().as_bytes());
        field(&mut h, &index.to_le_bytes());
        field(&mut h, digest.to_string().as_bytes());
        field(&mut h, media_type.as_bytes());
        opt(&mut h, size.map(|s| s.to_string()).as_deref());
        opt(&mut h, created_by.as_deref());
    }
    let StartConfig {
        entrypoint,
        cmd,
        env,
        working_dir,
    } = start;
    list(&mut h, entrypoint);
    list(&mut h, cmd);
    list(&mut h, env);
    field(&mut h, working_dir.as_bytes());
    field(&mut h, &[u8::from(opts.lenient)]);
    field(&mut h, opts.tool.name.as_bytes());
    field(&mut h, opts.tool.version.as_bytes());
    Digest::from_sha256_bytes(&h.finalize())
}

/// A whole image's inventory from the cache, with `image` as its image facts.
pub(crate) fn lookup_inventory(
    cache: &dyn LayerCache,
    key: &Digest,
    image: ImageInfo,
) -> Option<Inventory> {
    let bytes = cache.get(key)?;
    match decode_inventory(&bytes, image) {
        Ok(inv) => Some(inv),
        Err(e) => {
            cache.rejected(key, &e.to_string());
            None
        }
    }
}

pub(crate) fn store_inventory(cache: &dyn LayerCache, key: &Digest, inv: &Inventory) {
    cache.put(key, &encode_inventory(inv));
}

/// The key of a layer's named-script supplement for one candidate set.
fn scripts_key(layer_key: &Digest, candidates: &BTreeSet<&str>) -> Digest {
    let mut h = Sha256::new();
    field(&mut h, b"stella named scripts");
    field(&mut h, layer_key.to_string().as_bytes());
    field(&mut h, &(candidates.len() as u64).to_le_bytes());
    for path in candidates {
        field(&mut h, path.as_bytes());
    }
    Digest::from_sha256_bytes(&h.finalize())
}

/// The paths of `fs` that `named` could claim (see the module docs).
fn named_candidates<'a>(fs: &'a LayerFs, named: &ScriptAnalyzer) -> BTreeSet<&'a str> {
    let kept = |p: &str| {
        fs.file_reports
            .get(p)
            .is_some_and(|r| r.elf.is_some() || r.script.is_some())
    };
    let mut out = BTreeSet::new();
    for (path, meta) in &fs.entries {
        let file = match &meta.kind {
            EntryKind::File => path.as_str(),
            EntryKind::Hardlink(target) => target.as_str(),
            _ => continue,
        };
        if named.names(file) && !kept(file) {
            out.insert(path.as_str());
        }
    }
    out
}

/// The naming script analyzer, remembering which files it claimed in one layer.
pub(crate) struct RecordingNamed<'a> {
    inner: &'a ScriptAnalyzer,
    claimed: Mutex<Vec<String>>,
}

impl<'a> RecordingNamed<'a> {
    pub(crate) fn new(inner: &'a ScriptAnalyzer) -> RecordingNamed<'a> {
        RecordingNamed {
            inner,
            claimed: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn into_claimed(self) -> Vec<String> {
        self.claimed
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl FileAnalyzer for RecordingNamed<'_> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn version(&self) -> u32 {
        self.inner.version()
    }

    fn claims(&self, path: &str, mode: u32, head: &[u8]) -> bool {
        let claims = self.inner.claims(path, mode, head);
        if claims {
            if let Ok(mut claimed) = self.claimed.lock() {
                claimed.push(path.to_string());
            }
        }
        claims
    }

    fn analyze_file(&self, path: &str, data: &[u8], report: &mut FileReport) -> Result<(), String> {
        self.inner.analyze_file(path, data, report)
    }
}

/// A cached stand-in for streaming the layer, when there is a whole one.
pub(crate) fn lookup(
    cache: &dyn LayerCache,
    key: &Digest,
    named: &ScriptAnalyzer,
) -> Option<LayerFs> {
    let mut fs = fetch(cache, key, decode_layer)?;
    let candidates = named_candidates(&fs, named);
    if !candidates.is_empty() {
        let scripts = fetch(cache, &scripts_key(key, &candidates), decode_scripts)?;
        merge_scripts(&mut fs, scripts);
    }
    Some(fs)
}

fn fetch<T>(
    cache: &dyn LayerCache,
    key: &Digest,
    decode: fn(&[u8]) -> Result<T, FragmentError>,
) -> Option<T> {
    let bytes = cache.get(key)?;
    match decode(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            cache.rejected(key, &e.to_string());
            None
        }
    }
}

/// Stores a freshly streamed layer: the image-independent fragment under
/// `key`, what `named` kept in the supplement. `fs` is unchanged afterwards.
pub(crate) fn store(
    cache: &dyn LayerCache,
    key: &Digest,
    fs: &mut LayerFs,
    claimed: Vec<String>,
    named: &ScriptAnalyzer,
) {
    let Some(scripts) = take_named_scripts(fs, claimed) else {
        return;
    };
    let candidates = named_candidates(fs, named);
    // Always true by construction; checked so that a future change to the
    // walk that breaks it costs a cache miss, never a wrong result.
    if scripts.keys().all(|p| candidates.contains(p.as_str())) {
        cache.put(key, &encode_layer(fs));
        if !candidates.is_empty() {
            cache.put(&scripts_key(key, &candidates), &encode_scripts(&scripts));
        }
    }
    merge_scripts(fs, scripts);
}

/// Moves the scripts `named` kept (in the files it claimed, and the
/// hardlinks that copied them) out of `fs`. `None`, with `fs` untouched,
/// when the split would not be exact: a claimed path that occurs twice in
/// the layer, or a claimed file with no script (it was over the size limit
/// and only carries a note naming the analyzers). Such layers are not cached.
fn take_named_scripts(
    fs: &mut LayerFs,
    claimed: Vec<String>,
) -> Option<BTreeMap<String, ScriptText>> {
    if claimed.is_empty() {
        return Some(BTreeMap::new());
    }
    let claimed: BTreeSet<String> = claimed.into_iter().collect();
    let mut paths: BTreeSet<&str> = claimed.iter().map(String::as_str).collect();
    for (path, meta) in &fs.entries {
        if let EntryKind::Hardlink(target) = &meta.kind {
            if claimed.contains(target) {
                paths.insert(path);
            }
        }
    }
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (path, _) in &fs.entries {
        if paths.contains(path.as_str()) {
            let n = seen.entry(path).or_default();
            *n += 1;
            if *n > 1 {
                return None;
            }
        }
    }
    let has_script = |p: &str| fs.file_reports.get(p).is_some_and(|r| r.script.is_some());
    if !claimed.iter().all(|p| has_script(p)) {
        return None;
    }
    let paths: Vec<String> = paths.into_iter().map(str::to_string).collect();
    let mut out = BTreeMap::new();
    for path in paths {
        let Some(report) = fs.file_reports.get_mut(&path) else {
            continue;
        };
        if let Some(script) = report.script.take() {
            if report.is_empty() {
                fs.file_reports.remove(&path);
            }
            out.insert(path, script);
        }
    }
    Some(out)
}

fn merge_scripts(fs: &mut LayerFs, scripts: BTreeMap<String, ScriptText>) {
    for (path, script) in scripts {
        fs.file_reports.entry(path).or_default().script = Some(script);
    }
}
