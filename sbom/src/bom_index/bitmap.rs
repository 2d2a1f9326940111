//! Portable roaring bitmaps (<https://github.com/RoaringBitmap/RoaringFormatSpec>)
//! read in place.
//!
//! An index keeps its bitmaps as the validated bytes of the file: parsing a
//! fleet then allocates nothing per component, and a bitmap is decoded only
//! when a query matches it ([`Bitmap::iter`]). [`validate`] walks the whole
//! layout strictly — the `roaring` crate's own decoder trusts parts of it:
//! it allocates from the container count before checking that the bytes
//! exist, accepts container keys in any order, and ignores trailing bytes and
//! the offset header. [`Bitmap::to_roaring`] hands validated bytes to the
//! crate when a `RoaringBitmap` is wanted.

use roaring::RoaringBitmap;

const SERIAL_COOKIE_NO_RUNCONTAINER: u32 = 12346;
const SERIAL_COOKIE: u16 = 12347;
const NO_OFFSET_THRESHOLD: usize = 4;
const MAX_CONTAINERS: usize = 1 << 16;
/// Containers with more values than this are bitsets (unless run-encoded).
const ARRAY_LIMIT: usize = 4096;
const BITSET_BYTES: usize = 8192;

/// What validation learned about a bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub len: u64,
    pub max: Option<u32>,
}

/// The header of a portable bitmap: where its parts are.
struct Layout<'a> {
    size: usize,
    run_flags: Option<&'a [u8]>,
    /// `size` × (key u16, cardinality − 1 u16).
    descriptions: &'a [u8],
    /// `size` × u32, when present.
    offsets: Option<&'a [u8]>,
    /// Where the first container starts.
    data: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Bitset,
    Run,
}

