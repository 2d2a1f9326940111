//! The scan pipeline: stream layers in parallel → squash → detect the distro →
//! run each package analyzer at every layer where its files changed →
//! attribute components to the layer that introduced them → [`Inventory`].

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use stella_model::{
    Component, Digest, Distro, ImageInfo, Inventory, LayerInfo, ToolInfo, Warning, INVENTORY_SCHEMA,
};
use stella_registry_store::{LayerDescriptor, ResolvedImage, StoreError};

use crate::analyzer::{AnalyzeContext, Findings, PackageAnalyzer};
use crate::dir::read_dir_tree;
use crate::entrytrace::script::ScriptAnalyzer;
use crate::entrytrace::{ImageFs, StartConfig};
use crate::file_analyzer::{FileAnalyzer, FileReport};
use crate::layer::{read_layer, Interest, LayerError, LayerFs, LayerLimits};
use crate::layer_cache::{self, CaptureKey, LayerCache, RecordingNamed};
use crate::os::{apk::ApkAnalyzer, dpkg::DpkgAnalyzer, os_release, rpm::RpmAnalyzer};
use crate::ownership::{self, FileOwners};
use crate::squash::SquashedFs;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Layers streamed at once (≥ 1).
    pub threads: usize,
    /// Keep unreadable package databases as warnings instead of failing.
    pub lenient: bool,
    pub limits: LayerLimits,
    pub tool: ToolInfo,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            lenient: false,
            limits: LayerLimits::default(),
            tool: ToolInfo {
                name: "stella".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
        }
    }
}

