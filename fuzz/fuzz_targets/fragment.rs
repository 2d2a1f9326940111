//! Layer-cache fragments from bytes that passed the cache's digest check but
//! were written by something else: every body kind behind a valid header.
//! Decoding never panics, and whatever decodes re-encodes to bytes that
//! decode to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::fragment::{
    decode_inventory, decode_layer, decode_scripts, encode_inventory, encode_layer, encode_scripts,
};
use stella_analyzers::layer::LayerFs;
use stella_model::{ImageInfo, Inventory, ToolInfo, INVENTORY_SCHEMA};

/// Magic, body kind and format version of a real fragment of each kind.
fn headers() -> [Vec<u8>; 3] {
    let header = |b: Vec<u8>| b[..13].to_vec();
    [
        header(encode_layer(&LayerFs::default())),
        header(encode_scripts(&Default::default())),
        header(encode_inventory(&Inventory {
            schema: INVENTORY_SCHEMA,
            tool: ToolInfo {
                name: "stella".to_string(),
                version: "0".to_string(),
            },
            image: ImageInfo::default(),
            distro: None,
            layers: Vec::new(),
            components: Vec::new(),
            entry_trace: None,
            warnings: Vec::new(),
        })),
    ]
}

fuzz_target!(|data: &[u8]| {
    let [layer, scripts, inventory] = headers();
    let with = |h: &[u8]| [h, data].concat();

    let _ = decode_layer(data);
    if let Ok(fs) = decode_layer(&with(&layer)) {
        let once = encode_layer(&fs);
        let again = decode_layer(&once).expect("re-encoded layer decodes");
        assert_eq!(encode_layer(&again), once);
    }
    if let Ok(s) = decode_scripts(&with(&scripts)) {
        assert_eq!(decode_scripts(&encode_scripts(&s)).expect("re-encoded"), s);
    }
    if let Ok(inv) = decode_inventory(&with(&inventory), ImageInfo::default()) {
        let again = decode_inventory(&encode_inventory(&inv), ImageInfo::default())
            .expect("re-encoded inventory decodes");
        assert_eq!(again, inv);
    }
});
