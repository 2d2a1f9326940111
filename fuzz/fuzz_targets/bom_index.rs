//! bom-index@1 files (read from registries and layouts: untrusted) and purl
//! queries. A file the reader accepts must survive write → read unchanged,
//! and a fleet built from it must answer a query derived from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_sbom::{BomIndex, Fleet, PurlQuery};

fuzz_target!(|data: &[u8]| {
    match BomIndex::from_bytes(data) {
        Ok(index) => {
            let again = BomIndex::from_bytes(&index.to_bytes()).expect("our own output reads back");
            assert_eq!(again, index);
            let first = index.components().first().map(|c| c.identity().to_string());
            let fleet = Fleet::new(vec![("fuzz".to_string(), index)]);
            if let Some(Ok(q)) = first.as_deref().map(PurlQuery::parse) {
                for m in fleet.query(&q).matches {
                    let _ = m.layers().count();
                    let _ = m.entrypoints().count();
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // The same bytes as a purl query typed by a user.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(q) = PurlQuery::parse(text) {
            // A query matches its own canonical form, and normalizing twice
            // changes nothing.
            assert!(q.matches(q.as_str()), "{q} does not match itself");
            assert_eq!(PurlQuery::parse(q.as_str()).as_ref(), Ok(&q));
        }
    }
});
