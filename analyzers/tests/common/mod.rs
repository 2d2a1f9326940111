//! Shared by the language analyzer oracle tests.

use std::path::Path;
use std::process::{Command, Stdio};

use stella_analyzers::layer::{read_layer, Interest, LayerFs, LayerLimits};

/// `root` as one image layer: packed by the system `tar`, streamed through
/// the engine's own layer reader with `wants`. A `SquashedFs` over it is
/// the view a scan gives analyzers — it knows every entry of the tree (which
/// `MemFs` does not), and holds the contents of the wanted files only.
#[allow(dead_code)]
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