impl<'a> Layout<'a> {
    fn parse(b: &'a [u8]) -> Result<Layout<'a>, String> {
        let cookie = u32_at(b, 0).ok_or("shorter than the 4-byte cookie")?;
        let (size, pos, run_flags, has_offsets) = if cookie == SERIAL_COOKIE_NO_RUNCONTAINER {
            let size = u32_at(b, 4).ok_or("shorter than the 8-byte header")? as usize;
            (size, 8, None, true)
        } else if cookie as u16 == SERIAL_COOKIE {
            let size = (cookie >> 16) as usize + 1;
            let flag_bytes = size.div_ceil(8);
            let flags = b
                .get(4..4 + flag_bytes)
                .ok_or_else(|| format!("{size} container(s) need {flag_bytes} run-flag byte(s)"))?;
            (
                size,
                4 + flag_bytes,
                Some(flags),
                size >= NO_OFFSET_THRESHOLD,
            )
        } else {
            return Err(format!("unknown cookie {cookie:#010x}"));
        };
        if size > MAX_CONTAINERS {
            return Err(format!("{size} containers (at most {MAX_CONTAINERS})"));
        }
        let header = size * if has_offsets { 8 } else { 4 };
        if b.len() - pos < header {
            return Err(format!(
                "{size} container(s) need {header} header byte(s) at byte {pos}, {} left",
                b.len() - pos
            ));
        }
        Ok(Layout {
            size,
            run_flags,
            descriptions: &b[pos..pos + size * 4],
            offsets: has_offsets.then(|| &b[pos + size * 4..pos + size * 8]),
            data: pos + header,
        })
    }

    fn key(&self, i: usize) -> u16 {
        u16_at(self.descriptions, 4 * i).unwrap_or(0)
    }

    fn cardinality(&self, i: usize) -> usize {
        usize::from(u16_at(self.descriptions, 4 * i + 2).unwrap_or(0)) + 1
    }

    fn kind(&self, i: usize) -> Kind {
        if self
            .run_flags
            .is_some_and(|f| f[i / 8] & (1 << (i % 8)) != 0)
        {
            Kind::Run
        } else if self.cardinality(i) <= ARRAY_LIMIT {
            Kind::Array
        } else {
            Kind::Bitset
        }
    }
}

/// Checks that `b` is exactly one well-formed portable bitmap. The error is
/// a reason for a human, with offsets relative to the bitmap.
pub fn validate(b: &[u8]) -> Result<Summary, String> {
    let layout = Layout::parse(b)?;
    let mut pos = layout.data;
    let mut len = 0u64;
    let mut max = None;
    let mut previous_key: Option<u16> = None;
    for i in 0..layout.size {
        let key = layout.key(i);
        let cardinality = layout.cardinality(i);
        if previous_key.is_some_and(|p| key <= p) {
            return Err(format!("container {i}: key {key} does not increase"));
        }
        previous_key = Some(key);
        if let Some(offsets) = layout.offsets {
            let recorded = u32_at(offsets, 4 * i).unwrap_or(0) as usize;
            if recorded != pos {
                return Err(format!(
                    "container {i}: offset header says byte {recorded}, data is at byte {pos}"
                ));
            }
        }
        let (next, top) = match layout.kind(i) {
            Kind::Run => check_run(b, pos, i, cardinality)?,
            Kind::Array => check_array(b, pos, i, cardinality)?,
            Kind::Bitset => check_bitset(b, pos, i, cardinality)?,
        };
        pos = next;
        len += cardinality as u64;
        max = Some(u32::from(key) << 16 | u32::from(top));
    }
    if pos != b.len() {
        return Err(format!(
            "{} byte(s) after the last container",
            b.len() - pos
        ));
    }
    Ok(Summary { len, max })
}

/// Returns (end, largest value).
fn check_array(b: &[u8], pos: usize, i: usize, cardinality: usize) -> Result<(usize, u16), String> {
    let data = need(b, pos, cardinality * 2, i)?;
    let mut previous: Option<u16> = None;
    for (j, pair) in data.chunks_exact(2).enumerate() {
        let v = u16::from_le_bytes([pair[0], pair[1]]);
        if previous.is_some_and(|p| v <= p) {
            return Err(format!(
                "container {i}: array value {j} ({v}) does not increase"
            ));
        }
        previous = Some(v);
    }
    Ok((pos + cardinality * 2, previous.unwrap_or(0)))
}

fn check_bitset(
    b: &[u8],
    pos: usize,
    i: usize,
    cardinality: usize,
) -> Result<(usize, u16), String> {
    let data = need(b, pos, BITSET_BYTES, i)?;
    let ones: usize = data.iter().map(|byte| byte.count_ones() as usize).sum();
    if ones != cardinality {
        return Err(format!(
            "container {i}: bitset has {ones} bit(s) set, header says {cardinality}"
        ));
    }
    let top = data
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |k| k * 8 + 7 - data[k].leading_zeros() as usize);
    Ok((pos + BITSET_BYTES, top as u16))
}

fn check_run(b: &[u8], pos: usize, i: usize, cardinality: usize) -> Result<(usize, u16), String> {
    let runs = usize::from(
        u16_at(b, pos).ok_or_else(|| format!("container {i}: missing run count at byte {pos}"))?,
    );
    if runs == 0 {
        return Err(format!("container {i}: run container without runs"));
    }
    let data = need(b, pos + 2, runs * 4, i)?;
    let mut total = 0usize;
    let mut next_free: u32 = 0;
    let mut last = 0u32;
    for (j, run) in data.chunks_exact(4).enumerate() {
        let start = u32::from(u16::from_le_bytes([run[0], run[1]]));
        let len = u32::from(u16::from_le_bytes([run[2], run[3]]));
        if j > 0 && start < next_free {
            return Err(format!(
                "container {i}: run {j} overlaps or precedes the previous one"
            ));
        }
        last = start + len;
        if last > u32::from(u16::MAX) {
            return Err(format!("container {i}: run {j} ends past 65535"));
        }
        next_free = last + 1;
        total += len as usize + 1;
    }
    if total != cardinality {
        return Err(format!(
            "container {i}: runs hold {total} value(s), header says {cardinality}"
        ));
    }
    Ok((pos + 2 + runs * 4, last as u16))
}

