//! A read-only reader for the Berkeley DB *hash* file rpm ≤ 4.15 uses as
//! `Packages` (RHEL/CentOS ≤ 8, Amazon Linux 2, old SUSE). Linking libdb is
//! not an option for a static, portable scanner, and only a small part of the
//! format matters: the metadata page, the bucket chains of hash pages and the
//! overflow pages that hold values larger than a quarter page.
//!
//! Layout (Berkeley DB `db_page.h`): every page starts with a 26-byte header
//! (`lsn[8] pgno prev_pgno next_pgno entries:u16 hf_offset:u16 level:u8
//! type:u8`), followed on hash pages by `entries` u16 item offsets that
//! alternate key/value. Integers use the byte order of the file, given away by
//! the hash magic. Every page is visited at most once, so cycles and shared
//! chains in a hostile file are caught instead of looping or blowing up.

use std::fmt;

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const META_MIN: usize = 224;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_DUPLICATE: u8 = 2;
const H_OFFPAGE: u8 = 3;
const H_OFFDUP: u8 = 4;

/// Why a `Packages` file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    #[error("file is {0} bytes, too short for a Berkeley DB metadata page")]
    TooShort(usize),
    #[error("not a Berkeley DB hash database (magic {0:#010x})")]
    BadMagic(u32),
    #[error("unsupported Berkeley DB hash version {0} (expected 8..=10)")]
    BadVersion(u32),
    #[error("metadata page has type {0}, expected {P_HASHMETA} (hash metadata)")]
    BadMetaType(u8),
    #[error("invalid page size {0}")]
    BadPageSize(u32),
    #[error("encrypted or checksummed databases are not supported")]
    Encrypted,
    #[error("metadata says the last page is {last_pgno} but the {len}-byte file holds only {pages} pages of {page_size} bytes")]
    Truncated {
        last_pgno: u32,
        len: usize,
        pages: u64,
        page_size: usize,
    },
    #[error("bucket count {0} is impossible for this file")]
    BadBucketCount(u32),
    #[error("page {0} is out of range")]
    PageOutOfRange(u64),
    #[error("page {0} is reached twice (cyclic or shared page chain)")]
    PageRevisited(u32),
    #[error("page {pgno} records page number {recorded}")]
    PageNumberMismatch { pgno: u32, recorded: u32 },
    #[error("page {pgno} has type {ty}, expected {expected}")]
    UnexpectedPageType {
        pgno: u32,
        ty: u8,
        expected: &'static str,
    },
    #[error("page {pgno}: {what}")]
    BadItem { pgno: u32, what: String },
    #[error("overflow chain from page {start} ends after {got} of {total} bytes")]
    ShortOverflow { start: u32, got: usize, total: u32 },
    #[error("overflow item claims {0} bytes, more than the whole file")]
    OverflowTooLarge(u32),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s = b.get(at..at.checked_add(2)?)?;
        let a = [s[0], s[1]];
        Some(match self {
            Order::Little => u16::from_le_bytes(a),
            Order::Big => u16::from_be_bytes(a),
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s = b.get(at..at.checked_add(4)?)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(match self {
            Order::Little => u32::from_le_bytes(a),
            Order::Big => u32::from_be_bytes(a),
        })
    }
}

/// An opened hash database: validated metadata plus the bytes.
struct HashDb<'a> {
    bytes: &'a [u8],
    order: Order,
    page_size: usize,
    last_pgno: u32,
    max_bucket: u32,
    spares: [u32; 32],
    visited: Vec<bool>,
}

/// One value as stored: borrowed from a page or reassembled from overflow pages.
enum Value<'a> {
    OnPage(&'a [u8]),
    Overflow(Vec<u8>),
}

impl std::ops::Deref for Value<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Value::OnPage(b) => b,
            Value::Overflow(v) => v,
        }
    }
}

impl fmt::Debug for HashDb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashDb")
            .field("order", &self.order)
            .field("page_size", &self.page_size)
            .field("last_pgno", &self.last_pgno)
            .field("max_bucket", &self.max_bucket)
            .finish()
    }
}

