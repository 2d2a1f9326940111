//! The ELF reader: `parse_elf` on arbitrary bytes, then the file analyzer the
//! engine runs. Any result is fine; a panic or a runaway allocation is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stella_analyzers::binary::elf::{parse_elf, ElfAnalyzer};
use stella_analyzers::{FileAnalyzer, FileReport};

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_elf(data) {
        // Facts are copied out of the input: they cannot outgrow it.
        let text: usize = info.needed.iter().map(String::len).sum();
        assert!(text <= data.len());
    }
    let mut report = FileReport::default();
    if ElfAnalyzer.claims("bin/x", 0o755, data) {
        let _ = ElfAnalyzer.analyze_file("bin/x", data, &mut report);
    }
    assert!(report.components.is_empty());
});