/// Progress callbacks (a TTY progress bar in the CLI; nothing in CI).
pub trait Progress: Sync {
    /// A layer of `size` bytes (if known) starts streaming.
    fn layer_started(&self, _index: u32, _size: Option<u64>) {}
    /// `bytes` more of blob data were read.
    fn bytes_read(&self, _bytes: u64) {}
    fn layer_finished(&self, _index: u32) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    // The cause is in the message, so it is not also the `source()`:
    // chained reports (anyhow's `{:#}`) would print it twice.
    #[error("image {image}, layer {layer} ({digest}): {error}")]
    Layer {
        image: String,
        layer: u32,
        digest: Digest,
        error: LayerError,
    },
    #[error("image {image}{}: {analyzer} could not read {path}: {message}", layer.map(|l| format!(", layer {l}")).unwrap_or_default())]
    Analyzer {
        image: String,
        layer: Option<u32>,
        analyzer: &'static str,
        path: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Dir { path: String, message: String },
}

/// Every analyzer Stella runs, in a fixed order.
pub fn default_analyzers() -> Vec<Box<dyn PackageAnalyzer>> {
    vec![
        Box::new(DpkgAnalyzer),
        Box::new(ApkAnalyzer),
        Box::new(RpmAnalyzer),
        Box::new(crate::lang::npm::NpmAnalyzer),
        Box::new(crate::lang::python::PythonAnalyzer),
        Box::new(crate::lang::dotnet::DotnetAnalyzer),
        Box::new(crate::lang::composer::ComposerAnalyzer),
        Box::new(crate::lang::gem::GemAnalyzer),
    ]
}

/// True for the files the analysis after the squash reads: package
/// databases, os-release, the OS packages' file lists and the dynamic
/// loader's configuration (usage view).
fn wanted_by_analysis(analyzers: &[Box<dyn PackageAnalyzer>], path: &str) -> bool {
    os_release::wants(path)
        || ownership::wants(path)
        || crate::usage::wants(path)
        || analyzers.iter().any(|a| a.wants(path))
}

/// Every file analyzer Stella runs inside the layer walk, in a fixed order.
pub fn default_file_analyzers() -> Vec<Box<dyn FileAnalyzer>> {
    vec![
        Box::new(crate::binary::elf_facts::ElfAnalyzer),
        Box::new(crate::binary::go::GoBuildInfoAnalyzer),
        Box::new(crate::binary::rust::CargoAuditableAnalyzer),
        Box::new(crate::binary::java::JarAnalyzer::default()),
        Box::new(ScriptAnalyzer::default()),
    ]
}

/// What the image config says runs at start, when it says anything.
fn start_config(image: &ResolvedImage) -> Option<StartConfig> {
    let runtime = image.config.config.as_ref()?;
    Some(StartConfig {
        entrypoint: runtime.entrypoint.clone().unwrap_or_default(),
        cmd: runtime.cmd.clone().unwrap_or_default(),
        env: runtime.env.clone().unwrap_or_default(),
        working_dir: runtime.working_dir.clone().unwrap_or_default(),
    })
}

/// Scans an image from any store.
pub fn scan_image(
    image: &ResolvedImage,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ScanError> {
    scan_image_with(image, opts, progress, None)
}

/// Scans an image, taking each layer's walk result from `cache` when it is
/// there (the blob is then not even opened) and putting it there when not.
/// The inventory is the same with or without a cache, warm or cold.
pub fn scan_image_with(
    image: &ResolvedImage,
    opts: &ScanOptions,
    progress: &dyn Progress,
    cache: Option<&dyn LayerCache>,
) -> Result<Inventory, ScanError> {
    let analyzers = default_analyzers();
    let wants = |p: &str| wanted_by_analysis(&analyzers, p);
    // A config without ENTRYPOINT/CMD still gets a trace (that says so).
    let start = start_config(image).unwrap_or_default();
    let file_analyzers = default_file_analyzers();
    let mut file_refs: Vec<&dyn FileAnalyzer> = file_analyzers.iter().map(|a| a.as_ref()).collect();
    let named = ScriptAnalyzer::naming(&start.argv());
    let label = image_label(&image.info);
    let mut inventory_key = None;
    let layers = match cache {
        None => {
            file_refs.push(&named);
            let interest = Interest {
                wants: &wants,
                file_analyzers: &file_refs,
            };
            stream_layers(image, opts, &|layer| {
                stream_layer(image, layer, &interest, opts, progress, &label)
            })?
        }
        Some(cache) => {
            let capture = CaptureKey::new(&analyzers, &file_refs, &opts.limits);
            let layer_keys: Vec<Digest> = image
                .layers
                .iter()
                .map(|l| capture.layer(&l.diff_id))
                .collect();
            let key = layer_cache::inventory_key(&layer_keys, &image.layers, &start, opts);
            if let Some(inv) = layer_cache::lookup_inventory(cache, &key, image.info.clone()) {
                image
                    .layers
                    .iter()
                    .for_each(|l| served_from_cache(progress, l));
                return Ok(inv);
            }
            inventory_key = Some(key);
            stream_layers(image, opts, &|layer| {
                let key = capture.layer(&layer.diff_id);
                if let Some(fs) = layer_cache::lookup(cache, &key, &named) {
                    served_from_cache(progress, layer);
                    return Ok(fs);
                }
                let recording = RecordingNamed::new(&named);
                let mut refs = file_refs.clone();
                refs.push(&recording);
                let interest = Interest {
                    wants: &wants,
                    file_analyzers: &refs,
                };
                let mut fs = stream_layer(image, layer, &interest, opts, progress, &label)?;
                layer_cache::store(cache, &key, &mut fs, recording.into_claimed(), &named);
                Ok(fs)
            })?
        }
    };
    let layer_infos = image
        .layers
        .iter()
        .map(|l| layer_info(l, layers.get(l.index as usize).map_or(0, |f| f.tar_bytes)))
        .collect();
    let inventory = analyze(
        &layers,
        layer_infos,
        image.info.clone(),
        &analyzers,
        Some(&start),
        opts,
        &label,
    )?;
    if let (Some(cache), Some(key)) = (cache, &inventory_key) {
        layer_cache::store_inventory(cache, key, &inventory);
    }
    Ok(inventory)
}

/// The layer-table entry of one image layer. `tar_bytes` is its size when
/// the source declares none (docker-archive layers).
pub fn layer_info(layer: &LayerDescriptor, tar_bytes: u64) -> LayerInfo {
    LayerInfo {
        index: layer.index,
        digest: Some(layer.digest.clone()),
        diff_id: Some(layer.diff_id.clone()),
        media_type: Some(layer.media_type.clone()).filter(|m| !m.is_empty()),
        size: layer.size.unwrap_or(tar_bytes),
        created_by: layer.created_by.clone(),
    }
}

/// Scans a root filesystem directory (one pseudo-layer, no digests).
pub fn scan_dir(root: &Path, source: &str, opts: &ScanOptions) -> Result<Inventory, ScanError> {
    let analyzers = default_analyzers();
    let wants = |p: &str| wanted_by_analysis(&analyzers, p);
    let file_analyzers = default_file_analyzers();
    let file_refs: Vec<&dyn FileAnalyzer> = file_analyzers.iter().map(|a| a.as_ref()).collect();
    let interest = Interest {
        wants: &wants,
        file_analyzers: &file_refs,
    };
    let fs = read_dir_tree(root, &interest, &opts.limits).map_err(|e| ScanError::Dir {
        path: root.display().to_string(),
        message: e.to_string(),
    })?;
    let info = ImageInfo {
        source: source.to_string(),
        name: Some(root.display().to_string()),
        ..ImageInfo::default()
    };
    let layer = LayerInfo {
        index: 0,
        digest: None,
        diff_id: None,
        media_type: None,
        size: fs.tar_bytes,
        created_by: None,
    };
    // A root filesystem has no image config: nothing says what runs.
    analyze(&[fs], vec![layer], info, &analyzers, None, opts, source)
}

fn image_label(info: &ImageInfo) -> String {
    match info.identity_digest() {
        Some(d) => format!("{}@{}", info.source, d),
        None => info.source.clone(),
    }
}

/// Reads a blob while reporting progress.
struct Metered<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes_read(n as u64);
        Ok(n)
    }
}

