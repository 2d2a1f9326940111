//! The ELF reader: `parse_elf` on arbitrary bytes, then the file analyzer the
//! engine runs. Any result is fine; a panic or a runaway allocation is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::binary::elf_facts::{parse_elf, ElfAnalyzer, MAX_DYNAMIC_STRING_BYTES};
use stella_analyzers::{FileAnalyzer, FileReport};

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_elf(data) {
        // Entries may repeat one string, so the copies are bounded by the
        // reader's limit, not the input size (lossy UTF-8 may triple bytes).
        let text: usize = info
            .needed
            .iter()
            .chain(&info.rpath)
            .chain(&info.runpath)
            .chain(&info.soname)
            .map(String::len)
            .sum();
        assert!(text <= 3 * MAX_DYNAMIC_STRING_BYTES);
    }
    let mut report = FileReport::default();
    if ElfAnalyzer.claims("bin/x", 0o755, data) {
        let _ = ElfAnalyzer.analyze_file("bin/x", data, &mut report);
    }
    assert!(report.components.is_empty());
});
