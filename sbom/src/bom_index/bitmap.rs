//! Strict reading of one portable roaring bitmap
//! (<https://github.com/RoaringBitmap/RoaringFormatSpec>).
//!
//! The `roaring` crate decodes, but it trusts parts of the structure: it
//! allocates from the container count before checking that the bytes exist,
//! accepts container keys in any order (which breaks the bitmap's own
//! invariants), and ignores trailing bytes and the offset header. So the
//! whole layout is walked here first; only a well-formed bitmap that fills
//! its length prefix exactly is handed to the crate.

use roaring::RoaringBitmap;

const SERIAL_COOKIE_NO_RUNCONTAINER: u32 = 12346;
const SERIAL_COOKIE: u16 = 12347;
const NO_OFFSET_THRESHOLD: usize = 4;
const MAX_CONTAINERS: usize = 1 << 16;
/// Containers with more values than this are bitsets (unless run-encoded).
const ARRAY_LIMIT: usize = 4096;
const BITSET_BYTES: usize = 8192;

/// Validates `bytes` as exactly one portable roaring bitmap and decodes it.
/// The error is a reason for a human, with offsets relative to the bitmap.
pub fn decode(bytes: &[u8]) -> Result<RoaringBitmap, String> {
    check_layout(bytes)?;
    RoaringBitmap::deserialize_from(bytes).map_err(|e| format!("rejected by the decoder: {e}"))
}