fn need(b: &[u8], pos: usize, len: usize, i: usize) -> Result<&[u8], String> {
    b.get(pos..pos.saturating_add(len)).ok_or_else(|| {
        format!(
            "container {i}: needs {len} byte(s) at byte {pos}, {} left",
            b.len().saturating_sub(pos)
        )
    })
}

fn u16_at(b: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(pos..pos + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], pos: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(pos..pos + 4)?.try_into().ok()?))
}

/// A validated portable bitmap, borrowed from its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitmap<'a> {
    bytes: &'a [u8],
    summary: Summary,
}

impl<'a> Bitmap<'a> {
    /// Only for bytes [`validate`] accepted with this summary.
    pub(crate) fn new(bytes: &'a [u8], summary: Summary) -> Bitmap<'a> {
        Bitmap { bytes, summary }
    }

    pub fn len(&self) -> u64 {
        self.summary.len
    }

    pub fn is_empty(&self) -> bool {
        self.summary.len == 0
    }

    pub fn max(&self) -> Option<u32> {
        self.summary.max
    }

    pub fn contains(&self, value: u32) -> bool {
        self.iter().take_while(|&v| v <= value).any(|v| v == value)
    }

    /// The values, ascending, decoded from the bytes as they are read.
    pub fn iter(&self) -> BitmapIter<'a> {
        let layout = Layout::parse(self.bytes).ok();
        BitmapIter {
            bytes: self.bytes,
            pos: layout.as_ref().map_or(0, |l| l.data),
            layout,
            container: 0,
            state: State::Next,
        }
    }

    /// The values as the bits of a u64, when every value is below 64.
    pub fn mask64(&self) -> Option<u64> {
        if self.summary.max.is_some_and(|m| m >= 64) {
            return None;
        }
        let b = self.bytes;
        // Fast path: one array container without runs, as the writer emits
        // (cookie, count 1, key 0 + cardinality, one offset, then values).
        if b.len() >= 16
            && u32_at(b, 0) == Some(SERIAL_COOKIE_NO_RUNCONTAINER)
            && u32_at(b, 4) == Some(1)
        {
            return Some(b[16..].chunks_exact(2).fold(0u64, |m, v| {
                m | 1u64 << (u16::from_le_bytes([v[0], v[1]]) & 63)
            }));
        }
        Some(self.iter().fold(0u64, |m, v| m | 1u64 << (v & 63)))
    }

    /// The serialized bytes (a portable roaring bitmap).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Decoded by the `roaring` crate.
    pub fn to_roaring(&self) -> RoaringBitmap {
        RoaringBitmap::deserialize_from(self.bytes).unwrap_or_default()
    }
}

impl<'a> IntoIterator for Bitmap<'a> {
    type Item = u32;
    type IntoIter = BitmapIter<'a>;

    fn into_iter(self) -> BitmapIter<'a> {
        self.iter()
    }
}

/// Iterates a validated bitmap's values.
pub struct BitmapIter<'a> {
    bytes: &'a [u8],
    layout: Option<Layout<'a>>,
    /// The next container to start, and where its data begins.
    container: usize,
    pos: usize,
    state: State<'a>,
}

enum State<'a> {
    Next,
    /// The container's values not yet returned.
    Array {
        high: u32,
        data: &'a [u8],
    },
    /// `bits` = what is left of the current word; its first bit is value `base`.
    Bitset {
        high: u32,
        data: &'a [u8],
        base: u32,
        bits: u64,
        words: u32,
    },
    /// Values `value..=last` of the current run are left; `data` = later runs.
    Run {
        high: u32,
        data: &'a [u8],
        value: u32,
        last: u32,
    },
    Done,
}

