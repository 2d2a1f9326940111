//! The rpm header blob as rpm stores it in every database backend:
//! `be32 il, be32 dl`, then `il` 16-byte index entries
//! (`tag, type, offset, count`, all big-endian) and a `dl`-byte data store.
//!
//! Only the handful of tags an SBOM needs are decoded, and every offset and
//! count is checked against the blob, because the blob comes from an untrusted
//! image layer.

use std::fmt;

/// The 8-byte magic (`8e ad e8 01` + 4 reserved bytes) that precedes a header
/// in `.rpm` files and `rpmdb --exportdb` streams; databases store the blob
/// without it, but accepting it costs nothing.
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

/// rpm's own limits (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX` in `lib/header.c`).
const MAX_INDEX_ENTRIES: u32 = 0xffff;
const MAX_DATA_LEN: u32 = 0x0fff_ffff;

const ENTRY_LEN: usize = 16;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Why a header blob could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header blob is {0} bytes, shorter than its 8-byte preamble")]
    TooShort(usize),
    #[error("header declares {0} index entries (rpm allows 1..=65535)")]
    BadIndexCount(u32),
    #[error("header declares a {0}-byte data store (rpm allows at most 256 MiB)")]
    DataTooLarge(u32),
    #[error("header needs {needed} bytes for {il} index entries and {dl} data bytes but the blob has {have}")]
    Truncated {
        il: u32,
        dl: u32,
        needed: u64,
        have: usize,
    },
    #[error("tag {tag}: type {ty} is not valid for this tag")]
    BadType { tag: u32, ty: u32 },
    #[error("tag {tag}: offset {offset} (count {count}) lies outside the {dl}-byte data store")]
    OutOfBounds {
        tag: u32,
        offset: u32,
        count: u32,
        dl: u32,
    },
    #[error("tag {tag}: string at offset {offset} is not NUL-terminated inside the data store")]
    Unterminated { tag: u32, offset: u32 },
    #[error("header has no {0} tag")]
    Missing(&'static str),
    #[error("file list: {0}")]
    Inconsistent(&'static str),
}

/// The package facts read from one header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    /// Installed file paths as rpm records them (absolute), in header order:
    /// `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or the pre-4.0 `OLDFILENAMES`.
    pub files: Vec<String>,
}

