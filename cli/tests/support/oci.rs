//! Builds OCI image layouts byte by byte for the hostile-input tests: layer
//! tars written with raw `tar::Header`s (so paths the `tar` builder refuses,
//! like `../x`, can be produced), gzip via `flate2`, configs and manifests as
//! JSON, then `index.json` and `oci-layout`. Every digest is computed here, so
//! a test can break exactly one of them.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use stella_model::Digest;

pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn sha256(bytes: &[u8]) -> String {
    Digest::sha256_of(bytes).to_string()
}

// ---------------------------------------------------------------- tar

/// A layer tar assembled entry by entry with raw headers.
pub struct Tar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Tar::new()
    }
}

/// Copies `value` into a fixed-size header field without any validation.
fn put(field: &mut [u8], value: &[u8]) {
    assert!(
        value.len() <= field.len(),
        "{value:?} does not fit the header field"
    );
    field.fill(0);
    field[..value.len()].copy_from_slice(value);
}

fn header(path: &[u8], kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    put(&mut h.as_old_mut().name, path);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_600_000_000);
    h
}

impl Tar {
    pub fn new() -> Tar {
        Tar {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn append(&mut self, mut h: tar::Header, data: &[u8]) -> &mut Tar {
        h.set_cksum();
        self.builder
            .append(&h, data)
            .expect("append to in-memory tar");
        self
    }

    /// A regular file. `path` is written verbatim (may hold `..` or a leading `/`).
    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Tar {
        let h = header(
            path.as_bytes(),
            tar::EntryType::Regular,
            data.len() as u64,
            0o644,
        );
        self.append(h, data)
    }

    pub fn dir(&mut self, path: &str) -> &mut Tar {
        let h = header(path.as_bytes(), tar::EntryType::Directory, 0, 0o755);
        self.append(h, &[])
    }

    /// A symlink; `target` verbatim.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Tar {
        let mut h = header(path.as_bytes(), tar::EntryType::Symlink, 0, 0o777);
        put(&mut h.as_old_mut().linkname, target.as_bytes());
        self.append(h, &[])
    }

    /// A hardlink; `target` verbatim.
    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Tar {
        let mut h = header(path.as_bytes(), tar::EntryType::Link, 0, 0o644);
        put(&mut h.as_old_mut().linkname, target.as_bytes());
        self.append(h, &[])
    }

    /// A GNU sparse file of `logical_size` bytes whose only data is the
    /// 512-byte block `data` at the very end; everything before it is a hole.
    pub fn gnu_sparse(&mut self, path: &str, logical_size: u64, data: &[u8; 512]) -> &mut Tar {
        let mut h = header(path.as_bytes(), tar::EntryType::GNUSparse, 512, 0o644);
        let gnu = h.as_gnu_mut().expect("GNU header");
        gnu.sparse[0].set_offset(logical_size - 512);
        gnu.sparse[0].set_length(512);
        gnu.set_real_size(logical_size);
        self.append(h, data)
    }

    /// The tar with its two end-of-archive blocks.
    pub fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.builder, tar::Builder::new(Vec::new()));
        b.into_inner().expect("finish in-memory tar")
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

// ---------------------------------------------------------------- layout

/// An OCI descriptor as written into manifests and indexes.
#[derive(Debug, Clone)]
pub struct Desc {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Desc {
    pub fn json(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size })
    }

    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// One layer as the image will reference it.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub desc: Desc,
    /// The diff_id the config will carry.
    pub diff_id: String,
}

