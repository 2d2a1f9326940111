//! Feed documents and versions from untrusted bytes: the OSV parser (JSON
//! and our YAML reader), the Debian tracker and Alpine secdb documents, and
//! every version comparator. Errors are fine; panics, hangs and a total
//! order that contradicts itself are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_feeds::connector::osv::{self, Encoding};
use stella_feeds::version::{compare, Scheme};

fuzz_target!(|data: &[u8]| {
    for encoding in [Encoding::Json, Encoding::Yaml] {
        if let Ok(advisory) = osv::parse(data, encoding, "fuzz") {
            assert!(!advisory.id.trim().is_empty());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts = text.splitn(3, '\n');
        if let (Some(a), Some(b)) = (parts.next(), parts.next()) {
            for scheme in Scheme::ALL {
                if let (Ok(ab), Ok(ba)) = (compare(scheme, a, b), compare(scheme, b, a)) {
                    assert_eq!(ab, ba.reverse(), "{scheme}: {a:?} vs {b:?}");
                }
            }
        }
    }
});
