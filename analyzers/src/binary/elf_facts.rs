//! ELF dynamic-linking facts: GNU build-id, `DT_SONAME`, `DT_NEEDED`,
//! `DT_RPATH`/`DT_RUNPATH` and the program interpreter (`PT_INTERP`), for
//! both classes (32/64-bit) and both byte orders.
//!
//! The dynamic facts are read the way the dynamic loader reads them: through
//! the program headers only (`PT_DYNAMIC`, with `DT_STRTAB` mapped through the
//! `PT_LOAD` segments); the loader never looks at section headers, and
//! `sstrip`ped binaries have none. The build-id note is looked up in note
//! segments, then note sections (relocatable and debug files). Every offset
//! comes from the file, so every access is bounds-checked by the `object`
//! crate or here. (`super::elf` is the section/segment reader the Go and
//! Rust analyzers share.) No components come from ELF facts alone;
//! EntryTrace and the usage view consume them.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::Endianness;

use super::elf::is_elf;
use crate::file_analyzer::{ElfInfo, FileAnalyzer, FileReport};

/// Most `DT_NEEDED`/path entries kept from one file: real objects have a few
/// dozen; a hostile one must not make us keep millions.
const MAX_DYNAMIC_STRINGS: usize = 4096;
/// Most bytes of dynamic strings kept from one file. Entries may all point at
/// the same long string, so the file size alone does not bound the copies.
pub const MAX_DYNAMIC_STRING_BYTES: usize = 256 * 1024;

/// Fills [`FileReport::elf`] for every file that starts with the ELF magic.
pub struct ElfAnalyzer;

impl FileAnalyzer for ElfAnalyzer {
    fn name(&self) -> &'static str {
        "elf"
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self, _path: &str, _mode: u32, head: &[u8]) -> bool {
        is_elf(head)
    }

    fn analyze_file(
        &self,
        _path: &str,
        data: &[u8],
        report: &mut FileReport,
    ) -> Result<(), String> {
        report.elf = Some(parse_elf(data)?);
        Ok(())
    }
}

/// Reads the dynamic-linking facts of one ELF file.
pub fn parse_elf(data: &[u8]) -> Result<ElfInfo, String> {
    if !is_elf(data) {
        return Err("not an ELF file".to_string());
    }
    // e_ident[EI_CLASS] picks the header layout.
    match data.get(4).map(|&c| elf::FileClass(c)) {
        Some(elf::ELFCLASS32) => parse_class::<elf::FileHeader32<Endianness>>(data),
        Some(elf::ELFCLASS64) => parse_class::<elf::FileHeader64<Endianness>>(data),
        Some(other) => Err(format!("malformed ELF: unknown class {other}")),
        None => Err("malformed ELF: truncated header".to_string()),
    }
}

fn malformed(e: object::read::Error) -> String {
    format!("malformed ELF: {e}")
}

fn parse_class<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<ElfInfo, String> {
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let segments = header.program_headers(endian, data).map_err(malformed)?;
    let mut info = ElfInfo {
        machine: machine_name(header.e_machine(endian)),
        is_64: header.is_class_64(),
        ..ElfInfo::default()
    };
    for segment in segments {
        // Separate debug files (`usr/lib/debug/.build-id/*.debug`) keep the
        // program headers but not the bytes: an empty PT_INTERP names nothing.
        if segment.p_type(endian) == elf::PT_INTERP && segment.p_filesz(endian).into() == 0 {
            continue;
        }
        if let Some(interp) = segment.interpreter(endian, data).map_err(malformed)? {
            info.interpreter = Some(String::from_utf8_lossy(interp).into_owned());
        }
    }
    // Build-id: note segments first; relocatable and debug files only have sections.
    for segment in segments {
        if let Ok(Some(notes)) = segment.notes(endian, data) {
            if let Some(id) = build_id::<Elf>(notes, endian) {
                info.build_id = Some(id);
                break;
            }
        }
    }
    // Sections are only a fallback: a file may lack them or carry broken ones
    // and still load fine.
    let sections = header.sections(endian, data).ok();
    if info.build_id.is_none() {
        if let Some(sections) = &sections {
            for section in sections.iter() {
                if let Ok(Some(notes)) = section.notes(endian, data) {
                    if let Some(id) = build_id::<Elf>(notes, endian) {
                        info.build_id = Some(id);
                        break;
                    }
                }
            }
        }
    }

    // Only the dynamic segment counts: it is all ld.so reads, and a file
    // without program headers cannot be loaded at all (readelf agrees).
    if let Some(segment) = segments
        .iter()
        .find(|s| s.p_type(endian) == elf::PT_DYNAMIC)
    {
        if let Some(entries) = segment.dynamic(endian, data).map_err(malformed)? {
            read_dynamic::<Elf>(entries, segments, endian, data, &mut info)?;
        }
    }
    Ok(info)
}

