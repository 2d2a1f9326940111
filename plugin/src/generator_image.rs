//! The generator image: what BuildKit runs for `--sbom=generator=IMAGE`,
//! built from local files only (no base image, no Dockerfile, no daemon).
//!
//! One layer holds the stella binary at `/usr/local/bin/stella`, what it
//! needs to start in an otherwise empty root filesystem (its program
//! interpreter and shared libraries, see [`runtime_deps`]; nothing for a
//! static binary) and an empty `/tmp`. The image is reproducible: entries
//! sorted, every mtime and the config's `created` from `SOURCE_DATE_EPOCH`
//! (else 0), owner 0:0, fixed modes, gzip at a fixed level with no header
//! timestamp or name — the same binary and inputs give the same manifest
//! digest, whatever directory or machine builds it.
//!
//! The config runs the binary with no arguments (Entrypoint only, no Cmd) as
//! uid 0, as BuildKit does anyway, with `PATH=/usr/local/bin` and `/` as the
//! working directory; BuildKit adds `BUILDKIT_SCAN_*`, which puts stella in
//! generator mode ([`crate::generator`]).

pub mod runtime_deps;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use stella_model::Digest;
use stella_registry_store::oci::{Descriptor, MEDIA_OCI_MANIFEST};
use stella_registry_store::{ArtifactStore, StoreError};

use runtime_deps::{HostRoot, RuntimeClosure};

/// Where the binary lives in the image (the Entrypoint).
pub const IMAGE_BINARY_PATH: &str = "/usr/local/bin/stella";
pub const MEDIA_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
/// The image title label.
pub const IMAGE_TITLE: &str = "stella SBOM generator";
/// gzip level of the layer: part of the image's identity, never changed
/// lightly (another level gives other bytes, so another digest).
pub const GZIP_LEVEL: u32 = 9;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a program to package: {reason}", path.display())]
    NotAProgram { path: PathBuf, reason: String },
    #[error("{name}, needed by {needed_by}, is not on this host")]
    MissingDependency { name: String, needed_by: String },
    #[error("cannot build the generator image: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the image is built from.
#[derive(Debug, Clone)]
pub struct ImageInputs {
    /// The stella binary to package (ELF, for the image's platform).
    pub binary: PathBuf,
    /// `org.opencontainers.image.version`: the packaged stella's version.
    pub version: String,
    /// Seconds since the epoch for mtimes and `created`; `None` is 0.
    pub source_date_epoch: Option<u64>,
    /// Bake `STELLA_STRICT=1` into the image's environment: BuildKit gives a
    /// generator only its image's env, so this is how a build fails on
    /// scan warnings.
    pub strict: bool,
    /// False bakes `STELLA_GENERATOR_LAYER_FILES=0`: no `files[]`, so
    /// BuildKit reads no layer to annotate them (faster builds, no
    /// per-component layer in `stella attach`).
    pub layer_files: bool,
}

/// One file of the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Absolute path in the image.
    pub path: String,
    pub mode: u32,
    pub size: u64,
    pub sha256: Digest,
}

/// A built image: its blobs and manifest, exactly as they will be stored.
#[derive(Debug, Clone)]
pub struct GeneratorImage {
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub config: Vec<u8>,
    /// The gzip-compressed layer.
    pub layer: Vec<u8>,
    /// sha256 of the uncompressed layer tar (the config's diff ID).
    pub diff_id: Digest,
    /// OCI architecture (`amd64`, `arm64`, ...) of the packaged binary.
    pub architecture: String,
    /// Regular files of the layer, sorted by path.
    pub files: Vec<ImageFile>,
}

impl GeneratorImage {
    /// Builds the image of `inputs.binary` (see the module doc).
    pub fn build(inputs: &ImageInputs) -> Result<GeneratorImage, ImageError> {
        Self::build_with_host(inputs, &HostRoot::default())
    }

