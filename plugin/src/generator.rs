//! The BuildKit SBOM generator protocol (DESIGN.md §3, measured with
//! BuildKit 0.13).
//!
//! BuildKit runs the generator image with `BUILDKIT_SCAN_SOURCE` (the final
//! stage's root filesystem, read-only), `BUILDKIT_SCAN_DESTINATION` (an empty
//! directory) and, when stages or the context are scanned,
//! `BUILDKIT_SCAN_SOURCE_EXTRAS` (one directory per extra: `sbom-<stage>`,
//! `sbom-context`). Every regular file written to the destination must be an
//! in-toto statement with predicate type `https://spdx.dev/Document`, no
//! subject (BuildKit adds the image) and no subdirectories.
//!
//! What we write:
//! - `sbom.spdx.json`: the SPDX 2.3 SBOM of the root filesystem. BuildKit
//!   decodes and re-encodes this one (unknown keys dropped) and gives every
//!   entry of `files[]` a `layerID: <layer digest>` comment. We list one
//!   *attribution file* per component there (for a Debian package its
//!   `var/lib/dpkg/info/<name>.list`, else its first evidence file), so the
//!   re-encoded document tells which layer each component came from.
//! - `stella-inventory.spdx.json`: passed through verbatim. An empty SPDX
//!   document whose extension key [`INVENTORY_KEY`] holds the whole inventory
//!   (layer evidence, source packages, licenses, properties) and each
//!   component's attribution file: everything `stella attach` needs to push
//!   CycloneDX, SPDX and BOM-Index referrers without reading a layer.
//! - `<extra>.spdx.json` for every extra: the SPDX SBOM of that stage or
//!   of the build context (passed through).
//!
//! Problems reading the filesystem are warnings inside the SBOMs
//! (annotations), not a failed build; [`Settings::strict`] makes them fatal.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use stella_analyzers::{scan_dir, ScanError, ScanOptions};
use stella_model::{ComponentKind, Inventory, Warning};
use stella_sbom::{SbomError, SbomOptions, SpdxFile};

/// The read-only root filesystem to scan.
pub const ENV_SOURCE: &str = "BUILDKIT_SCAN_SOURCE";
/// Where the statements go.
pub const ENV_DESTINATION: &str = "BUILDKIT_SCAN_DESTINATION";
/// Directory of extra root filesystems (stages, build context).
pub const ENV_EXTRAS: &str = "BUILDKIT_SCAN_SOURCE_EXTRAS";
/// `1` makes scan warnings fatal.
pub const ENV_STRICT: &str = "STELLA_STRICT";
/// `0` leaves `files[]` out of `sbom.spdx.json`: BuildKit then has no layer
/// lookups to do (it decompresses layers for them), and `stella attach`
/// gives components no layer.
pub const ENV_LAYER_FILES: &str = "STELLA_GENERATOR_LAYER_FILES";

/// The statement type BuildKit itself writes.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v0.1";
/// The only predicate type BuildKit accepts from a generator.
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// File BuildKit re-encodes (its name must start with `sbom.`).
pub const CORE_FILE: &str = "sbom.spdx.json";
/// The pass-through statement with the inventory.
pub const INVENTORY_FILE: &str = "stella-inventory.spdx.json";
/// `name` of the pass-through SPDX document.
pub const INVENTORY_DOCUMENT_NAME: &str = "stella-inventory";
/// Extension key of the pass-through predicate.
pub const INVENTORY_KEY: &str = "stellaInventory";
/// Version tag of what [`INVENTORY_KEY`] holds.
pub const PASSTHROUGH_FORMAT: &str = "stella-buildkit-inventory@1";

