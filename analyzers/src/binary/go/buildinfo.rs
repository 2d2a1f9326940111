//! Finding and decoding the Go build info blob of an ELF executable: the
//! toolchain version and the module info text the linker embeds.
//!
//! The blob starts with the 14-byte magic `\xff Go buildinf:`, then one byte
//! of pointer size and one of flags, padded to a 32-byte header:
//! - flags bit 1 set (Go ≥ 1.18): the two strings follow the header inline,
//!   each as an unsigned LEB128 length and its bytes;
//! - otherwise (Go 1.13–1.17): two pointers follow the magic and flags, to
//!   the Go string headers (data pointer, length) of `runtime.buildVersion`
//!   and `runtime.modinfo`; flags bit 0 says big-endian. Those are virtual
//!   addresses, read through the loadable segments.
//!
//! The blob is the `.go.buildinfo` section when the file has section headers;
//! without them (`sstrip`ped binaries) it is searched in the writable
//! segments, 16-byte aligned as the linker places it.

use super::super::elf::ElfImage;

pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The section the Go linker writes the blob to.
pub const SECTION: &[u8] = b".go.buildinfo";
const HEADER_LEN: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE_STRINGS: u8 = 0x2;
/// Largest version or module info string read: real ones are kilobytes.
pub const MAX_STRING: u64 = 4 * 1024 * 1024;
/// The module info is framed by 16 bytes of sentinels on both sides (so the
/// linker can find it); the text proper ends with a newline.
const SENTINEL_LEN: usize = 16;

/// The two strings of the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBuildInfo {
    /// `runtime.buildVersion`, e.g. `go1.19.8`.
    pub go_version: String,
    /// The module info text (sentinels removed).
    pub modinfo: String,
}

/// Reads the build info. `Ok(None)`: no blob, not a Go binary (or one too old
/// to carry build info). `Err`: a blob is there but cannot be decoded.
pub fn read(data: &[u8]) -> Result<Option<RawBuildInfo>, String> {
    let Some(elf) = ElfImage::parse(data) else {
        return Ok(None);
    };
    if !elf.sections.is_empty() {
        return match elf.section(SECTION) {
            Some(section) => {
                let blob = elf.section_data(section);
                if !blob.starts_with(MAGIC) {
                    return Err(format!(
                        "{} section without the build info magic",
                        show(SECTION)
                    ));
                }
                decode(&elf, blob).map(Some)
            }
            None => Ok(None),
        };
    }
    match find_in_segments(&elf) {
        Some(blob) => decode(&elf, blob).map(Some),
        None => Ok(None),
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The blob in a writable segment, from its magic to the segment's end.
fn find_in_segments<'a>(elf: &ElfImage<'a>) -> Option<&'a [u8]> {
    elf.segments.iter().filter(|s| s.writable).find_map(|seg| {
        let data = elf.segment_data(seg);
        // The magic sits at a 16-byte aligned virtual address; segments map
        // file offsets congruent to their addresses modulo the page size.
        let skew = ((16 - seg.vaddr % 16) % 16) as usize;
        let mut at = skew;
        while at.checked_add(MAGIC.len())? <= data.len() {
            if data.get(at..at + MAGIC.len()) == Some(&MAGIC[..]) {
                return data.get(at..);
            }
            at += 16;
        }
        None
    })
}

fn decode(elf: &ElfImage<'_>, blob: &[u8]) -> Result<RawBuildInfo, String> {
    let header = blob
        .get(..HEADER_LEN)
        .ok_or_else(|| format!("build info header truncated ({} bytes)", blob.len()))?;
    let (pointer_size, flags) = (header[14], header[15]);
    let (go_version, modinfo) = if flags & FLAG_INLINE_STRINGS != 0 {
        let rest = &blob[HEADER_LEN..];
        let (version, used) = inline_string(rest).map_err(|e| format!("Go version: {e}"))?;
        let (modinfo, _) = rest
            .get(used..)
            .ok_or("module info missing")
            .and_then(inline_string)
            .map_err(|e| format!("module info: {e}"))?;
        (version, modinfo)
    } else {
        let big_endian = flags & FLAG_BIG_ENDIAN != 0;
        let size = match pointer_size {
            4 | 8 => usize::from(pointer_size),
            n => return Err(format!("unsupported pointer size {n}")),
        };
        let pointers = Pointers { size, big_endian };
        let version_ptr = pointers
            .read(blob, 16)
            .ok_or("build info header truncated")?;
        let modinfo_ptr = pointers
            .read(blob, 16 + size)
            .ok_or("build info header truncated")?;
        let version = pointers
            .go_string(elf, version_ptr)
            .map_err(|e| format!("Go version: {e}"))?;
        let modinfo = pointers
            .go_string(elf, modinfo_ptr)
            .map_err(|e| format!("module info: {e}"))?;
        (version, modinfo)
    };
    if go_version.is_empty() {
        return Err("empty Go version".into());
    }
    Ok(RawBuildInfo {
        go_version: String::from_utf8_lossy(go_version).into_owned(),
        modinfo: String::from_utf8_lossy(strip_sentinels(modinfo)).into_owned(),
    })
}

