//! A reader for rpm's own "ndb" package store, `Packages.db` (openSUSE and
//! SLES since 15 SP3), following rpm's `lib/backend/ndb/rpmpkg.c`.
//!
//! The file starts with a 32-byte header (`RpmP`, version 0, generation,
//! number of 4 KiB slot pages, next package index), then the slot pages: 16-byte
//! slots (`Slot`, package index, block offset, block count; a zero offset is a
//! free slot). A package blob lives at `blkoff * 16`: a 16-byte head (`BlbS`,
//! package index, generation, length), the header blob, padding, then a
//! 12-byte tail (adler32 of everything before it, length, `BlbE`). All
//! integers are little-endian. Blobs are checked not to overlap, so a hostile
//! file cannot make us decode the same bytes over and over.

const FILE_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLK_SIZE: usize = 16;
const PAGE_SIZE: usize = 4096;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

/// Why a `Packages.db` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    #[error("file is {0} bytes, too short for an ndb header")]
    TooShort(usize),
    #[error("not an rpm ndb package database (magic {0:#010x})")]
    BadMagic(u32),
    #[error("unsupported ndb version {0}")]
    BadVersion(u32),
    #[error("header claims {slot_pages} slot pages but the file is only {len} bytes")]
    BadSlotPages { slot_pages: u32, len: usize },
    #[error("slot {slot} has a bad magic")]
    BadSlot { slot: usize },
    #[error("slot {slot} (package {pkgidx}) points at blocks {blkoff}+{blkcnt}, outside the blob area of the {len}-byte file")]
    SlotOutOfRange {
        slot: usize,
        pkgidx: u32,
        blkoff: u32,
        blkcnt: u32,
        len: usize,
    },
    #[error("blobs of packages {a} and {b} overlap")]
    Overlap { a: u32, b: u32 },
    #[error("blob of package {pkgidx}: {what}")]
    BadBlob { pkgidx: u32, what: &'static str },
}

/// RFC 1950 adler32, as rpm uses to protect each blob.
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest run that cannot overflow u32 before the modulo.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or_default()
}

#[derive(Clone, Copy)]
struct Slot {
    pkgidx: u32,
    start: usize,
    len: usize,
}