/// A generator run that could not complete (the build fails with this).
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    #[error("{set} is set but {missing} is not: BuildKit sets both")]
    HalfSet {
        set: &'static str,
        missing: &'static str,
    },
    #[error("{var}={path}: {reason}")]
    BadPath {
        var: &'static str,
        path: String,
        reason: String,
    },
    #[error("extra {name:?} in {ENV_EXTRAS}: {reason}")]
    BadExtra { name: String, reason: String },
    #[error("scanning {what}: {source}")]
    Scan {
        what: String,
        #[source]
        source: Box<ScanError>,
    },
    #[error("{ENV_STRICT}=1 and the scan has {} warning(s):\n  {}", .0.len(), .0.join("\n  "))]
    Strict(Vec<String>),
    #[error("writing the SBOM: {0}")]
    Sbom(#[from] SbomError),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where BuildKit wants us to read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub extras: Option<PathBuf>,
}

impl Request {
    /// The request in the environment; `None` when this is not a generator
    /// run (neither variable set).
    pub fn from_env() -> Result<Option<Request>, GeneratorError> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        match (var(ENV_SOURCE), var(ENV_DESTINATION)) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(GeneratorError::HalfSet {
                set: ENV_SOURCE,
                missing: ENV_DESTINATION,
            }),
            (None, Some(_)) => Err(GeneratorError::HalfSet {
                set: ENV_DESTINATION,
                missing: ENV_SOURCE,
            }),
            (Some(source), Some(destination)) => Ok(Some(Request {
                source: source.into(),
                destination: destination.into(),
                extras: var(ENV_EXTRAS).map(PathBuf::from),
            })),
        }
    }
}

/// How to scan and what to stamp on the documents.
#[derive(Debug, Clone)]
pub struct Settings {
    pub scan: ScanOptions,
    pub sbom: SbomOptions,
    /// Fail on any scan warning instead of recording it.
    pub strict: bool,
    /// List each component's attribution file for BuildKit's layer lookup.
    pub layer_files: bool,
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Files written to the destination, in the order written.
    pub files: Vec<PathBuf>,
    /// Components of the root filesystem.
    pub components: usize,
    /// Extras scanned, by name.
    pub extras: Vec<String>,
    /// Warnings recorded in the SBOMs (all scans).
    pub warnings: Vec<String>,
}

/// What the pass-through statement carries (under [`INVENTORY_KEY`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passthrough {
    /// [`PASSTHROUGH_FORMAT`].
    pub format: String,
    /// `documentNamespace` of the `sbom.spdx.json` written in the same run:
    /// pairs the two statements.
    #[serde(rename = "coreDocumentNamespace")]
    pub core_document_namespace: String,
    /// Per component (same order as `inventory.components`): the file listed
    /// in the core document whose layer is the component's, `./`-rooted.
    pub attribution: Vec<Option<String>>,
    pub inventory: Inventory,
}