/// Progress for a layer the cache answered: done at once, as if read.
fn served_from_cache(progress: &dyn Progress, layer: &LayerDescriptor) {
    progress.layer_started(layer.index, layer.size);
    progress.bytes_read(layer.size.unwrap_or(0));
    progress.layer_finished(layer.index);
}

/// Streams one layer blob through the walk.
fn stream_layer(
    image: &ResolvedImage,
    layer: &LayerDescriptor,
    interest: &Interest<'_>,
    opts: &ScanOptions,
    progress: &dyn Progress,
    label: &str,
) -> Result<LayerFs, ScanError> {
    progress.layer_started(layer.index, layer.size);
    let layer_err = |error: LayerError| ScanError::Layer {
        image: label.to_string(),
        layer: layer.index,
        digest: layer.digest.clone(),
        error,
    };
    // A missing or unreadable blob is this layer's failure: say which image and layer.
    let blob = image.blobs.open_layer(layer).map_err(|e| {
        layer_err(LayerError {
            path: None,
            message: e.to_string(),
        })
    })?;
    let fs = read_layer(
        Metered {
            inner: blob,
            progress,
        },
        Some(&layer.diff_id),
        interest,
        &opts.limits,
    )
    .map_err(layer_err)?;
    progress.layer_finished(layer.index);
    Ok(fs)
}

