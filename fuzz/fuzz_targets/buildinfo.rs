//! The Go build-info and cargo-auditable analyzers on arbitrary bytes: as a
//! whole file, and (so the fuzzer gets past the ELF headers) as the payload
//! of a small well-formed ELF. The first byte picks the shape:
//! 0 raw file; 1 `.go.buildinfo` = magic + payload; 2 the same in a writable
//! segment of an ELF without section headers; 3 `.dep-v0` = payload;
//! 4 `.dep-v0` = zlib(payload); 5 payload as module info text.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use stella_analyzers::binary::go::{self, GoBuildInfoAnalyzer, MAGIC};
use stella_analyzers::binary::rust::CargoAuditableAnalyzer;
use stella_analyzers::{FileAnalyzer, FileReport};

const VADDR: u64 = 0x40_0000;
const EHDR: usize = 64;
const PHDR: usize = 56;
const SHDR: usize = 64;

fn put(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

/// An ELF64 little-endian executable: one writable PT_LOAD mapping the
/// whole file at [`VADDR`], and, when `section` is given, a section header
/// table naming the payload (placed 16-byte aligned after the headers).
fn tiny_elf(section: Option<&str>, payload: &[u8]) -> Vec<u8> {
    let payload_at = (EHDR + PHDR + 15) & !15;
    let mut out = vec![0u8; payload_at];
    out.extend_from_slice(payload);
    let mut sh_off = 0usize;
    if let Some(name) = section {
        let strtab_at = out.len();
        let strtab = format!("\0{name}\0.shstrtab\0");
        out.extend_from_slice(strtab.as_bytes());
        while out.len() % 8 != 0 {
            out.push(0);
        }
        sh_off = out.len();
        out.resize(sh_off + 3 * SHDR, 0);
        let mut shdr =
            |index: usize, name: u32, ty: u32, flags: u64, addr: u64, off: usize, size: usize| {
                let at = sh_off + index * SHDR;
                put(&mut out, at, &name.to_le_bytes());
                put(&mut out, at + 4, &ty.to_le_bytes());
                put(&mut out, at + 8, &flags.to_le_bytes());
                put(&mut out, at + 16, &addr.to_le_bytes());
                put(&mut out, at + 24, &(off as u64).to_le_bytes());
                put(&mut out, at + 32, &(size as u64).to_le_bytes());
                put(&mut out, at + 48, &1u64.to_le_bytes());
            };
        // SHT_PROGBITS, SHF_WRITE|SHF_ALLOC; then SHT_STRTAB.
        shdr(
            1,
            1,
            1,
            3,
            VADDR + payload_at as u64,
            payload_at,
            payload.len(),
        );
        shdr(2, name.len() as u32 + 2, 3, 0, 0, strtab_at, strtab.len());
    }
    let len = out.len() as u64;
    put(&mut out, 0, b"\x7fELF\x02\x01\x01");
    put(&mut out, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut out, 18, &62u16.to_le_bytes()); // x86-64
    put(&mut out, 20, &1u32.to_le_bytes());
    put(&mut out, 32, &(EHDR as u64).to_le_bytes()); // e_phoff
    put(&mut out, 40, &(sh_off as u64).to_le_bytes()); // e_shoff
    put(&mut out, 52, &(EHDR as u16).to_le_bytes());
    put(&mut out, 54, &(PHDR as u16).to_le_bytes());
    put(&mut out, 56, &1u16.to_le_bytes()); // e_phnum
    put(&mut out, 58, &(SHDR as u16).to_le_bytes());
    if section.is_some() {
        put(&mut out, 60, &3u16.to_le_bytes()); // e_shnum
        put(&mut out, 62, &2u16.to_le_bytes()); // e_shstrndx
    }
    let ph = EHDR;
    put(&mut out, ph, &1u32.to_le_bytes()); // PT_LOAD
    put(&mut out, ph + 4, &6u32.to_le_bytes()); // PF_R|PF_W
    put(&mut out, ph + 16, &VADDR.to_le_bytes());
    put(&mut out, ph + 24, &VADDR.to_le_bytes());
    put(&mut out, ph + 32, &len.to_le_bytes());
    put(&mut out, ph + 40, &len.to_le_bytes());
    out
}

fn run_both(file: &[u8]) {
    for analyzer in [
        &GoBuildInfoAnalyzer as &dyn FileAnalyzer,
        &CargoAuditableAnalyzer,
    ] {
        let mut report = FileReport::default();
        let _ = analyzer.claims("f", 0o755, &file[..file.len().min(64)]);
        if analyzer.analyze_file("f", file, &mut report).is_ok() {
            for c in &report.components {
                assert!(!c.name.is_empty());
                if let Some(p) = &c.purl {
                    let _ = p.to_string();
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    match mode % 6 {
        0 => run_both(payload),
        1 => run_both(&tiny_elf(
            Some(".go.buildinfo"),
            &[&MAGIC[..], payload].concat(),
        )),
        2 => run_both(&tiny_elf(None, &[&MAGIC[..], payload].concat())),
        3 => run_both(&tiny_elf(Some(".dep-v0"), payload)),
        4 => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            if enc.write_all(payload).is_ok() {
                if let Ok(z) = enc.finish() {
                    run_both(&tiny_elf(Some(".dep-v0"), &z));
                }
            }
        }
        _ => {
            if let Ok(info) = go::parse_modinfo(&String::from_utf8_lossy(payload)) {
                for c in go::components("go1.22.1", &info) {
                    let _ = c.purl.map(|p| p.to_string());
                }
            }
        }
    }
});
