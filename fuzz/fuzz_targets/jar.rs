//! Java archives through the java analyzer (zip parsing, nested archives,
//! `pom.properties`, `MANIFEST.MF`, the limits), plus its metadata parsers on
//! the raw bytes. Nothing may panic, hang or return an error: a bad archive
//! is a note. Limits are smaller than the defaults so one run stays fast; the
//! code paths are the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::binary::java::{
    parse_manifest, parse_properties, split_file_name, JarAnalyzer, JarLimits, PROP_SHA1,
};
use stella_analyzers::{FileAnalyzer, FileReport};

fuzz_target!(|data: &[u8]| {
    let _ = parse_properties(data);
    let _ = parse_manifest(data);
    let text = String::from_utf8_lossy(&data[..data.len().min(256)]);
    let _ = split_file_name(&text, Some("1.0"));
    let _ = split_file_name(&text, None);

    let analyzer = JarAnalyzer::with_limits(JarLimits {
        max_depth: 3,
        max_entries: 4096,
        max_total_inflated: 8 << 20,
        max_nested_archive: 4 << 20,
        ..JarLimits::default()
    });
    let mut report = FileReport::default();
    analyzer
        .analyze_file("app.jar", data, &mut report)
        .expect("problems are notes, never errors");
    for c in &report.components {
        assert!(!c.name.is_empty() && !c.version.is_empty(), "{c:?}");
        assert_eq!(
            c.evidence.first().map(|e| e.starts_with("app.jar")),
            Some(true)
        );
        assert_eq!(c.properties.get(PROP_SHA1).map(String::len), Some(40));
        if let Some(p) = &c.purl {
            let _ = p.to_string();
        }
    }
    for n in &report.notes {
        assert!(n.starts_with("java: app.jar"), "{n}");
    }
});