/// Unsigned LEB128, at most 10 bytes, no overflow of 64 bits.
pub fn uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        let bits = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A length-prefixed string at the start of `data`, and the bytes it used.
fn inline_string(data: &[u8]) -> Result<(&[u8], usize), &'static str> {
    let (len, used) = uvarint(data).ok_or("bad length varint")?;
    if len > MAX_STRING {
        return Err("length over the limit");
    }
    let end = used
        .checked_add(len as usize)
        .filter(|&end| end <= data.len())
        .ok_or("length past the end of the data")?;
    Ok((&data[used..end], end))
}

struct Pointers {
    size: usize,
    big_endian: bool,
}

impl Pointers {
    fn read(&self, data: &[u8], at: usize) -> Option<u64> {
        let bytes = data.get(at..at.checked_add(self.size)?)?;
        let mut value: u64 = 0;
        for i in 0..self.size {
            let b = if self.big_endian {
                bytes[i]
            } else {
                bytes[self.size - 1 - i]
            };
            value = value << 8 | u64::from(b);
        }
        Some(value)
    }

    /// The bytes of the Go string whose header (data pointer, length) is at
    /// virtual address `header`.
    fn go_string<'a>(&self, elf: &ElfImage<'a>, header: u64) -> Result<&'a [u8], &'static str> {
        let raw = elf
            .read_at(header, 2 * self.size as u64)
            .ok_or("string header outside the file")?;
        let data = self.read(raw, 0).ok_or("string header truncated")?;
        let len = self.read(raw, self.size).ok_or("string header truncated")?;
        if len > MAX_STRING {
            return Err("length over the limit");
        }
        if len == 0 {
            return Ok(&[]);
        }
        elf.read_at(data, len).ok_or("string data outside the file")
    }
}

fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let n = modinfo.len();
    if n > 2 * SENTINEL_LEN && modinfo[n - SENTINEL_LEN - 1] == b'\n' {
        &modinfo[SENTINEL_LEN..n - SENTINEL_LEN]
    } else {
        modinfo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_limits() {
        assert_eq!(uvarint(&[0]), Some((0, 1)));
        assert_eq!(uvarint(&[0xac, 0x02]), Some((300, 2)));
        assert_eq!(uvarint(&[0x80]), None, "unterminated");
        assert_eq!(uvarint(&[0xff; 10]), None, "overflows 64 bits");
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uvarint(&max), Some((u64::MAX, 10)));
        assert_eq!(uvarint(&[0x80; 11]), None);
    }

    #[test]
    fn inline_string_bounds() {
        assert_eq!(inline_string(b"\x03abcd"), Ok((&b"abc"[..], 4)));
        assert!(inline_string(b"\x05abc").is_err());
        assert!(inline_string(&[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }

    #[test]
    fn sentinels_only_when_framed() {
        let framed = [&[1u8; 16][..], b"path\tx\n", &[2u8; 16][..]].concat();
        assert_eq!(strip_sentinels(&framed), b"path\tx\n");
        assert_eq!(strip_sentinels(b"path\tx\n"), b"path\tx\n");
    }

    #[test]
    fn pointers_both_endians() {
        let le = Pointers {
            size: 4,
            big_endian: false,
        };
        let be = Pointers {
            size: 8,
            big_endian: true,
        };
        assert_eq!(le.read(&[1, 2, 3, 4], 0), Some(0x0403_0201));
        assert_eq!(be.read(&[0, 0, 0, 0, 0, 0, 1, 2], 0), Some(0x0102));
        assert_eq!(be.read(&[0; 7], 0), None);
        assert_eq!(le.read(&[0; 8], usize::MAX), None);
    }
}
