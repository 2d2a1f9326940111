//! One rpm header blob, as every rpm database backend stores it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::os::rpm::{parse_header_blob, parse_source_rpm, purl};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = parse_header_blob(data) {
        let _ = h.evr();
        let _ = h.to_string();
        let _ = purl(&h, None).to_string();
        if let Some(src) = &h.source_rpm {
            let _ = parse_source_rpm(src);
        }
    }
});
