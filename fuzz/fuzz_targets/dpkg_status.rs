//! dpkg's status file: `parse_status` directly, then the analyzer over a
//! `MemFs` holding the bytes as `status` and as a distroless `status.d` entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::os::dpkg::{parse_status, DpkgAnalyzer};
use stella_analyzers::os::os_release;
use stella_analyzers::{AnalyzeContext, MemFs, PackageAnalyzer};

fuzz_target!(|data: &[u8]| {
    if let Ok(stanzas) = parse_status(data) {
        for s in &stanzas {
            assert!(s.get("Package").is_some_and(|p| !p.is_empty()));
        }
    }
    let fs = MemFs::new()
        .with_file("var/lib/dpkg/status", data)
        .with_file("var/lib/dpkg/status.d/pkg", data);
    let distro = os_release::parse(&String::from_utf8_lossy(data));
    for ctx in [
        AnalyzeContext::default(),
        AnalyzeContext {
            distro: Some(&distro),
        },
    ] {
        if let Ok(findings) = DpkgAnalyzer.analyze(&fs, &ctx) {
            for c in &findings.components {
                assert!(!c.name.is_empty() && !c.version.is_empty());
                if let Some(p) = &c.purl {
                    let _ = p.to_string();
                }
            }
        }
    }
});