    /// [`GeneratorImage::build`] with libraries looked up under `host`.
    pub fn build_with_host(
        inputs: &ImageInputs,
        host: &HostRoot,
    ) -> Result<GeneratorImage, ImageError> {
        let closure = runtime_deps::resolve(&inputs.binary, host)?;
        let architecture = oci_architecture(&closure)?;
        let epoch = inputs.source_date_epoch.unwrap_or(0);
        let entries = layer_entries(&inputs.binary, &closure)?;
        let files = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::File(data) => Some(ImageFile {
                    path: format!("/{}", e.path),
                    mode: e.mode,
                    size: data.len() as u64,
                    sha256: Digest::sha256_of(data),
                }),
                EntryKind::Dir => None,
            })
            .collect();
        let tar = write_tar(&entries, epoch)?;
        let diff_id = Digest::sha256_of(&tar);
        let layer = gzip(&tar)?;
        drop(tar);
        let created = rfc3339(epoch);
        let labels = labels(&inputs.version);
        let config = serde_json::to_vec(&ImageConfig {
            created: &created,
            architecture: &architecture,
            os: "linux",
            config: RunConfig {
                user: "0:0",
                env: std::iter::once("PATH=/usr/local/bin".to_string())
                    .chain(inputs.strict.then(|| "STELLA_STRICT=1".to_string()))
                    .chain(
                        (!inputs.layer_files)
                            .then(|| format!("{}=0", crate::generator::ENV_LAYER_FILES)),
                    )
                    .collect(),
                entrypoint: vec![IMAGE_BINARY_PATH.to_string()],
                working_dir: "/",
                labels: &labels,
            },
            rootfs: RootFs {
                kind: "layers",
                diff_ids: vec![diff_id.to_string()],
            },
            history: vec![History {
                created: &created,
                created_by: "stella generator push",
            }],
        })
        .map_err(|e| ImageError::Unsupported(format!("cannot serialize the config: {e}")))?;
        let manifest = serde_json::to_vec(&ImageManifest {
            schema_version: 2,
            media_type: MEDIA_OCI_MANIFEST,
            config: Descriptor::new(
                MEDIA_IMAGE_CONFIG,
                Digest::sha256_of(&config),
                config.len() as u64,
            ),
            layers: vec![Descriptor::new(
                MEDIA_LAYER_GZIP,
                Digest::sha256_of(&layer),
                layer.len() as u64,
            )],
            annotations: &labels,
        })
        .map_err(|e| ImageError::Unsupported(format!("cannot serialize the manifest: {e}")))?;
        Ok(GeneratorImage {
            manifest_digest: Digest::sha256_of(&manifest),
            manifest,
            config,
            layer,
            diff_id,
            architecture,
            files,
        })
    }

    /// Bytes a pull transfers: manifest, config and layer.
    pub fn compressed_size(&self) -> u64 {
        (self.manifest.len() + self.config.len() + self.layer.len()) as u64
    }

    /// Stores the blobs, then the manifest (tagged `tag` when given);
    /// returns the manifest's descriptor.
    pub fn push(
        &self,
        store: &dyn ArtifactStore,
        tag: Option<&str>,
    ) -> Result<Descriptor, ImageError> {
        store.put_blob(&Digest::sha256_of(&self.config), &self.config)?;
        store.put_blob(&Digest::sha256_of(&self.layer), &self.layer)?;
        let descriptor = store.put_manifest(&self.manifest, MEDIA_OCI_MANIFEST, tag)?;
        if descriptor.digest != self.manifest_digest {
            return Err(ImageError::Unsupported(format!(
                "{} stored the manifest as {}, not {}",
                store.location(),
                descriptor.digest,
                self.manifest_digest
            )));
        }
        Ok(descriptor)
    }
}

/// Labels of the config, also the manifest's annotations.
fn labels(version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            ANNOTATION_SOURCE.to_string(),
            crate::PROJECT_URL.to_string(),
        ),
        (ANNOTATION_TITLE.to_string(), IMAGE_TITLE.to_string()),
        (ANNOTATION_VERSION.to_string(), version.to_string()),
    ])
}

/// The OCI `architecture` of the packaged program.
fn oci_architecture(closure: &RuntimeClosure) -> Result<String, ImageError> {
    let elf = &closure.program;
    Ok(match (elf.machine.as_str(), elf.is_64) {
        ("x86_64", true) => "amd64",
        ("aarch64", true) => "arm64",
        ("i386", false) => "386",
        ("arm", false) => "arm",
        ("ppc64", true) => "ppc64le",
        ("s390", true) => "s390x",
        ("riscv", true) => "riscv64",
        ("loongarch", true) => "loong64",
        (machine, _) => {
            return Err(ImageError::Unsupported(format!(
                "no OCI architecture for {machine} programs ({}-bit)",
                if elf.is_64 { 64 } else { 32 }
            )))
        }
    }
    .to_string())
}