impl RpmHeader {
    /// `[EPOCH:]VERSION-RELEASE`, the form rpm itself prints as `%{EVR}`.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

impl fmt::Display for RpmHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.name, self.evr())?;
        if let Some(a) = &self.arch {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Entry {
    ty: u32,
    offset: u32,
    count: u32,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decodes a header blob (with or without the 8-byte header magic).
pub fn parse_header_blob(blob: &[u8]) -> Result<RpmHeader, HeaderError> {
    let blob = match blob.get(..4) {
        Some(m) if m == HEADER_MAGIC => blob.get(8..).unwrap_or_default(),
        _ => blob,
    };
    let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
        return Err(HeaderError::TooShort(blob.len()));
    };
    if il == 0 || il > MAX_INDEX_ENTRIES {
        return Err(HeaderError::BadIndexCount(il));
    }
    if dl > MAX_DATA_LEN {
        return Err(HeaderError::DataTooLarge(dl));
    }
    // Both factors are capped above, so this cannot overflow a u64.
    let index_len = u64::from(il) * ENTRY_LEN as u64;
    let needed = 8 + index_len + u64::from(dl);
    if needed > blob.len() as u64 {
        return Err(HeaderError::Truncated {
            il,
            dl,
            needed,
            have: blob.len(),
        });
    }
    // `needed` fits in the blob, hence in usize.
    let index = &blob[8..8 + index_len as usize];
    let data = &blob[8 + index_len as usize..needed as usize];

    let mut found: [Option<Entry>; 12] = [None; 12];
    for raw in index.chunks_exact(ENTRY_LEN) {
        let field = |i: usize| u32::from_be_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let slot = match field(0) {
            TAG_NAME => 0,
            TAG_VERSION => 1,
            TAG_RELEASE => 2,
            TAG_EPOCH => 3,
            TAG_ARCH => 4,
            TAG_SOURCERPM => 5,
            TAG_LICENSE => 6,
            TAG_VENDOR => 7,
            TAG_DIRINDEXES => 8,
            TAG_BASENAMES => 9,
            TAG_DIRNAMES => 10,
            TAG_OLDFILENAMES => 11,
            _ => continue,
        };
        // rpm keeps the first occurrence of a tag.
        found[slot].get_or_insert(Entry {
            ty: field(4),
            offset: field(8),
            count: field(12),
        });
    }
    let text = |slot: usize, tag: u32| -> Result<Option<String>, HeaderError> {
        found[slot].map(|e| string_at(data, tag, e)).transpose()
    };
    let required = |slot: usize, tag: u32, what: &'static str| -> Result<String, HeaderError> {
        text(slot, tag)?.ok_or(HeaderError::Missing(what))
    };
    let epoch = found[3].map(|e| int32_at(data, TAG_EPOCH, e)).transpose()?;
    let files = match (found[8], found[9], found[10], found[11]) {
        (Some(indexes), Some(bases), Some(dirs), _) => {
            let indexes = int32_array_at(data, TAG_DIRINDEXES, indexes)?;
            let bases = string_array_at(data, TAG_BASENAMES, bases)?;
            let dirs = string_array_at(data, TAG_DIRNAMES, dirs)?;
            if indexes.len() != bases.len() {
                return Err(HeaderError::Inconsistent(
                    "DIRINDEXES and BASENAMES differ in length",
                ));
            }
            bases
                .iter()
                .zip(indexes)
                .map(|(base, i)| {
                    dirs.get(i as usize)
                        .map(|dir| format!("{dir}{base}"))
                        .ok_or(HeaderError::Inconsistent("DIRINDEXES points past DIRNAMES"))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        (_, _, _, Some(old)) => string_array_at(data, TAG_OLDFILENAMES, old)?,
        _ => Vec::new(),
    };
    Ok(RpmHeader {
        name: required(0, TAG_NAME, "NAME")?,
        epoch,
        version: required(1, TAG_VERSION, "VERSION")?,
        release: required(2, TAG_RELEASE, "RELEASE")?,
        arch: text(4, TAG_ARCH)?,
        source_rpm: text(5, TAG_SOURCERPM)?,
        license: text(6, TAG_LICENSE)?,
        vendor: text(7, TAG_VENDOR)?,
        files,
    })
}

fn out_of_bounds(data: &[u8], tag: u32, e: Entry) -> HeaderError {
    HeaderError::OutOfBounds {
        tag,
        offset: e.offset,
        count: e.count,
        dl: data.len() as u32,
    }
}

/// The (first) string of a STRING, STRING_ARRAY or I18NSTRING entry; for
/// I18NSTRING the first string is the untranslated `C` locale value.
fn string_at(data: &[u8], tag: u32, e: Entry) -> Result<String, HeaderError> {
    match e.ty {
        TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {}
        ty => return Err(HeaderError::BadType { tag, ty }),
    }
    if e.count == 0 {
        return Err(out_of_bounds(data, tag, e));
    }
    let rest = data
        .get(e.offset as usize..)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| out_of_bounds(data, tag, e))?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(HeaderError::Unterminated {
            tag,
            offset: e.offset,
        })?;
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// All strings of a STRING_ARRAY entry. `count` cannot exceed the data store
/// (every string takes at least its NUL), which bounds the allocation.
fn string_array_at(data: &[u8], tag: u32, e: Entry) -> Result<Vec<String>, HeaderError> {
    if e.ty != TYPE_STRING_ARRAY {
        return Err(HeaderError::BadType { tag, ty: e.ty });
    }
    let mut rest = data
        .get(e.offset as usize..)
        .ok_or_else(|| out_of_bounds(data, tag, e))?;
    if e.count as usize > rest.len() {
        return Err(out_of_bounds(data, tag, e));
    }
    let mut out = Vec::with_capacity(e.count as usize);
    for _ in 0..e.count {
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(HeaderError::Unterminated {
                tag,
                offset: e.offset,
            })?;
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = &rest[end + 1..];
    }
    Ok(out)
}

fn int32_array_at(data: &[u8], tag: u32, e: Entry) -> Result<Vec<u32>, HeaderError> {
    if e.ty != TYPE_INT32 {
        return Err(HeaderError::BadType { tag, ty: e.ty });
    }
    let start = e.offset as usize;
    let bytes = (e.count as usize)
        .checked_mul(4)
        .and_then(|len| data.get(start..start.checked_add(len)?))
        .ok_or_else(|| out_of_bounds(data, tag, e))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn int32_at(data: &[u8], tag: u32, e: Entry) -> Result<u32, HeaderError> {
    if e.ty != TYPE_INT32 {
        return Err(HeaderError::BadType { tag, ty: e.ty });
    }
    if e.count == 0 {
        return Err(out_of_bounds(data, tag, e));
    }
    be32(data, e.offset as usize).ok_or_else(|| out_of_bounds(data, tag, e))
}

/// Test helper: builds a header blob from `(tag, type, payload)` triples.
#[cfg(test)]
pub(crate) fn build_blob(entries: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for &(tag, ty, count, payload) in entries {
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&count.to_be_bytes());
        data.extend_from_slice(payload);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

/// Test helper: a minimal valid header for `name-version-release.arch`.
#[cfg(test)]
pub(crate) fn simple_blob(name: &str, version: &str, release: &str, epoch: Option<u32>) -> Vec<u8> {
    let z = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    };
    let (n, v, r, a) = (z(name), z(version), z(release), z("x86_64"));
    let e = epoch.map(|e| e.to_be_bytes());
    let mut entries: Vec<(u32, u32, u32, &[u8])> = vec![
        (TAG_NAME, TYPE_STRING, 1, &n),
        (TAG_VERSION, TYPE_STRING, 1, &v),
        (TAG_RELEASE, TYPE_STRING, 1, &r),
        (TAG_ARCH, TYPE_STRING, 1, &a),
    ];
    if let Some(e) = &e {
        entries.push((TAG_EPOCH, TYPE_INT32, 1, e));
    }
    build_blob(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_minimal_header() {
        let blob = simple_blob("bash", "5.1.8", "6.el9", Some(1));
        let h = parse_header_blob(&blob).unwrap();
        assert_eq!(h.name, "bash");
        assert_eq!(h.evr(), "1:5.1.8-6.el9");
        assert_eq!(h.arch.as_deref(), Some("x86_64"));
        assert_eq!(h.to_string(), "bash-1:5.1.8-6.el9.x86_64");
        let mut with_magic = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        with_magic.extend_from_slice(&blob);
        assert_eq!(parse_header_blob(&with_magic).unwrap(), h);
    }

    #[test]
    fn i18n_string_takes_the_first_locale() {
        let blob = build_blob(&[
            (TAG_NAME, TYPE_STRING, 1, b"x\0"),
            (TAG_VERSION, TYPE_STRING, 1, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, 1, b"2\0"),
            (TAG_LICENSE, TYPE_I18NSTRING, 2, b"MIT\0Lizenz\0"),
        ]);
        let h = parse_header_blob(&blob).unwrap();
        assert_eq!(h.license.as_deref(), Some("MIT"));
        assert_eq!(h.epoch, None);
    }

    #[test]
    fn rejects_counts_and_offsets_past_the_end() {
        assert_eq!(parse_header_blob(b"\0\0"), Err(HeaderError::TooShort(2)));
        let mut blob = simple_blob("a", "1", "1", None);
        // Index count pointing far past the end of the blob.
        blob[..4].copy_from_slice(&1000u32.to_be_bytes());
        assert!(matches!(
            parse_header_blob(&blob),
            Err(HeaderError::Truncated { il: 1000, .. })
        ));
        blob[..4].copy_from_slice(&0x0100_0000u32.to_be_bytes());
        assert_eq!(
            parse_header_blob(&blob),
            Err(HeaderError::BadIndexCount(0x0100_0000))
        );
        blob[..4].copy_from_slice(&4u32.to_be_bytes());
        blob[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            parse_header_blob(&blob),
            Err(HeaderError::DataTooLarge(u32::MAX))
        );

        // A NAME entry whose offset is outside the data store.
        let mut blob = simple_blob("a", "1", "1", Some(3));
        blob[16..20].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(matches!(
            parse_header_blob(&blob),
            Err(HeaderError::OutOfBounds { tag: TAG_NAME, .. })
        ));
        // An EPOCH whose 4 bytes straddle the end.
        let blob = build_blob(&[
            (TAG_NAME, TYPE_STRING, 1, b"x\0"),
            (TAG_VERSION, TYPE_STRING, 1, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, 1, b"2\0"),
            (TAG_EPOCH, TYPE_INT32, 1, b"\0\0"),
        ]);
        assert!(matches!(
            parse_header_blob(&blob),
            Err(HeaderError::OutOfBounds { tag: TAG_EPOCH, .. })
        ));
    }

    #[test]
    fn rejects_unterminated_and_mistyped_strings() {
        let blob = build_blob(&[
            (TAG_VERSION, TYPE_STRING, 1, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, 1, b"2\0"),
            (TAG_NAME, TYPE_STRING, 1, b"abc"),
        ]);
        assert!(matches!(
            parse_header_blob(&blob),
            Err(HeaderError::Unterminated { tag: TAG_NAME, .. })
        ));
        let blob = build_blob(&[
            (TAG_NAME, TYPE_INT32, 1, b"abc\0"),
            (TAG_VERSION, TYPE_STRING, 1, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, 1, b"2\0"),
        ]);
        assert!(matches!(
            parse_header_blob(&blob),
            Err(HeaderError::BadType { tag: TAG_NAME, .. })
        ));
        let blob = build_blob(&[(TAG_NAME, TYPE_STRING, 1, b"abc\0")]);
        assert_eq!(
            parse_header_blob(&blob),
            Err(HeaderError::Missing("VERSION"))
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let blob = simple_blob("name", "1.0", "1", Some(2));
        for cut in 0..blob.len() {
            assert!(parse_header_blob(&blob[..cut]).is_err(), "cut at {cut}");
        }
    }
}