/// Scans what BuildKit hands over and writes the statements.
pub fn run(request: &Request, settings: &Settings) -> Result<Outcome, GeneratorError> {
    check_dir(ENV_SOURCE, &request.source)?;
    check_dir(ENV_DESTINATION, &request.destination)?;
    let extras = match &request.extras {
        Some(dir) => list_extras(dir)?,
        None => Vec::new(),
    };

    let core = scan_rootfs(&request.source, "rootfs", &settings.scan)?;
    let mut extra_inventories = Vec::with_capacity(extras.len());
    for (name, path) in &extras {
        extra_inventories.push((name.clone(), scan_rootfs(path, name, &settings.scan)?));
    }

    let mut warnings: Vec<String> = core.warnings.iter().map(describe).collect();
    for (name, inv) in &extra_inventories {
        warnings.extend(
            inv.warnings
                .iter()
                .map(|w| format!("{name}: {}", describe(w))),
        );
    }
    if settings.strict && !warnings.is_empty() {
        return Err(GeneratorError::Strict(warnings));
    }

    let mut outcome = Outcome {
        files: Vec::new(),
        components: core.components.len(),
        extras: extras.iter().map(|(n, _)| n.clone()).collect(),
        warnings,
    };

    // The core document, with the attribution files BuildKit will annotate.
    let attribution: Vec<Option<String>> = core
        .components
        .iter()
        .map(|c| {
            settings
                .layer_files
                .then(|| attribution_file(&request.source, c))
                .flatten()
        })
        .collect();
    let mut listed: BTreeMap<String, SpdxFile> = BTreeMap::new();
    for path in attribution.iter().flatten() {
        if !listed.contains_key(path) {
            if let Some(file) = spdx_file(&request.source, path) {
                listed.insert(path.clone(), file);
            }
        }
    }
    // A component whose file could not be listed has no attribution.
    let attribution: Vec<Option<String>> = attribution
        .into_iter()
        .map(|a| a.filter(|p| listed.contains_key(p)))
        .collect();
    let files: Vec<SpdxFile> = listed.into_values().collect();
    let core_doc: Value = serde_json::from_slice(&stella_sbom::spdx_json_with_files(
        &core,
        &settings.sbom,
        &files,
    )?)
    .map_err(SbomError::from)?;
    let core_namespace = core_doc["documentNamespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    outcome
        .files
        .push(write_statement(&request.destination, CORE_FILE, core_doc)?);

    // The pass-through inventory.
    let passthrough = Passthrough {
        format: PASSTHROUGH_FORMAT.to_string(),
        core_document_namespace: core_namespace.clone(),
        attribution,
        inventory: core,
    };
    let predicate = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": INVENTORY_DOCUMENT_NAME,
        "documentNamespace": format!("{core_namespace}/{INVENTORY_DOCUMENT_NAME}"),
        "creationInfo": {
            "created": settings.sbom.timestamp,
            "creators": [format!("Tool: stella-{}", settings.sbom.tool_version)],
        },
        // One package standing for the inventory, so the document describes
        // something (SPDX requires it) without repeating the components.
        "packages": [{
            "name": INVENTORY_DOCUMENT_NAME,
            "SPDXID": "SPDXRef-StellaInventory",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "comment": format!("The Stella inventory of the scanned root filesystem, under the `{INVENTORY_KEY}` key; the SBOM is the sbom.spdx.json statement."),
        }],
        "relationships": [{
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-StellaInventory",
        }],
        INVENTORY_KEY: passthrough,
    });
    outcome.files.push(write_statement(
        &request.destination,
        INVENTORY_FILE,
        predicate,
    )?);

    for (name, inv) in &extra_inventories {
        let doc: Value = serde_json::from_slice(&stella_sbom::spdx_json(inv, &settings.sbom)?)
            .map_err(SbomError::from)?;
        outcome.files.push(write_statement(
            &request.destination,
            &format!("{name}.spdx.json"),
            doc,
        )?);
    }
    Ok(outcome)
}