impl BitmapIter<'_> {
    /// Moves to the next container (or to the end).
    fn start_container(&mut self) {
        let Some(layout) = &self.layout else {
            self.state = State::Done;
            return;
        };
        let i = self.container;
        if i >= layout.size {
            self.state = State::Done;
            return;
        }
        let high = u32::from(layout.key(i)) << 16;
        let start = self.pos;
        let (len, data_at) = match layout.kind(i) {
            Kind::Array => (2 * layout.cardinality(i), start),
            Kind::Bitset => (BITSET_BYTES, start),
            Kind::Run => (
                4 * usize::from(u16_at(self.bytes, start).unwrap_or(0)),
                start + 2,
            ),
        };
        let Some(data) = self.bytes.get(data_at..data_at + len) else {
            self.state = State::Done;
            return;
        };
        self.state = match layout.kind(i) {
            Kind::Array => State::Array { high, data },
            Kind::Bitset => State::Bitset {
                high,
                data,
                base: 0,
                bits: 0,
                words: 0,
            },
            // An empty first run (value > last) makes `next` load the first real one.
            Kind::Run => State::Run {
                high,
                data,
                value: 1,
                last: 0,
            },
        };
        self.container += 1;
        self.pos = data_at + len;
    }
}

impl Iterator for BitmapIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            match &mut self.state {
                State::Done => return None,
                State::Next => self.start_container(),
                State::Array { high, data } => match data.split_first_chunk::<2>() {
                    Some((v, rest)) => {
                        let out = *high | u32::from(u16::from_le_bytes(*v));
                        *data = rest;
                        return Some(out);
                    }
                    None => self.state = State::Next,
                },
                State::Bitset {
                    high,
                    data,
                    base,
                    bits,
                    words,
                } => {
                    if *bits != 0 {
                        let out = *high | (*base + bits.trailing_zeros());
                        *bits &= *bits - 1;
                        return Some(out);
                    }
                    match data.split_first_chunk::<8>() {
                        Some((w, rest)) => {
                            *bits = u64::from_le_bytes(*w);
                            *base = *words * 64;
                            *words += 1;
                            *data = rest;
                        }
                        None => self.state = State::Next,
                    }
                }
                State::Run {
                    high,
                    data,
                    value,
                    last,
                } => {
                    if *value <= *last {
                        let out = *high | *value;
                        *value += 1;
                        return Some(out);
                    }
                    match data.split_first_chunk::<4>() {
                        Some((run, rest)) => {
                            let start = u32::from(u16::from_le_bytes([run[0], run[1]]));
                            *value = start;
                            *last = start + u32::from(u16::from_le_bytes([run[2], run[3]]));
                            *data = rest;
                        }
                        None => self.state = State::Next,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialize(values: &[u32]) -> Vec<u8> {
        let bitmap: RoaringBitmap = values.iter().copied().collect();
        let mut out = Vec::new();
        bitmap.serialize_into(&mut out).unwrap();
        out
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u32>, String> {
        let summary = validate(bytes)?;
        let b = Bitmap::new(bytes, summary);
        let values: Vec<u32> = b.iter().collect();
        // The iterator, the summary and the crate's decoder agree.
        assert_eq!(values, b.to_roaring().iter().collect::<Vec<_>>());
        assert_eq!(values.len() as u64, summary.len);
        assert_eq!(values.last().copied(), summary.max);
        Ok(values)
    }

    #[test]
    fn decodes_what_the_crate_writes() {
        for values in [
            &[][..],
            &[0],
            &[0, 1, 2, 7],
            &[3, 70_000, 1 << 31],
            &[u32::MAX],
        ] {
            assert_eq!(decode(&serialize(values)).unwrap(), values);
        }
        // Bitset containers (more than 4096 values), two of them.
        let dense: Vec<u32> = (0..5000)
            .chain(65_536..65_536 + 4097)
            .chain([200_000])
            .collect();
        assert_eq!(decode(&serialize(&dense)).unwrap(), dense);
        let b = serialize(&[1, 5, 9]);
        let bm = Bitmap::new(&b, validate(&b).unwrap());
        assert!(bm.contains(5) && !bm.contains(6) && !bm.contains(10));
        assert_eq!(bm.mask64(), Some(0b10_0010_0010));
        let e = serialize(&[]);
        assert_eq!(Bitmap::new(&e, validate(&e).unwrap()).mask64(), Some(0));
        let wide = serialize(&[3, 64]);
        assert_eq!(Bitmap::new(&wide, validate(&wide).unwrap()).mask64(), None);
        let runs = spec_runs();
        let expected = (1..=11)
            .chain([20])
            .chain(31..=33)
            .fold(0u64, |m, v| m | 1 << v);
        assert_eq!(
            Bitmap::new(&runs, validate(&runs).unwrap()).mask64(),
            Some(expected)
        );
    }

    /// "1,10, 20,0, 31,2" = 1..=11, 20, 31..=33 (RoaringFormatSpec): one run
    /// container, key 0, cardinality 15 (stored as 14), no offset header.
    fn spec_runs() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(u32::from(SERIAL_COOKIE)).to_le_bytes());
        b.push(0b1);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&14u16.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        for v in [1u16, 10, 20, 0, 31, 2] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn run_containers_from_the_spec_example() {
        let expected: Vec<u32> = (1..=11).chain([20]).chain(31..=33).collect();
        assert_eq!(decode(&spec_runs()).unwrap(), expected);
        // Overlapping runs are not a set.
        let mut bad = spec_runs();
        let at = bad.len() - 4;
        bad[at..at + 2].copy_from_slice(&5u16.to_le_bytes());
        assert!(validate(&bad).unwrap_err().contains("overlaps"));
        // A run reaching 65535 exactly is fine; one past is not.
        let mut top = spec_runs();
        let n = top.len();
        top[n - 4..n - 2].copy_from_slice(&65533u16.to_le_bytes());
        assert_eq!(decode(&top).unwrap().last(), Some(&65535));
        top[n - 4..n - 2].copy_from_slice(&65534u16.to_le_bytes());
        assert!(validate(&top).unwrap_err().contains("past 65535"));
    }

    #[test]
    fn rejects_malformed_layouts() {
        let two = serialize(&[1, 70_000]);
        // Truncations at every length fail cleanly.
        for cut in 0..two.len() {
            assert!(validate(&two[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = two.clone();
        trailing.push(0);
        assert!(validate(&trailing).unwrap_err().contains("after the last"));
        // Keys out of order (swap the two descriptions: key 1 then key 0).
        let mut swapped = two.clone();
        swapped[8..10].copy_from_slice(&1u16.to_le_bytes());
        swapped[12..14].copy_from_slice(&0u16.to_le_bytes());
        assert!(validate(&swapped)
            .unwrap_err()
            .contains("does not increase"));
        // A huge container count with no bytes behind it allocates nothing.
        let mut huge = SERIAL_COOKIE_NO_RUNCONTAINER.to_le_bytes().to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(validate(&huge).unwrap_err().contains("at most"));
        let mut big = SERIAL_COOKIE_NO_RUNCONTAINER.to_le_bytes().to_vec();
        big.extend_from_slice(&65536u32.to_le_bytes());
        assert!(validate(&big).unwrap_err().contains("header byte"));
        // Wrong offset header.
        let mut off = two.clone();
        off[16] ^= 1;
        assert!(validate(&off).unwrap_err().contains("offset header"));
        // Unsorted array values.
        let mut unsorted = serialize(&[1, 2]);
        let n = unsorted.len();
        unsorted.swap(n - 4, n - 2);
        assert!(validate(&unsorted).unwrap_err().contains("array value"));
        // A bitset whose bit count is not its header's cardinality.
        let mut bits = serialize(&(0..5000).collect::<Vec<_>>());
        let n = bits.len();
        bits[n - 1] ^= 0x80;
        assert!(validate(&bits).unwrap_err().contains("bit(s) set"));
        assert!(validate(b"\x01\x02\x03\x04")
            .unwrap_err()
            .contains("cookie"));
    }
}