fn check_layout(b: &[u8]) -> Result<(), String> {
    let cookie = u32_at(b, 0).ok_or("shorter than the 4-byte cookie")?;
    let (size, mut pos, run_flags, has_offsets) = if cookie == SERIAL_COOKIE_NO_RUNCONTAINER {
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
    // Checked before anything is allocated or read from the header.
    let header = size * if has_offsets { 8 } else { 4 };
    if b.len() - pos < header {
        return Err(format!(
            "{size} container(s) need {header} header byte(s) at byte {pos}, {} left",
            b.len() - pos
        ));
    }
    let descriptions = pos;
    let offsets = pos + size * 4;
    pos += header;

    let mut previous_key: Option<u16> = None;
    for i in 0..size {
        let key = u16_at(b, descriptions + 4 * i).unwrap_or(0);
        let cardinality = usize::from(u16_at(b, descriptions + 4 * i + 2).unwrap_or(0)) + 1;
        if previous_key.is_some_and(|p| key <= p) {
            return Err(format!("container {i}: key {key} does not increase"));
        }
        previous_key = Some(key);
        if has_offsets {
            let recorded = u32_at(b, offsets + 4 * i).unwrap_or(0) as usize;
            if recorded != pos {
                return Err(format!(
                    "container {i}: offset header says byte {recorded}, data is at byte {pos}"
                ));
            }
        }
        let is_run = run_flags.is_some_and(|f| f[i / 8] & (1 << (i % 8)) != 0);
        pos = if is_run {
            check_run(b, pos, i, cardinality)?
        } else if cardinality <= ARRAY_LIMIT {
            check_array(b, pos, i, cardinality)?
        } else {
            check_bitset(b, pos, i, cardinality)?
        };
    }
    if pos != b.len() {
        return Err(format!(
            "{} byte(s) after the last container",
            b.len() - pos
        ));
    }
    Ok(())
}

fn check_array(b: &[u8], pos: usize, i: usize, cardinality: usize) -> Result<usize, String> {
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
    Ok(pos + cardinality * 2)
}

fn check_bitset(b: &[u8], pos: usize, i: usize, cardinality: usize) -> Result<usize, String> {
    let data = need(b, pos, BITSET_BYTES, i)?;
    let ones: usize = data.iter().map(|byte| byte.count_ones() as usize).sum();
    if ones != cardinality {
        return Err(format!(
            "container {i}: bitset has {ones} bit(s) set, header says {cardinality}"
        ));
    }
    Ok(pos + BITSET_BYTES)
}

fn check_run(b: &[u8], pos: usize, i: usize, cardinality: usize) -> Result<usize, String> {
    let runs = usize::from(
        u16_at(b, pos).ok_or_else(|| format!("container {i}: missing run count at byte {pos}"))?,
    );
    if runs == 0 {
        return Err(format!("container {i}: run container without runs"));
    }
    let data = need(b, pos + 2, runs * 4, i)?;
    let mut total = 0usize;
    let mut next_free: u32 = 0;
    for (j, run) in data.chunks_exact(4).enumerate() {
        let start = u32::from(u16::from_le_bytes([run[0], run[1]]));
        let len = u32::from(u16::from_le_bytes([run[2], run[3]]));
        if j > 0 && start < next_free {
            return Err(format!(
                "container {i}: run {j} overlaps or precedes the previous one"
            ));
        }
        let end = start + len;
        if end > u32::from(u16::MAX) {
            return Err(format!("container {i}: run {j} ends past 65535"));
        }
        next_free = end + 1;
        total += len as usize + 1;
    }
    if total != cardinality {
        return Err(format!(
            "container {i}: runs hold {total} value(s), header says {cardinality}"
        ));
    }
    Ok(pos + 2 + runs * 4)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn serialize(values: &[u32]) -> Vec<u8> {
        let bitmap: RoaringBitmap = values.iter().copied().collect();
        let mut out = Vec::new();
        bitmap.serialize_into(&mut out).unwrap();
        out
    }

    #[test]
    fn decodes_what_the_crate_writes() {
        for values in [&[][..], &[0], &[0, 1, 2, 7], &[3, 70_000, 1 << 31]] {
            let bytes = serialize(values);
            let back: Vec<u32> = decode(&bytes).unwrap().iter().collect();
            assert_eq!(back, values);
        }
        let dense: Vec<u32> = (0..5000).collect();
        assert_eq!(decode(&serialize(&dense)).unwrap().len(), 5000);
    }

    #[test]
    fn run_containers_from_the_spec_example() {
        // "1,10, 20,0, 31,2" = 1..=11, 20, 31..=33 (RoaringFormatSpec), one
        // container, key 0, cardinality 15 (stored as 14), no offset header.
        let mut b = Vec::new();
        b.extend_from_slice(&(u32::from(SERIAL_COOKIE)).to_le_bytes());
        b.push(0b1);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&14u16.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        for v in [1u16, 10, 20, 0, 31, 2] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let values: Vec<u32> = decode(&b).unwrap().iter().collect();
        let expected: Vec<u32> = (1..=11).chain([20]).chain(31..=33).collect();
        assert_eq!(values, expected);
        // Overlapping runs are not a set.
        let mut bad = b.clone();
        let at = bad.len() - 4;
        bad[at..at + 2].copy_from_slice(&5u16.to_le_bytes());
        assert!(
            decode(&bad).unwrap_err().contains("overlaps"),
            "{:?}",
            decode(&bad)
        );
    }

    #[test]
    fn rejects_malformed_layouts() {
        let two = serialize(&[1, 70_000]);
        // Truncations at every length fail cleanly.
        for cut in 0..two.len() {
            assert!(decode(&two[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = two.clone();
        trailing.push(0);
        assert!(decode(&trailing).unwrap_err().contains("after the last"));
        // Keys out of order (swap the two descriptions: key 1 then key 0).
        let mut swapped = two.clone();
        swapped[8..10].copy_from_slice(&1u16.to_le_bytes());
        swapped[12..14].copy_from_slice(&0u16.to_le_bytes());
        assert!(decode(&swapped).unwrap_err().contains("does not increase"));
        // A huge container count with no bytes behind it allocates nothing.
        let mut huge = SERIAL_COOKIE_NO_RUNCONTAINER.to_le_bytes().to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).unwrap_err().contains("at most"));
        let mut big = SERIAL_COOKIE_NO_RUNCONTAINER.to_le_bytes().to_vec();
        big.extend_from_slice(&65536u32.to_le_bytes());
        assert!(decode(&big).unwrap_err().contains("header byte"));
        // Wrong offset header.
        let mut off = two.clone();
        off[16] ^= 1;
        assert!(decode(&off).unwrap_err().contains("offset header"));
        // Unsorted array values.
        let mut unsorted = serialize(&[1, 2]);
        let n = unsorted.len();
        unsorted.swap(n - 4, n - 2);
        assert!(decode(&unsorted).unwrap_err().contains("array value"));
        assert!(decode(b"\x01\x02\x03\x04").unwrap_err().contains("cookie"));
    }
}