impl<'a> HashDb<'a> {
    fn open(bytes: &'a [u8]) -> Result<HashDb<'a>, BdbError> {
        if bytes.len() < META_MIN {
            return Err(BdbError::TooShort(bytes.len()));
        }
        let le = Order::Little.u32(bytes, 12).unwrap_or_default();
        let order = if le == HASH_MAGIC {
            Order::Little
        } else if le.swap_bytes() == HASH_MAGIC {
            Order::Big
        } else {
            return Err(BdbError::BadMagic(le));
        };
        let field = |at| order.u32(bytes, at).unwrap_or_default();
        let version = field(16);
        if !(8..=10).contains(&version) {
            return Err(BdbError::BadVersion(version));
        }
        let page_size = field(20);
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(BdbError::BadPageSize(page_size));
        }
        // encrypt_alg (byte 24) and the checksum bit of metaflags (byte 26)
        // change the page layout; rpm never sets them.
        if bytes[24] != 0 || bytes[26] & 1 != 0 {
            return Err(BdbError::Encrypted);
        }
        if bytes[25] != P_HASHMETA {
            return Err(BdbError::BadMetaType(bytes[25]));
        }
        let page_size = page_size as usize;
        let last_pgno = field(32);
        let pages = (bytes.len() / page_size) as u64;
        if u64::from(last_pgno) >= pages {
            return Err(BdbError::Truncated {
                last_pgno,
                len: bytes.len(),
                pages,
                page_size,
            });
        }
        let max_bucket = field(72);
        // Each bucket owns at least one page; the spares table has 32 slots.
        if max_bucket >= last_pgno || max_bucket >= 1 << 31 {
            return Err(BdbError::BadBucketCount(max_bucket));
        }
        let mut spares = [0u32; 32];
        for (i, s) in spares.iter_mut().enumerate() {
            *s = field(96 + 4 * i);
        }
        Ok(HashDb {
            bytes,
            order,
            page_size,
            last_pgno,
            max_bucket,
            spares,
            visited: vec![false; last_pgno as usize + 1],
        })
    }

    /// The page a bucket starts on (`BS_TO_PAGE` in Berkeley DB).
    fn bucket_page(&self, bucket: u32) -> u64 {
        let bits = (u32::BITS - bucket.leading_zeros()) as usize;
        u64::from(bucket) + u64::from(self.spares.get(bits).copied().unwrap_or_default())
    }

    /// Returns page `pgno`, marking it visited; a second visit is an error.
    fn page(
        &mut self,
        pgno: u64,
        expected: &'static str,
        types: &[u8],
    ) -> Result<&'a [u8], BdbError> {
        if pgno == 0 || pgno > u64::from(self.last_pgno) {
            return Err(BdbError::PageOutOfRange(pgno));
        }
        let pg = pgno as u32;
        let seen = &mut self.visited[pgno as usize];
        if *seen {
            return Err(BdbError::PageRevisited(pg));
        }
        *seen = true;
        let start = pgno as usize * self.page_size;
        let page = self
            .bytes
            .get(start..start + self.page_size)
            .ok_or(BdbError::PageOutOfRange(pgno))?;
        let recorded = self.order.u32(page, 8).unwrap_or_default();
        if recorded != pg {
            return Err(BdbError::PageNumberMismatch { pgno: pg, recorded });
        }
        if !types.contains(&page[25]) {
            return Err(BdbError::UnexpectedPageType {
                pgno: pg,
                ty: page[25],
                expected,
            });
        }
        Ok(page)
    }

    fn overflow(&mut self, start: u32, total: u32) -> Result<Vec<u8>, BdbError> {
        if total as usize > self.bytes.len() {
            return Err(BdbError::OverflowTooLarge(total));
        }
        let total_len = total as usize;
        let mut out = Vec::with_capacity(total_len);
        let mut pgno = start;
        while out.len() < total_len {
            if pgno == 0 {
                return Err(BdbError::ShortOverflow {
                    start,
                    got: out.len(),
                    total,
                });
            }
            let page = self.page(u64::from(pgno), "overflow", &[P_OVERFLOW])?;
            let len = usize::from(self.order.u16(page, 22).unwrap_or_default());
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + len)
                .filter(|_| len <= total_len - out.len())
                .ok_or_else(|| BdbError::BadItem {
                    pgno,
                    what: format!("overflow length {len} does not fit the page or the item"),
                })?;
            out.extend_from_slice(chunk);
            pgno = self.order.u32(page, 16).unwrap_or_default();
        }
        Ok(out)
    }

    fn item(&mut self, pgno: u32, item: &'a [u8]) -> Result<Value<'a>, BdbError> {
        let bad = |what: String| BdbError::BadItem { pgno, what };
        match item.first().copied() {
            Some(H_KEYDATA) => Ok(Value::OnPage(&item[1..])),
            Some(H_OFFPAGE) => {
                if item.len() != 12 {
                    return Err(bad(format!(
                        "off-page item is {} bytes, not 12",
                        item.len()
                    )));
                }
                let start = self.order.u32(item, 4).unwrap_or_default();
                let total = self.order.u32(item, 8).unwrap_or_default();
                Ok(Value::Overflow(self.overflow(start, total)?))
            }
            Some(t @ (H_DUPLICATE | H_OFFDUP)) => Err(bad(format!(
                "duplicate-key item (type {t}) in an rpm Packages database"
            ))),
            Some(t) => Err(bad(format!("unknown item type {t}"))),
            None => Err(bad("empty item".to_string())),
        }
    }

    /// Calls `f(key, value)` for every pair, bucket by bucket.
    fn for_each<E: From<BdbError>>(
        &mut self,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for bucket in 0..=self.max_bucket {
            let mut pgno = self.bucket_page(bucket);
            while pgno != 0 {
                let page = self.page(pgno, "hash", &[P_HASH, P_HASH_UNSORTED])?;
                let pg = pgno as u32;
                let entries = usize::from(self.order.u16(page, 20).unwrap_or_default());
                let index_end = PAGE_HEADER + 2 * entries;
                if entries % 2 != 0 || index_end > self.page_size {
                    return Err(BdbError::BadItem {
                        pgno: pg,
                        what: format!(
                            "{entries} item offsets do not form key/value pairs on the page"
                        ),
                    }
                    .into());
                }
                let order = self.order;
                let offset = |i: usize| {
                    usize::from(order.u16(page, PAGE_HEADER + 2 * i).unwrap_or_default())
                };
                // Items are packed from the end of the page downwards: each
                // one ends where the previous one starts.
                let mut end = self.page_size;
                for pair in 0..entries / 2 {
                    let (k, v) = (offset(2 * pair), offset(2 * pair + 1));
                    if !(index_end <= v && v <= k && k <= end) {
                        return Err(BdbError::BadItem {
                            pgno: pg,
                            what: format!(
                                "item offsets {k}/{v} are out of order or overlap the page header"
                            ),
                        }
                        .into());
                    }
                    let key = self.item(pg, &page[k..end])?;
                    let value = self.item(pg, &page[v..k])?;
                    f(&key, &value)?;
                    end = v;
                }
                pgno = u64::from(self.order.u32(page, 16).unwrap_or_default());
            }
        }
        Ok(())
    }
}

