//! One layer blob (gzip, zstd or plain tar, sniffed like real layers) through
//! `read_layer` with an analyzer that wants every file, the file analyzers and
//! small limits, then
//! through the squashed view. Nothing may panic, hang or allocate beyond the
//! limits; whatever is accepted must be normalized.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::fs::FsView;
use stella_analyzers::layer::{read_layer, Interest, LayerLimits};
use stella_analyzers::squash::SquashedFs;
use stella_analyzers::FileAnalyzer;
use stella_model::Digest;

fuzz_target!(|data: &[u8]| {
    let limits = LayerLimits {
        max_captured_file: 64 * 1024,
        max_entries: 4096,
        max_path_len: 1024,
    };
    let wants = |_: &str| true;
    // The binary/archive analyzers run inside the walk: fuzz them there too.
    let file_analyzers = stella_analyzers::default_file_analyzers();
    let file_refs: Vec<&dyn FileAnalyzer> = file_analyzers.iter().map(|a| a.as_ref()).collect();
    let interest = Interest {
        wants: &wants,
        file_analyzers: &file_refs,
    };
    let compressed = data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    // A plain tar is its own diffID: that exercises the verifying path too.
    let diff_id = (!compressed).then(|| Digest::sha256_of(data));
    let Ok(fs) = read_layer(data, diff_id.as_ref(), &interest, &limits) else {
        return;
    };
    for (path, _) in &fs.entries {
        assert!(
            !path.is_empty()
                && !path.starts_with('/')
                && !path
                    .split('/')
                    .any(|s| s.is_empty() || s == "." || s == ".."),
            "unnormalized path {path:?}"
        );
    }
    for (path, bytes) in &fs.captured {
        assert!(
            bytes.len() as u64 <= limits.max_captured_file,
            "{path}: captured {} bytes",
            bytes.len()
        );
    }
    let layers = [fs];
    let mut view = SquashedFs::new(&layers);
    view.apply_all();
    for (path, _) in &layers[0].entries {
        let _ = view.read(path);
        let _ = view.list_dir(path);
    }
});