/// An OCI image layout directory under construction.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    /// Creates `dir` with `oci-layout` and an empty blob store.
    pub fn create(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("mkdir layout");
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("write oci-layout");
        Layout {
            dir: dir.to_path_buf(),
        }
    }

    /// `oci-dir:DIR`, the source string to scan this layout.
    pub fn source(&self) -> String {
        format!("oci-dir:{}", self.dir.display())
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Stores `bytes` under their own digest.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Desc {
        let digest = sha256(bytes);
        std::fs::write(self.blob_path(&digest), bytes).expect("write blob");
        Desc {
            media_type: media_type.to_string(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// Stores `bytes` under a digest of the caller's choosing (a lying blob).
    pub fn blob_as(&self, media_type: &str, digest: &str, bytes: &[u8]) -> Desc {
        std::fs::write(self.blob_path(digest), bytes).expect("write blob");
        Desc {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size: bytes.len() as u64,
        }
    }

    /// A gzip layer with the right diff_id.
    pub fn layer_gz(&self, tar: &[u8]) -> LayerBlob {
        LayerBlob {
            desc: self.blob(MEDIA_LAYER_GZIP, &gzip(tar)),
            diff_id: sha256(tar),
        }
    }

    /// An uncompressed layer (digest == diff_id).
    pub fn layer_tar(&self, tar: &[u8]) -> LayerBlob {
        LayerBlob {
            desc: self.blob(MEDIA_LAYER_TAR, tar),
            diff_id: sha256(tar),
        }
    }

    /// Config bytes for `diff_ids` (linux/`arch`).
    pub fn config_bytes(arch: &str, diff_ids: &[String]) -> Vec<u8> {
        let history: Vec<Value> = diff_ids
            .iter()
            .enumerate()
            .map(|(i, _)| json!({ "created_by": format!("layer {i}") }))
            .collect();
        serde_json::to_vec(&json!({
            "created": "2024-01-02T03:04:05Z",
            "architecture": arch,
            "os": "linux",
            "config": { "Cmd": ["/bin/sh"] },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": history,
        }))
        .expect("config JSON")
    }

    pub fn manifest_bytes(config: &Desc, layers: &[Desc]) -> Vec<u8> {
        let layers: Vec<Value> = layers.iter().map(Desc::json).collect();
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config.json(),
            "layers": layers,
        }))
        .expect("manifest JSON")
    }

    /// Writes config and manifest for `layers`; returns the manifest descriptor.
    pub fn image(&self, arch: &str, layers: &[LayerBlob]) -> Desc {
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        let config = self.blob(MEDIA_CONFIG, &Layout::config_bytes(arch, &diff_ids));
        let descs: Vec<Desc> = layers.iter().map(|l| l.desc.clone()).collect();
        self.blob(MEDIA_MANIFEST, &Layout::manifest_bytes(&config, &descs))
    }

    /// Writes `index.json` listing exactly `entries`.
    pub fn index(&self, entries: &[Desc]) {
        let manifests: Vec<Value> = entries.iter().map(Desc::json).collect();
        let doc = json!({ "schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests });
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&doc).expect("index JSON"),
        )
        .expect("write index.json");
    }

    /// A whole single-platform linux/amd64 image of gzip layers, listed in `index.json`.
    pub fn simple(dir: &Path, tars: &[Vec<u8>]) -> (Layout, Desc, Vec<LayerBlob>) {
        let layout = Layout::create(dir);
        let layers: Vec<LayerBlob> = tars.iter().map(|t| layout.layer_gz(t)).collect();
        let manifest = layout.image("amd64", &layers);
        layout.index(std::slice::from_ref(&manifest));
        (layout, manifest, layers)
    }
}

// ---------------------------------------------------------------- content

pub const DEBIAN_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A dpkg status paragraph for an installed package.
pub fn dpkg_stanza(name: &str, version: &str) -> String {
    format!(
        "Package: {name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMaintainer: Someone <someone@example.org>\nVersion: {version}\nDescription: {name}\n the {name} package\n"
    )
}

pub fn dpkg_status(pkgs: &[(&str, &str)]) -> String {
    pkgs.iter()
        .map(|(n, v)| dpkg_stanza(n, v))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------- running

/// `stella` without the layer cache: these tests exercise the streaming
/// path (tests/layer_cache.rs covers the cache).
pub fn stella() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stella"));
    cmd.env("STELLA_NO_CACHE", "1");
    cmd
}

/// `stella scan SOURCE -q ARGS…` with a fixed SOURCE_DATE_EPOCH.
pub fn scan(source: &str, args: &[&str]) -> Output {
    stella()
        .arg("scan")
        .arg(source)
        .arg("-q")
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run stella")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a clean failure: exit code 1 (not a panic's 101, not success),
/// no panic message, nothing on stdout, and every needle named on stderr.
pub fn assert_fails_naming(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    if std::env::var_os("STELLA_SHOW_ERRORS").is_some() {
        eprintln!("STDERR>> {err}");
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {:?}\nstderr: {err}\nstdout: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        out.stdout.is_empty(),
        "a failed scan must not print an SBOM: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "stderr does not name {n:?}:\n{err}");
    }
    // One message, each cause said once (a cause that is both in an error's
    // message and its `source()` shows up twice in the chained report).
    let cause = err.trim_end().rsplit(": ").next().unwrap_or_default();
    if cause.len() > 12 {
        assert_eq!(err.matches(cause).count(), 1, "cause repeated: {err}");
    }
    err
}

pub fn assert_succeeds(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success, stderr: {}",
        stderr(out)
    );
}