/// Gets every layer's walk result with `read_one` on `opts.threads`
/// workers; results in layer order.
fn stream_layers(
    image: &ResolvedImage,
    opts: &ScanOptions,
    read_one: &(dyn Fn(&LayerDescriptor) -> Result<LayerFs, ScanError> + Sync),
) -> Result<Vec<LayerFs>, ScanError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<LayerFs, ScanError>>>> =
        Mutex::new((0..image.layers.len()).map(|_| None).collect());
    let workers = opts.threads.clamp(1, image.layers.len().max(1));
    // Largest layers first: the scan takes at least as long as its biggest
    // layer, so starting that one last would leave a core idle at the end.
    let mut order: Vec<usize> = (0..image.layers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(image.layers[i].size.unwrap_or(0)));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let layer = &image.layers[i];
                let result = read_one(layer);
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(result);
                }
            });
        }
    });
    let slots = results
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    // Report the lowest failing layer so the error is the same at any thread count.
    let mut layers = Vec::with_capacity(slots.len());
    for slot in slots {
        match slot {
            Some(Ok(fs)) => layers.push(fs),
            Some(Err(e)) => return Err(e),
            None => {} // skipped after an earlier failure; the error is reported below
        }
    }
    if layers.len() != image.layers.len() {
        return Err(ScanError::Store(StoreError::Unsupported(
            "a layer was not read after another failed".to_string(),
        )));
    }
    Ok(layers)
}

/// Squashes, detects the distro, runs analyzers per layer checkpoint,
/// attributes components, and traces the entrypoint when there is a config.
fn analyze(
    layers: &[LayerFs],
    layer_infos: Vec<LayerInfo>,
    info: ImageInfo,
    analyzers: &[Box<dyn PackageAnalyzer>],
    start: Option<&StartConfig>,
    opts: &ScanOptions,
    label: &str,
) -> Result<Inventory, ScanError> {
    let mut warnings = Vec::new();
    for (i, fs) in layers.iter().enumerate() {
        for (path, reason) in &fs.skipped {
            warnings.push(Warning {
                layer: Some(i as u32),
                path: Some(path.clone()),
                message: format!("not analyzed: {reason}"),
            });
        }
    }

    let mut top = SquashedFs::new(layers);
    top.apply_all();
    let distro: Option<Distro> = os_release::detect(&top).map_err(|e| ScanError::Analyzer {
        image: label.to_string(),
        layer: None,
        analyzer: "os-release",
        path: "etc/os-release".to_string(),
        message: e.to_string(),
    })?;
    let ctx = AnalyzeContext {
        distro: distro.as_ref(),
    };

    let files = visible_file_reports(layers, &top);
    warnings.extend(files.warnings);
    let mut components = files.components;
    let reports = files.reports;
    let attributed = attribute_all(layers, analyzers, &ctx);
    for (analyzer, result) in analyzers.iter().zip(attributed) {
        match result {
            Ok(found) => {
                // Notes describe the final squashed view, not one layer.
                warnings.extend(found.notes.into_iter().map(|(path, message)| Warning {
                    layer: None,
                    path: Some(path),
                    message: format!("{}: {message}", analyzer.name()),
                }));
                components.extend(found.components);
            }
            Err((layer, e)) if opts.lenient => warnings.push(Warning {
                layer,
                path: Some(e.path.clone()),
                message: format!("{} analyzer skipped: {}", analyzer.name(), e.message),
            }),
            Err((layer, e)) => {
                return Err(ScanError::Analyzer {
                    image: label.to_string(),
                    layer,
                    analyzer: analyzer.name(),
                    path: e.path,
                    message: e.message,
                })
            }
        }
    }
    // Reported once: a language package inside an OS package's files is a
    // property of that OS package.
    let mut owners = FileOwners::collect(&top, &components);
    ownership::fold_owned_language_packages(&mut components, &mut owners);
    for c in &mut components {
        if let Some(l) = c.layer {
            c.layer_diff_id = layer_infos
                .get(l as usize)
                .and_then(|li| li.diff_id.clone());
        }
    }
    let entry_trace = start.map(|start| {
        let fs = ImageFs {
            view: &top,
            reports: &reports,
        };
        let mut trace = crate::entrytrace::trace(&fs, start);
        let closure = crate::usage::closure(
            &fs,
            &trace,
            &start.environment(),
            &crate::usage::LoaderConfig::read(&top),
            &components,
        );
        crate::usage::mark(&mut components, &closure.files, &|p| owners.owner_of(p));
        trace.files = closure.files.into_iter().collect();
        trace.unresolved = closure.unresolved.into_iter().collect();
        trace
    });
    let mut inventory = Inventory {
        schema: INVENTORY_SCHEMA,
        tool: opts.tool.clone(),
        image: info,
        distro,
        layers: layer_infos,
        components,
        entry_trace,
        warnings,
    };
    inventory.canonicalize();
    Ok(inventory)
}