/// Calls `f(package_index, header_blob)` for every package, in package-index
/// order (rpm's install order).
pub fn for_each_record<E: From<NdbError>>(
    bytes: &[u8],
    mut f: impl FnMut(u32, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    if bytes.len() < HEADER_SIZE {
        return Err(NdbError::TooShort(bytes.len()).into());
    }
    let magic = le32(bytes, 0);
    if magic != FILE_MAGIC {
        return Err(NdbError::BadMagic(magic).into());
    }
    let version = le32(bytes, 4);
    if version != 0 {
        return Err(NdbError::BadVersion(version).into());
    }
    let slot_pages = le32(bytes, 12);
    let slot_area = (slot_pages as usize)
        .checked_mul(PAGE_SIZE)
        .filter(|&n| n > 0 && n <= bytes.len())
        .ok_or(NdbError::BadSlotPages {
            slot_pages,
            len: bytes.len(),
        })?;

    let mut slots = Vec::new();
    // The first two slots of page 0 are the file header.
    for (n, raw) in bytes[..slot_area]
        .chunks_exact(SLOT_SIZE)
        .enumerate()
        .skip(HEADER_SIZE / SLOT_SIZE)
    {
        if le32(raw, 0) != SLOT_MAGIC {
            return Err(NdbError::BadSlot { slot: n }.into());
        }
        let (pkgidx, blkoff, blkcnt) = (le32(raw, 4), le32(raw, 8), le32(raw, 12));
        if blkoff == 0 {
            continue;
        }
        let start = blkoff as usize * BLK_SIZE;
        let len = blkcnt as usize * BLK_SIZE;
        let fits = pkgidx != 0
            && start >= slot_area
            && len >= BLOB_HEAD + BLOB_TAIL
            && start.checked_add(len).is_some_and(|end| end <= bytes.len());
        if !fits {
            return Err(NdbError::SlotOutOfRange {
                slot: n,
                pkgidx,
                blkoff,
                blkcnt,
                len: bytes.len(),
            }
            .into());
        }
        slots.push(Slot { pkgidx, start, len });
    }
    slots.sort_by_key(|s| s.start);
    for w in slots.windows(2) {
        if w[0].start + w[0].len > w[1].start {
            return Err(NdbError::Overlap {
                a: w[0].pkgidx,
                b: w[1].pkgidx,
            }
            .into());
        }
    }
    slots.sort_by_key(|s| (s.pkgidx, s.start));
    for slot in slots {
        let blob = blob(&bytes[slot.start..slot.start + slot.len], slot.pkgidx)?;
        f(slot.pkgidx, blob)?;
    }
    Ok(())
}

/// Validates one blob area (exactly `blkcnt` blocks) and returns the header blob.
fn blob(area: &[u8], pkgidx: u32) -> Result<&[u8], NdbError> {
    let bad = |what| NdbError::BadBlob { pkgidx, what };
    if le32(area, 0) != BLOB_HEAD_MAGIC {
        return Err(bad("bad head magic"));
    }
    if le32(area, 4) != pkgidx {
        return Err(bad("head names another package"));
    }
    let bloblen = le32(area, 12) as usize;
    if (BLOB_HEAD + bloblen + BLOB_TAIL).div_ceil(BLK_SIZE) * BLK_SIZE != area.len() {
        return Err(bad("length does not match the slot's block count"));
    }
    let tail = area.len() - BLOB_TAIL;
    if le32(area, tail + 8) != BLOB_TAIL_MAGIC {
        return Err(bad("bad tail magic"));
    }
    if le32(area, tail + 4) as usize != bloblen {
        return Err(bad("head and tail lengths differ"));
    }
    if le32(area, tail) != adler32(&area[..tail]) {
        return Err(bad("adler32 checksum mismatch"));
    }
    Ok(&area[BLOB_HEAD..BLOB_HEAD + bloblen])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a one-slot-page database holding `blobs` as packages 1, 2, ...
    fn build(blobs: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0u8; PAGE_SIZE];
        out[0..4].copy_from_slice(b"RpmP");
        out[12..16].copy_from_slice(&1u32.to_le_bytes());
        out[16..20].copy_from_slice(&(blobs.len() as u32 + 1).to_le_bytes());
        for s in (HEADER_SIZE..PAGE_SIZE).step_by(SLOT_SIZE) {
            out[s..s + 4].copy_from_slice(b"Slot");
        }
        for (i, b) in blobs.iter().enumerate() {
            let pkgidx = i as u32 + 1;
            let blkoff = (out.len() / BLK_SIZE) as u32;
            let blkcnt = (BLOB_HEAD + b.len() + BLOB_TAIL).div_ceil(BLK_SIZE);
            let mut area = Vec::new();
            area.extend_from_slice(b"BlbS");
            area.extend_from_slice(&pkgidx.to_le_bytes());
            area.extend_from_slice(&0u32.to_le_bytes());
            area.extend_from_slice(&(b.len() as u32).to_le_bytes());
            area.extend_from_slice(b);
            area.resize(blkcnt * BLK_SIZE - BLOB_TAIL, 0);
            let sum = adler32(&area);
            area.extend_from_slice(&sum.to_le_bytes());
            area.extend_from_slice(&(b.len() as u32).to_le_bytes());
            area.extend_from_slice(b"BlbE");
            out.extend_from_slice(&area);
            let s = HEADER_SIZE + SLOT_SIZE * i;
            out[s + 4..s + 8].copy_from_slice(&pkgidx.to_le_bytes());
            out[s + 8..s + 12].copy_from_slice(&blkoff.to_le_bytes());
            out[s + 12..s + 16].copy_from_slice(&(blkcnt as u32).to_le_bytes());
        }
        out
    }

    fn collect(bytes: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, NdbError> {
        let mut out = Vec::new();
        for_each_record(bytes, |k, v| {
            out.push((k, v.to_vec()));
            Ok::<_, NdbError>(())
        })?;
        Ok(out)
    }

    #[test]
    fn adler32_matches_rfc1950_example() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[0xff; 20000]), {
            let (mut a, mut b) = (1u64, 0u64);
            for _ in 0..20000 {
                a = (a + 0xff) % 65521;
                b = (b + a) % 65521;
            }
            ((b << 16) | a) as u32
        });
    }

    #[test]
    fn reads_blobs_in_package_order() {
        let db = build(&[b"first", b"second blob"]);
        assert_eq!(
            collect(&db).unwrap(),
            vec![(1, b"first".to_vec()), (2, b"second blob".to_vec())]
        );
    }

    #[test]
    fn overlapping_slots_are_an_error() {
        let mut db = build(&[b"first", b"second"]);
        // Point slot 2 at slot 1's blocks.
        let (s1, s2) = (HEADER_SIZE, HEADER_SIZE + SLOT_SIZE);
        let first = db[s1 + 8..s1 + 16].to_vec();
        db[s2 + 8..s2 + 16].copy_from_slice(&first);
        assert!(matches!(collect(&db), Err(NdbError::Overlap { .. })));
    }

    #[test]
    fn checksum_and_bounds_are_enforced() {
        let db = build(&[b"first"]);
        let mut flipped = db.clone();
        flipped[PAGE_SIZE + BLOB_HEAD] ^= 1;
        assert_eq!(
            collect(&flipped),
            Err(NdbError::BadBlob {
                pkgidx: 1,
                what: "adler32 checksum mismatch"
            })
        );
        let mut huge = db.clone();
        huge[HEADER_SIZE + 12..HEADER_SIZE + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            collect(&huge),
            Err(NdbError::SlotOutOfRange { .. })
        ));
        let mut pages = db.clone();
        pages[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            collect(&pages),
            Err(NdbError::BadSlotPages { .. })
        ));
        for cut in (0..db.len()).step_by(5) {
            assert!(collect(&db[..cut]).is_err(), "cut at {cut}");
        }
    }
}