enum EntryKind {
    Dir,
    File(Vec<u8>),
}

/// One tar entry: path relative to `/`, no trailing slash.
struct Entry {
    path: String,
    mode: u32,
    kind: EntryKind,
}

/// Every entry of the layer, sorted by path, each directory before what it
/// holds.
fn layer_entries(binary: &Path, closure: &RuntimeClosure) -> Result<Vec<Entry>, ImageError> {
    let read = |path: &Path| {
        fs::read(path).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut files: BTreeMap<String, (u32, Vec<u8>)> = BTreeMap::new();
    files.insert(relative(IMAGE_BINARY_PATH)?, (0o755, read(binary)?));
    for file in &closure.files {
        let mode = if file.executable { 0o755 } else { 0o644 };
        let path = relative(&file.image_path)?;
        if files.contains_key(&path) {
            return Err(ImageError::Unsupported(format!(
                "{} is needed at /{path}, where the binary goes",
                file.host_path.display()
            )));
        }
        files.insert(path, (mode, read(&file.host_path)?));
    }
    let mut dirs: BTreeSet<String> = BTreeSet::from(["tmp".to_string()]);
    for path in files.keys() {
        let mut at = path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            dirs.insert(parent.to_string());
            at = parent;
        }
    }
    let mut entries: Vec<Entry> = dirs
        .into_iter()
        .map(|path| Entry {
            // /tmp is world-writable and sticky, like every /tmp.
            mode: if path == "tmp" { 0o1777 } else { 0o755 },
            path,
            kind: EntryKind::Dir,
        })
        .chain(files.into_iter().map(|(path, (mode, data))| Entry {
            path,
            mode,
            kind: EntryKind::File(data),
        }))
        .collect();
    // Component-wise order: a directory sorts before its contents.
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    Ok(entries)
}

/// An absolute, normalized image path without its leading `/`.
fn relative(absolute: &str) -> Result<String, ImageError> {
    let rest = absolute.strip_prefix('/').unwrap_or_default();
    let ok = absolute.starts_with('/')
        && !rest.is_empty()
        && rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if ok {
        Ok(rest.to_string())
    } else {
        Err(ImageError::Unsupported(format!(
            "{absolute:?} is not an absolute, normalized path"
        )))
    }
}

fn write_tar(entries: &[Entry], mtime: u64) -> Result<Vec<u8>, ImageError> {
    let io = |source| ImageError::Io {
        path: PathBuf::from("<layer tar>"),
        source,
    };
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{}/", entry.path), std::io::empty())
                    .map_err(io)?;
            }
            EntryKind::File(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, &entry.path, data.as_slice())
                    .map_err(io)?;
            }
        }
    }
    builder.into_inner().map_err(io)
}

/// gzip at [`GZIP_LEVEL`], header mtime 0, no file name, OS "unknown".
fn gzip(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let io = |source| ImageError::Io {
        path: PathBuf::from("<layer gzip>"),
        source,
    };
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL));
    encoder.write_all(data).map_err(io)?;
    encoder.finish().map_err(io)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
fn rfc3339(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string()
}

/// image-spec `config.md`, the fields we set, in a fixed order.
#[derive(Serialize)]
struct ImageConfig<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    config: RunConfig<'a>,
    rootfs: RootFs,
    history: Vec<History<'a>>,
}

#[derive(Serialize)]
struct RunConfig<'a> {
    #[serde(rename = "User")]
    user: &'a str,
    #[serde(rename = "Env")]
    env: Vec<String>,
    #[serde(rename = "Entrypoint")]
    entrypoint: Vec<String>,
    #[serde(rename = "WorkingDir")]
    working_dir: &'a str,
    #[serde(rename = "Labels")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: &'a str,
}

#[derive(Serialize)]
struct ImageManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
    annotations: &'a BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_must_be_absolute_and_normalized() {
        assert_eq!(
            relative("/usr/local/bin/stella").unwrap(),
            "usr/local/bin/stella"
        );
        for bad in [
            "",
            "/",
            "lib/x.so",
            "/lib/../etc/passwd",
            "/lib//x",
            "/lib/./x",
        ] {
            assert!(relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn created_is_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn gzip_header_has_no_time_or_name() {
        let gz = gzip(b"data").unwrap();
        // magic, deflate, no flags (no name), mtime 0, OS 255.
        assert_eq!(&gz[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(gz[9], 255);
    }
}