/// The file analyzers' findings for the files visible in the final image.
struct VisibleFiles<'a> {
    components: Vec<Component>,
    warnings: Vec<Warning>,
    /// The visible reports by physical path (ELF facts, script text), for
    /// EntryTrace and the usage view.
    reports: BTreeMap<String, &'a FileReport>,
}

/// Keeps each layer's file reports whose path that layer still provides at
/// the top; the component's layer is that layer.
fn visible_file_reports<'a>(layers: &'a [LayerFs], top: &SquashedFs<'_>) -> VisibleFiles<'a> {
    let mut out = VisibleFiles {
        components: Vec::new(),
        warnings: Vec::new(),
        reports: BTreeMap::new(),
    };
    for (index, fs) in layers.iter().enumerate() {
        let layer = index as u32;
        for (path, report) in &fs.file_reports {
            if top.layer_of(path) != Some(layer) {
                continue;
            }
            out.warnings.extend(report.notes.iter().map(|note| Warning {
                layer: Some(layer),
                path: Some(path.clone()),
                message: note.clone(),
            }));
            out.components
                .extend(report.components.iter().map(|c| Component {
                    layer: Some(layer),
                    ..c.clone()
                }));
            if report.elf.is_some() || report.script.is_some() {
                out.reports.insert(path.clone(), report);
            }
        }
    }
    out
}

type Attributed = Result<Findings, (Option<u32>, crate::AnalyzerError)>;

/// One analyzer's progress through the layers.
struct Attribution<'a> {
    analyzer: &'a dyn PackageAnalyzer,
    /// Every path this analyzer captured in any layer; a checkpoint is a
    /// layer after which one of them appears, changes or disappears.
    watched: Vec<&'a str>,
    signature: Vec<Option<u32>>,
    /// For each identity: the layer since which it has been continuously present.
    since: BTreeMap<(String, String, String, String), u32>,
    last: Findings,
    failed: Option<(Option<u32>, crate::AnalyzerError)>,
}

/// Runs each analyzer on the view after every layer that changed one of its
/// files, and gives each final component the lowest layer from which it was
/// continuously present. All analyzers share one incremental view: building
/// it costs a map insert per entry of the image, so once is enough.
fn attribute_all<'a>(
    layers: &'a [LayerFs],
    analyzers: &'a [Box<dyn PackageAnalyzer>],
    ctx: &AnalyzeContext<'_>,
) -> Vec<Attributed> {
    let mut states: Vec<Attribution<'a>> = analyzers
        .iter()
        .map(|analyzer| {
            let mut watched: Vec<&str> = layers
                .iter()
                .flat_map(|l| l.captured.keys().chain(l.skipped.keys()))
                .map(String::as_str)
                .filter(|p| analyzer.wants(p))
                .collect();
            watched.sort_unstable();
            watched.dedup();
            Attribution {
                analyzer: analyzer.as_ref(),
                watched,
                signature: Vec::new(),
                since: BTreeMap::new(),
                last: Findings::default(),
                failed: None,
            }
        })
        .collect();
    if states.iter().any(|s| !s.watched.is_empty()) {
        let mut view = SquashedFs::new(layers);
        while view.apply_next() {
            let layer = (view.applied() - 1) as u32;
            for state in states.iter_mut() {
                if state.watched.is_empty() || state.failed.is_some() {
                    continue;
                }
                let sig: Vec<Option<u32>> =
                    state.watched.iter().map(|p| view.layer_of(p)).collect();
                if sig == state.signature {
                    continue;
                }
                state.signature = sig;
                let findings = match state.analyzer.analyze(&view, ctx) {
                    Ok(f) => f,
                    Err(e) => {
                        state.failed = Some((Some(layer), e));
                        continue;
                    }
                };
                let present: HashSet<_> = findings.components.iter().map(key).collect();
                state.since.retain(|k, _| present.contains(k));
                for k in present {
                    state.since.entry(k).or_insert(layer);
                }
                state.last = findings;
            }
        }
    }
    states
        .into_iter()
        .map(|state| {
            if let Some(failure) = state.failed {
                return Err(failure);
            }
            let mut last = state.last;
            for c in &mut last.components {
                c.layer = state.since.get(&key(c)).copied();
            }
            Ok(last)
        })
        .collect()
}

