//! Manifests, indexes and image configs: the JSON documents read before any
//! layer, from layouts, archives and registries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_registry_store::oci::{ImageConfig, Index, ManifestDoc};
use stella_registry_store::Platform;

fuzz_target!(|data: &[u8]| {
    match ManifestDoc::parse(data, "fuzz input") {
        Ok(ManifestDoc::Index(index)) => {
            for d in &index.manifests {
                let _ = d.digest.to_string();
                if let Some(p) = &d.platform {
                    let _ = Platform::host().matches(&p.os, &p.architecture, p.variant.as_deref());
                }
            }
        }
        Ok(ManifestDoc::Image(m)) => {
            let _ = m.config.digest.hex();
            for l in &m.layers {
                let _ = l.digest.algorithm();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(config) = serde_json::from_slice::<ImageConfig>(data) {
        let _ = config.rootfs.diff_ids.len();
    }
    let _ = serde_json::from_slice::<Index>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Platform>();
        let _ = text.parse::<stella_model::Digest>();
    }
});