/// Calls `f(record_number, header_blob)` for every package record of a
/// Berkeley DB `Packages` file. rpm keys records by a native-endian u32
/// instance number; key 0 holds rpm's instance counter and is skipped.
pub fn for_each_record<E: From<BdbError>>(
    bytes: &[u8],
    mut f: impl FnMut(u32, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut db = HashDb::open(bytes)?;
    let order = db.order;
    db.for_each(|key, value| {
        let record = match key.len() {
            4 => order.u32(key, 0).unwrap_or_default(),
            n => {
                return Err(BdbError::BadItem {
                    pgno: 0,
                    what: format!("record key is {n} bytes, rpm uses 4"),
                }
                .into())
            }
        };
        if record == 0 {
            return Ok(());
        }
        f(record, value)
    })
}

/// Test helper: builds a little-endian (or big-endian) hash database with one
/// bucket per page and the given overflow pages.
#[cfg(test)]
pub(crate) mod build {
    pub const PS: usize = 512;

    pub enum Item<'a> {
        Data(&'a [u8]),
        Off { pgno: u32, len: u32 },
    }

    pub enum Page<'a> {
        Hash {
            pairs: Vec<(Item<'a>, Item<'a>)>,
            next: u32,
        },
        Overflow {
            data: &'a [u8],
            next: u32,
        },
    }

    pub fn db(big: bool, buckets: u32, pages: &[Page<'_>]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = vec![0u8; PS * (pages.len() + 1)];
        out[12..16].copy_from_slice(&w32(super::HASH_MAGIC));
        out[16..20].copy_from_slice(&w32(9));
        out[20..24].copy_from_slice(&w32(PS as u32));
        out[25] = super::P_HASHMETA;
        out[32..36].copy_from_slice(&w32(pages.len() as u32));
        out[72..76].copy_from_slice(&w32(buckets - 1));
        // Bucket b lives on page b + 1: spares[i] = 1 for every split point.
        for i in 0..32 {
            out[96 + 4 * i..100 + 4 * i].copy_from_slice(&w32(1));
        }
        for (i, page) in pages.iter().enumerate() {
            let pgno = i as u32 + 1;
            let p = &mut out[PS * (i + 1)..PS * (i + 2)];
            p[8..12].copy_from_slice(&w32(pgno));
            match page {
                Page::Overflow { data, next } => {
                    p[16..20].copy_from_slice(&w32(*next));
                    p[22..24].copy_from_slice(&w16(data.len() as u16));
                    p[25] = super::P_OVERFLOW;
                    p[26..26 + data.len()].copy_from_slice(data);
                }
                Page::Hash { pairs, next } => {
                    p[16..20].copy_from_slice(&w32(*next));
                    p[20..22].copy_from_slice(&w16(2 * pairs.len() as u16));
                    p[25] = super::P_HASH;
                    let mut end = PS;
                    let mut idx = 26;
                    for (k, v) in pairs {
                        for item in [k, v] {
                            let bytes = match item {
                                Item::Data(d) => [&[super::H_KEYDATA][..], d].concat(),
                                Item::Off { pgno, len } => {
                                    let mut b = vec![super::H_OFFPAGE, 0, 0, 0];
                                    b.extend_from_slice(&w32(*pgno));
                                    b.extend_from_slice(&w32(*len));
                                    b
                                }
                            };
                            let start = end - bytes.len();
                            p[start..end].copy_from_slice(&bytes);
                            p[idx..idx + 2].copy_from_slice(&w16(start as u16));
                            idx += 2;
                            end = start;
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{db, Item, Page};
    use super::*;

    fn collect(bytes: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, BdbError> {
        let mut out = Vec::new();
        for_each_record(bytes, |k, v| {
            out.push((k, v.to_vec()));
            Ok::<_, BdbError>(())
        })?;
        Ok(out)
    }

    fn sample(big: bool, first_overflow_next: u32) -> Vec<u8> {
        let key = |n: u32| {
            if big {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            }
        };
        let (k0, k1, k2) = (key(0), key(1), key(2));
        let long: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        db(
            big,
            2,
            &[
                Page::Hash {
                    pairs: vec![
                        (Item::Data(&k0), Item::Data(&[9, 0, 0, 0])),
                        (Item::Data(&k1), Item::Data(b"short value")),
                    ],
                    next: 3,
                },
                Page::Hash {
                    pairs: vec![(Item::Data(&k2), Item::Off { pgno: 4, len: 700 })],
                    next: 0,
                },
                Page::Hash {
                    pairs: vec![],
                    next: 0,
                },
                Page::Overflow {
                    data: &long[..400],
                    next: first_overflow_next,
                },
                Page::Overflow {
                    data: &long[400..],
                    next: 0,
                },
            ],
        )
    }

    #[test]
    fn reads_on_page_and_overflow_values_in_both_byte_orders() {
        let long: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        for big in [false, true] {
            let got = collect(&sample(big, 5)).unwrap();
            assert_eq!(got, vec![(1, b"short value".to_vec()), (2, long.clone())]);
        }
    }

    #[test]
    fn cyclic_overflow_chain_is_an_error() {
        // The first overflow page points at itself.
        assert_eq!(collect(&sample(false, 4)), Err(BdbError::PageRevisited(4)));
    }

    #[test]
    fn short_overflow_chain_is_an_error() {
        assert!(matches!(
            collect(&sample(false, 0)),
            Err(BdbError::ShortOverflow {
                start: 4,
                got: 400,
                total: 700
            })
        ));
    }

    #[test]
    fn cyclic_bucket_chain_is_an_error() {
        let mut bytes = sample(false, 5);
        // Page 3 (chained from bucket 0) points back to page 1.
        bytes[3 * build::PS + 16..3 * build::PS + 20].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(collect(&bytes), Err(BdbError::PageRevisited(1)));
    }

    #[test]
    fn truncations_and_bit_flips_never_panic() {
        let bytes = sample(false, 5);
        for cut in (0..bytes.len()).step_by(7) {
            assert!(collect(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut b = bytes.clone();
                b[at] ^= bit;
                let _ = collect(&b);
            }
        }
    }

    #[test]
    fn rejects_garbage_metadata() {
        assert_eq!(collect(&[0u8; 10]), Err(BdbError::TooShort(10)));
        assert!(matches!(collect(&[0u8; 4096]), Err(BdbError::BadMagic(0))));
        let mut bytes = sample(false, 5);
        bytes[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(collect(&bytes), Err(BdbError::BadPageSize(1000)));
        let mut bytes = sample(false, 5);
        bytes[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(collect(&bytes), Err(BdbError::Truncated { .. })));
    }
}