/// `STELLA_STRICT` as a flag (`1`, `true`, `yes`).
pub fn strict_from_env() -> bool {
    std::env::var(ENV_STRICT)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// `STELLA_GENERATOR_LAYER_FILES`: on unless `0`, `false` or `no`.
pub fn layer_files_from_env() -> bool {
    std::env::var(ENV_LAYER_FILES)
        .map(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no"))
        .unwrap_or(true)
}

fn check_dir(var: &'static str, path: &Path) -> Result<(), GeneratorError> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(GeneratorError::BadPath {
            var,
            path: path.display().to_string(),
            reason: "not a directory".into(),
        }),
        Err(e) => Err(GeneratorError::BadPath {
            var,
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The extras, sorted by name. Names become file names, so only plain ones
/// are accepted.
fn list_extras(dir: &Path) -> Result<Vec<(String, PathBuf)>, GeneratorError> {
    check_dir(ENV_EXTRAS, dir)?;
    let entries = fs::read_dir(dir).map_err(|e| GeneratorError::BadPath {
        var: ENV_EXTRAS,
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut extras = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| GeneratorError::BadPath {
            var: ENV_EXTRAS,
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name != CORE_FILE.trim_end_matches(".spdx.json")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !plain {
            return Err(GeneratorError::BadExtra {
                name,
                reason: "not a plain name ([A-Za-z0-9._-], not `sbom`)".into(),
            });
        }
        if !entry.path().is_dir() {
            return Err(GeneratorError::BadExtra {
                name,
                reason: "not a directory".into(),
            });
        }
        extras.push((name, entry.path()));
    }
    extras.sort();
    Ok(extras)
}

/// Scans one root filesystem. Unreadable databases and files are warnings
/// (lenient); the source label is the content's digest, so the SBOM's
/// namespace differs between different filesystems and is stable for one.
fn scan_rootfs(path: &Path, name: &str, opts: &ScanOptions) -> Result<Inventory, GeneratorError> {
    let mut opts = opts.clone();
    opts.lenient = true;
    let mut inv = scan_dir(path, "buildkit", &opts).map_err(|source| GeneratorError::Scan {
        what: format!("{name} ({})", path.display()),
        source: Box::new(source),
    })?;
    inv.image.name = Some(format!("buildkit-{name}"));
    let content =
        serde_json::to_vec(&(&inv.components, &inv.distro, &inv.warnings)).unwrap_or_default();
    inv.image.source = format!(
        "buildkit:{name}@sha256:{}",
        hex::encode(Sha256::digest(content))
    );
    Ok(inv)
}

fn describe(w: &Warning) -> String {
    match &w.path {
        Some(p) => format!("/{}: {}", p.trim_start_matches('/'), w.message),
        None => w.message.clone(),
    }
}

/// The file whose layer is the component's layer, `./`-rooted (BuildKit
/// matches `./x`, `/x` and `x` alike; spdx-tools accepts only `./x`).
fn attribution_file(root: &Path, c: &stella_model::Component) -> Option<String> {
    if c.kind == ComponentKind::Deb {
        // dpkg rewrites `status` for every install, but a package's `.list`
        // only when that package is installed or upgraded.
        let arch_qualified = c.arch.as_ref().map(|a| format!("{}:{a}", c.name));
        for stem in arch_qualified.iter().chain(std::iter::once(&c.name)) {
            let rel = format!("var/lib/dpkg/info/{stem}.list");
            if regular_file_in(root, &rel).is_some() {
                return Some(format!("./{rel}"));
            }
        }
    }
    // Nested archives are named `outer.jar!/inner.jar`: the outer file is
    // the one on disk.
    let evidence = c.evidence.first()?;
    let on_disk = evidence.split("!/").next().unwrap_or(evidence);
    Some(format!("./{}", on_disk.trim_start_matches('/')))
}

/// The SPDX file record (checksums) of `./rel` under `root`.
fn spdx_file(root: &Path, dotted: &str) -> Option<SpdxFile> {
    let rel = dotted.trim_start_matches("./");
    let mut file = regular_file_in(root, rel)?;
    let mut sha1 = sha1::Sha1::new();
    let mut sha256 = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        sha1.update(&buf[..n]);
        sha256.update(&buf[..n]);
    }
    Some(SpdxFile {
        path: dotted.to_string(),
        sha1_hex: hex::encode(sha1.finalize()),
        sha256_hex: hex::encode(sha256.finalize()),
    })
}

/// Opens `rel` under `root` only if no component of it is a symlink and it
/// is a regular file: an absolute symlink in the scanned filesystem must not
/// lead us into the generator's own filesystem.
fn regular_file_in(root: &Path, rel: &str) -> Option<fs::File> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == ".." || *part == "." {
            return None;
        }
        path.push(part);
        let meta = fs::symlink_metadata(&path).ok()?;
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() || (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return None;
        }
    }
    fs::File::open(&path).ok()
}

/// Writes one statement (`predicate` wrapped) as `dir/name`, through a
/// temporary file renamed into place.
fn write_statement(dir: &Path, name: &str, predicate: Value) -> Result<PathBuf, GeneratorError> {
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "predicateType": SPDX_PREDICATE,
        "subject": [],
        "predicate": predicate,
    });
    let path = dir.join(name);
    let write_err = |source| GeneratorError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = serde_json::to_vec(&statement).map_err(SbomError::from)?;
    bytes.push(b'\n');
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::File::create(&tmp).map_err(write_err)?;
    f.write_all(&bytes).map_err(write_err)?;
    f.sync_all().map_err(write_err)?;
    drop(f);
    fs::rename(&tmp, &path).map_err(write_err)?;
    Ok(path)
}