fn key(c: &Component) -> (String, String, String, String) {
    (
        c.kind.as_str().to_string(),
        c.name.clone(),
        c.version.clone(),
        c.arch.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_analyzer::FileReport;
    use stella_model::ComponentKind;

    /// Claims files starting with `PKG ` and reports the rest of the first line as a name.
    struct Tagged;
    impl FileAnalyzer for Tagged {
        fn name(&self) -> &'static str {
            "tagged"
        }
        fn version(&self) -> u32 {
            1
        }
        fn claims(&self, _path: &str, _mode: u32, head: &[u8]) -> bool {
            head.starts_with(b"PKG ")
        }
        fn analyze_file(
            &self,
            _: &str,
            data: &[u8],
            report: &mut FileReport,
        ) -> Result<(), String> {
            let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
            let name = std::str::from_utf8(&line[4..]).map_err(|e| e.to_string())?;
            if name.is_empty() {
                return Err("empty name".into());
            }
            report
                .components
                .push(Component::new(ComponentKind::Golang, name, "1"));
            Ok(())
        }
    }

    fn layer(files: &[(&str, &[u8])]) -> LayerFs {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_cksum();
            tar.append_data(&mut h, path, *data).unwrap();
        }
        let bytes = tar.into_inner().unwrap();
        let analyzers: [&dyn FileAnalyzer; 1] = [&Tagged];
        let interest = Interest {
            wants: &|_| false,
            file_analyzers: &analyzers,
        };
        read_layer(&bytes[..], None, &interest, &LayerLimits::default()).unwrap()
    }

    #[test]
    fn file_reports_follow_the_squash() {
        let layers = [
            layer(&[
                ("bin/kept", b"PKG kept\n"),
                ("bin/replaced", b"PKG old\n"),
                ("bin/deleted", b"PKG deleted\n"),
                ("bin/broken", b"PKG \n"),
                ("bin/plain", b"just text"),
            ]),
            layer(&[
                ("bin/replaced", b"not a package any more"),
                ("bin/.wh.deleted", b""),
                ("bin/new", b"PKG new\n"),
            ]),
        ];
        let mut top = SquashedFs::new(&layers);
        top.apply_all();
        let files = visible_file_reports(&layers, &top);
        let found: Vec<(String, Option<u32>, Vec<String>)> = files
            .components
            .iter()
            .map(|c| (c.name.clone(), c.layer, c.evidence.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("kept".to_string(), Some(0), vec!["bin/kept".to_string()]),
                ("new".to_string(), Some(1), vec!["bin/new".to_string()]),
            ]
        );
        assert_eq!(files.warnings.len(), 1, "{:?}", files.warnings);
        assert_eq!(files.warnings[0].path.as_deref(), Some("bin/broken"));
        assert_eq!(files.warnings[0].message, "tagged: empty name");
    }
}
