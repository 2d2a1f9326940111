//! Alpine's installed database through the apk analyzer, at both locations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::os::apk::{self, ApkAnalyzer, APK_DB, APK_DB_USR};
use stella_analyzers::{AnalyzeContext, MemFs, PackageAnalyzer};

fuzz_target!(|data: &[u8]| {
    if let Ok(pkgs) = apk::parse(data) {
        for p in &pkgs {
            assert!(!p.name.is_empty());
            let _ = apk::purl(p, None).to_string();
        }
    }
    for fs in [
        MemFs::new().with_file(APK_DB, data),
        MemFs::new().with_file(APK_DB_USR, data),
        MemFs::new()
            .with_file(APK_DB, data)
            .with_file(APK_DB_USR, &b"P:x\nV:1\n"[..]),
    ] {
        if let Ok(findings) = ApkAnalyzer.analyze(&fs, &AnalyzeContext::default()) {
            for c in &findings.components {
                if let Some(p) = &c.purl {
                    let _ = p.to_string();
                }
            }
        }
    }
});