fn read_dynamic<Elf: FileHeader<Endian = Endianness>>(
    entries: &[Elf::Dyn],
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &[u8],
    info: &mut ElfInfo,
) -> Result<(), String> {
    let mut strtab_addr = None;
    let mut strtab_size = None;
    // (tag, offset into the string table), in file order.
    let mut wanted: Vec<(elf::DynamicTag, u64)> = Vec::new();
    for entry in entries {
        let val: u64 = entry.d_val(endian).into();
        match entry.d_tag(endian) {
            elf::DT_NULL => break,
            elf::DT_STRTAB => strtab_addr = Some(val),
            elf::DT_STRSZ => strtab_size = Some(val),
            t @ (elf::DT_NEEDED | elf::DT_SONAME | elf::DT_RPATH | elf::DT_RUNPATH) => {
                if wanted.len() >= MAX_DYNAMIC_STRINGS {
                    return Err(format!(
                        "malformed ELF: more than {MAX_DYNAMIC_STRINGS} dynamic string entries"
                    ));
                }
                wanted.push((t, val));
            }
            _ => {}
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    // DT_STRTAB is an address: map it to a file offset like the loader does.
    let addr = strtab_addr.ok_or("malformed ELF: dynamic strings but no DT_STRTAB")?;
    let offset = file_offset::<Elf>(segments, endian, addr)
        .ok_or("malformed ELF: DT_STRTAB outside every loaded segment")?;
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|o| data.get(o..))
        .ok_or("malformed ELF: DT_STRTAB past the end of the file")?;
    // DT_STRSZ bounds the table; without it, the rest of the file does.
    let table = match strtab_size.and_then(|s| usize::try_from(s).ok()) {
        Some(size) => rest.get(..size).unwrap_or(rest),
        None => rest,
    };
    let mut kept = 0usize;
    for (tag, offset) in wanted {
        let text = usize::try_from(offset)
            .ok()
            .and_then(|o| table.get(o..))
            .and_then(|s| s.iter().position(|&b| b == 0).map(|end| &s[..end]))
            .ok_or_else(|| {
                format!("malformed ELF: dynamic string at offset {offset} out of range")
            })?;
        kept += text.len();
        if kept > MAX_DYNAMIC_STRING_BYTES {
            return Err(format!(
                "malformed ELF: more than {MAX_DYNAMIC_STRING_BYTES} bytes of dynamic strings"
            ));
        }
        let text = String::from_utf8_lossy(text).into_owned();
        match tag {
            elf::DT_NEEDED => info.needed.push(text),
            elf::DT_SONAME => info.soname = Some(text),
            elf::DT_RPATH => info.rpath.extend(split_search_path(&text)),
            _ => info.runpath.extend(split_search_path(&text)),
        }
    }
    Ok(())
}

/// `a:b::c` → `[a, b, c]`; empty entries are dropped (ld.so ignores them too).
fn split_search_path(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Maps a virtual address to a file offset through the `PT_LOAD` segments.
fn file_offset<Elf: FileHeader<Endian = Endianness>>(
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    addr: u64,
) -> Option<u64> {
    segments
        .iter()
        .filter(|s| s.p_type(endian) == elf::PT_LOAD)
        .find_map(|s| {
            let vaddr: u64 = s.p_vaddr(endian).into();
            let filesz: u64 = s.p_filesz(endian).into();
            let offset: u64 = s.p_offset(endian).into();
            let delta = addr.checked_sub(vaddr)?;
            (delta < filesz)
                .then(|| offset.checked_add(delta))
                .flatten()
        })
}

fn build_id<Elf: FileHeader<Endian = Endianness>>(
    mut notes: object::read::elf::NoteIterator<'_, Elf>,
    endian: Endianness,
) -> Option<String> {
    while let Ok(Some(note)) = notes.next() {
        if note.name() == elf::ELF_NOTE_GNU
            && note.n_type(endian) == elf::NT_GNU_BUILD_ID
            && !note.desc().is_empty()
        {
            return Some(hex::encode(note.desc()));
        }
    }
    None
}

/// `e_machine` as the usual short architecture name.
pub fn machine_name(machine: elf::Machine) -> String {
    match machine {
        elf::EM_386 => "i386",
        elf::EM_X86_64 => "x86_64",
        elf::EM_AARCH64 => "aarch64",
        elf::EM_ARM => "arm",
        elf::EM_PPC => "ppc",
        elf::EM_PPC64 => "ppc64",
        elf::EM_S390 => "s390",
        elf::EM_MIPS => "mips",
        elf::EM_RISCV => "riscv",
        elf::EM_SPARC => "sparc",
        elf::EM_SPARCV9 => "sparcv9",
        elf::EM_LOONGARCH => "loongarch",
        elf::EM_IA_64 => "ia64",
        elf::EM_NONE => "none",
        other => return format!("em-{}", other.0),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(parse_elf(b"").is_err());
        assert!(parse_elf(b"\x7fELF").is_err());
        assert!(parse_elf(b"\x7fELF\x03").is_err());
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2; // 64-bit
        header[5] = 1; // little endian
        header[6] = 1; // EV_CURRENT
                       // A header alone is a valid (empty) ELF file.
        let info = parse_elf(&header).unwrap();
        assert!(info.is_64 && info.needed.is_empty() && info.interpreter.is_none());
        // Program headers claimed past the end of the file.
        header[32] = 0x40; // e_phoff
        header[54] = 56; // e_phentsize
        header[56] = 3; // e_phnum
        assert!(parse_elf(&header).unwrap_err().starts_with("malformed ELF"));
        // One PT_INTERP without bytes, as in separate debug files: no name, no error.
        header[56] = 1;
        let mut debug = header.clone();
        debug.resize(64 + 56, 0);
        debug[64] = 3; // PT_INTERP
        debug[72] = 0x40; // p_offset, p_filesz stays 0
        assert_eq!(parse_elf(&debug).unwrap().interpreter, None);
        // With a size but no NUL-terminated name it is broken.
        debug[96] = 4; // p_filesz
        debug.extend_from_slice(b"/lib");
        debug[72] = 120; // p_offset → "/lib", no NUL
        assert!(parse_elf(&debug).unwrap_err().starts_with("malformed ELF"));
    }

    /// 4000 `DT_NEEDED` entries all naming one 100 KB string: 400 MB of
    /// copies if nothing bounded them (found by the fuzzer).
    #[test]
    fn repeated_dynamic_strings_are_bounded() {
        const PH: usize = 64;
        const DYN: usize = PH + 2 * 56;
        let entries = 4000 + 3;
        let strtab = DYN + entries * 16;
        let mut f = vec![0u8; strtab];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1;
        f[16] = 3; // ET_DYN
        f[18] = 62; // x86-64
        f[20] = 1;
        f[32..40].copy_from_slice(&(PH as u64).to_le_bytes()); // e_phoff
        f[52] = 64; // e_ehsize
        f[54] = 56; // e_phentsize
        f[56] = 2; // e_phnum
        let total = (strtab + 100_001) as u64;
        let phdr = |f: &mut Vec<u8>, at: usize, ty: u32, off: u64, size: u64| {
            f[at..at + 4].copy_from_slice(&ty.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&off.to_le_bytes()); // p_offset
            f[at + 16..at + 24].copy_from_slice(&off.to_le_bytes()); // p_vaddr = offset
            f[at + 32..at + 40].copy_from_slice(&size.to_le_bytes()); // p_filesz
            f[at + 40..at + 48].copy_from_slice(&size.to_le_bytes()); // p_memsz
        };
        phdr(&mut f, PH, 1, 0, total); // PT_LOAD, the whole file
        phdr(&mut f, PH + 56, 2, DYN as u64, (entries * 16) as u64); // PT_DYNAMIC
        let mut at = DYN;
        let mut entry = |tag: u64, val: u64| {
            f[at..at + 8].copy_from_slice(&tag.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&val.to_le_bytes());
            at += 16;
        };
        entry(5, strtab as u64); // DT_STRTAB
        entry(10, 100_001); // DT_STRSZ
        for _ in 0..4000 {
            entry(1, 0); // DT_NEEDED → the one long string
        }
        f.extend(std::iter::repeat_n(b'a', 100_000));
        f.push(0);
        let err = parse_elf(&f).unwrap_err();
        assert!(err.contains("bytes of dynamic strings"), "{err}");
        // The same file with 2 entries is fine.
        let two = parse_elf(&{
            let mut g = f.clone();
            for i in 2..4000 {
                let at = DYN + (2 + i) * 16;
                g[at..at + 16].fill(0);
            }
            g
        })
        .unwrap();
        assert_eq!(two.needed.len(), 2);
    }

    #[test]
    fn splits_search_paths() {
        let v: Vec<String> = split_search_path("$ORIGIN/../lib::/opt/x:").collect();
        assert_eq!(v, vec!["$ORIGIN/../lib", "/opt/x"]);
    }
}
