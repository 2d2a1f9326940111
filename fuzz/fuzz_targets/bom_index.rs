//! bom-index@1 files (read from registries and layouts: untrusted) and purl
//! queries. A file the reader accepts must survive write → read unchanged,
//! and a fleet built from it must answer a query derived from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_sbom::{BomIndex, Fleet, PurlQuery};

fn answers(fleet: &Fleet, q: &PurlQuery) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for m in fleet.query(q).matches {
        let layers: Vec<u32> = m.layers().map(|(i, _)| i).collect();
        out.push((layers.len() as u32, m.component.identity().to_string()));
        let _ = m.entrypoints().count();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    match BomIndex::from_bytes(data) {
        Ok(index) => {
            assert_eq!(index.as_bytes(), data);
            // The in-place bitmap decoder agrees with the roaring crate's.
            for c in index.components() {
                for bitmap in [c.layers(), c.entrypoints()] {
                    let ours: Vec<u32> = bitmap.iter().collect();
                    let theirs: Vec<u32> = bitmap.to_roaring().iter().collect();
                    assert_eq!(ours, theirs, "{}", c.identity());
                    assert_eq!(ours.len() as u64, bitmap.len());
                    assert_eq!(ours.last().copied(), bitmap.max());
                }
            }
            let first = index.components().next().map(|c| c.identity().to_string());
            let mut fleet = Fleet::new(vec![("fuzz".to_string(), index)]);
            if let Some(Ok(q)) = first.as_deref().map(PurlQuery::parse) {
                let plain: Vec<(u32, String)> = answers(&fleet, &q);
                fleet.build_dictionary();
                assert_eq!(answers(&fleet, &q), plain, "both query paths agree");
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
