//! A minimal, bounds-checked view of an ELF file for the binary analyzers:
//! named sections with their file bytes, loadable segments, and reads at
//! virtual addresses through those segments.
//!
//! Built on `object`'s low-level ELF reader so that a broken section table
//! (stripped with `sstrip`, truncated, hostile) still leaves the program
//! headers usable, and the other way round. Nothing here panics on input.

use object::elf::{FileHeader32, FileHeader64, PF_W, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, FileKind};

/// True when `head` starts with the ELF magic.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// One section that has bytes in the file.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: Vec<u8>,
    /// `sh_addr`: where the section is mapped (0 when it is not).
    pub address: u64,
    offset: usize,
    size: usize,
}

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub vaddr: u64,
    pub writable: bool,
    offset: usize,
    /// Bytes backed by the file (`p_filesz`, clipped to the file).
    file_size: usize,
}

/// What the analyzers need of one ELF file.
#[derive(Debug)]
pub struct ElfImage<'a> {
    data: &'a [u8],
    pub is_64: bool,
    pub big_endian: bool,
    /// Empty when the file has no (readable) section table.
    pub sections: Vec<Section>,
    /// Loadable segments; empty when the program headers are unreadable.
    pub segments: Vec<Segment>,
}

/// Clips `(offset, size)` to the file; `None` when it starts past the end.
fn clip(data: &[u8], offset: u64, size: u64) -> Option<(usize, usize)> {
    let offset = usize::try_from(offset).ok()?;
    if offset > data.len() {
        return None;
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Some((offset, size.min(data.len() - offset)))
}

impl<'a> ElfImage<'a> {
    /// Parses the headers. `None` when the file is not an ELF file or its
    /// file header is unreadable; broken section or program header tables
    /// just leave the matching list empty.
    pub fn parse(data: &'a [u8]) -> Option<ElfImage<'a>> {
        match FileKind::parse(data).ok()? {
            FileKind::Elf32 => Self::parse_as::<FileHeader32<Endianness>>(data, false),
            FileKind::Elf64 => Self::parse_as::<FileHeader64<Endianness>>(data, true),
            _ => None,
        }
    }

    fn parse_as<Elf: FileHeader<Endian = Endianness>>(
        data: &'a [u8],
        is_64: bool,
    ) -> Option<ElfImage<'a>> {
        let header = Elf::parse(data).ok()?;
        let endian = header.endian().ok()?;
        let mut sections = Vec::new();
        if let Ok(table) = header.sections(endian, data) {
            for s in table.iter() {
                let Some((offset, size)) = s.file_range(endian) else {
                    continue;
                };
                let Ok(name) = table.section_name(endian, s) else {
                    continue;
                };
                // A section whose bytes lie (partly) outside the file is
                // kept with what is there: callers check the sizes they need.
                if let Some((offset, size)) = clip(data, offset, size) {
                    sections.push(Section {
                        name: name.to_vec(),
                        address: s.sh_addr(endian).into(),
                        offset,
                        size,
                    });
                }
            }
        }
        let mut segments = Vec::new();
        if let Ok(headers) = header.program_headers(endian, data) {
            for p in headers.iter().filter(|p| p.p_type(endian) == PT_LOAD) {
                let (offset, size) = (p.p_offset(endian).into(), p.p_filesz(endian).into());
                if let Some((offset, file_size)) = clip(data, offset, size) {
                    segments.push(Segment {
                        vaddr: p.p_vaddr(endian).into(),
                        writable: p.p_flags(endian).contains(PF_W),
                        offset,
                        file_size,
                    });
                }
            }
        }
        Some(ElfImage {
            data,
            is_64,
            big_endian: endian == Endianness::Big,
            sections,
            segments,
        })
    }

    /// The first section called `name`.
    pub fn section(&self, name: &[u8]) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The bytes of a section (those present in the file).
    pub fn section_data(&self, section: &Section) -> &'a [u8] {
        self.data
            .get(section.offset..section.offset.saturating_add(section.size))
            .unwrap_or(&[])
    }

    /// The file bytes of a segment.
    pub fn segment_data(&self, segment: &Segment) -> &'a [u8] {
        self.data
            .get(segment.offset..segment.offset.saturating_add(segment.file_size))
            .unwrap_or(&[])
    }

    /// `len` bytes at virtual address `vaddr`, when one loadable segment
    /// holds all of them in the file.
    pub fn read_at(&self, vaddr: u64, len: u64) -> Option<&'a [u8]> {
        self.segments.iter().find_map(|seg| {
            let start = vaddr.checked_sub(seg.vaddr)?;
            let end = start.checked_add(len)?;
            if end > seg.file_size as u64 {
                return None;
            }
            let data = self.segment_data(seg);
            data.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_elf_or_truncated_header_is_none() {
        assert!(ElfImage::parse(b"").is_none());
        assert!(ElfImage::parse(b"MZ\x90\0").is_none());
        assert!(ElfImage::parse(b"\x7fELF\x02\x01\x01\0").is_none());
    }

    #[test]
    fn clip_stays_inside_the_file() {
        let data = [0u8; 10];
        assert_eq!(clip(&data, 4, 100), Some((4, 6)));
        assert_eq!(clip(&data, 10, 1), Some((10, 0)));
        assert_eq!(clip(&data, 11, 1), None);
        assert_eq!(clip(&data, u64::MAX, u64::MAX), None);
    }
}
