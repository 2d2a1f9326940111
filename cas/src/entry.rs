//! The on-disk form of one entry: a fixed header that names the key and
//! pins the payload's length and sha256, then the payload.
//!
//! ```text
//! magic    8 bytes  "STLCAS01"
//! key     32 bytes  raw sha256 of the cache key
//! length   8 bytes  payload length, u64 little-endian
//! digest  32 bytes  sha256 of the payload
//! payload
//! ```

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

const MAGIC: &[u8; 8] = b"STLCAS01";
pub const HEADER_LEN: usize = 8 + 32 + 8 + 32;

/// The header for `payload` stored under the raw key `key`.
pub fn header(key: &[u8; 32], payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..40].copy_from_slice(key);
    h[40..48].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[48..].copy_from_slice(&Sha256::digest(payload));
    h
}

/// Why an entry was refused.
#[derive(Debug)]
pub enum Invalid {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for Invalid {
    fn from(e: io::Error) -> Invalid {
        Invalid::Io(e)
    }
}

/// Reads and checks an entry of `file_len` bytes: header, key, exact
/// length and payload digest. `max_payload` bounds the allocation.
pub fn read_verified(
    mut r: impl Read,
    key: &[u8; 32],
    file_len: u64,
    max_payload: u64,
) -> Result<Vec<u8>, Invalid> {
    let mut h = [0u8; HEADER_LEN];
    if file_len < HEADER_LEN as u64 {
        return Err(Invalid::Corrupt(format!(
            "{file_len} bytes, shorter than the {HEADER_LEN}-byte header"
        )));
    }
    r.read_exact(&mut h)?;
    if &h[..8] != MAGIC {
        return Err(Invalid::Corrupt("bad magic".to_string()));
    }
    if &h[8..40] != key {
        return Err(Invalid::Corrupt(format!(
            "entry is for key sha256:{}",
            hex::encode(&h[8..40])
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&h[40..48]);
    let len = u64::from_le_bytes(len);
    let actual = file_len - HEADER_LEN as u64;
    if len != actual {
        return Err(Invalid::Corrupt(format!(
            "header says {len} payload bytes, file holds {actual}"
        )));
    }
    if len > max_payload {
        return Err(Invalid::Corrupt(format!(
            "{len}-byte payload, over the {max_payload}-byte cap"
        )));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).map_err(|e| match e.kind() {
        // The file shrank while we read it: a torn entry, not an I/O fault.
        io::ErrorKind::UnexpectedEof => Invalid::Corrupt("truncated payload".to_string()),
        _ => Invalid::Io(e),
    })?;
    let digest = Sha256::digest(&payload);
    if digest.as_slice() != &h[48..] {
        return Err(Invalid::Corrupt(format!(
            "payload sha256:{} does not match the recorded sha256:{}",
            hex::encode(digest),
            hex::encode(&h[48..])
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        let mut v = header(key, payload).to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn read(bytes: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, String> {
        read_verified(bytes, key, bytes.len() as u64, 1 << 20).map_err(|e| match e {
            Invalid::Io(e) => format!("io: {e}"),
            Invalid::Corrupt(m) => m,
        })
    }

    #[test]
    fn accepts_an_intact_entry() {
        let key = [7u8; 32];
        assert_eq!(read(&entry(&key, b"fragment"), &key).unwrap(), b"fragment");
        assert_eq!(read(&entry(&key, b""), &key).unwrap(), b"");
    }

    #[test]
    fn refuses_any_single_flipped_bit_and_any_truncation() {
        let key = [7u8; 32];
        let good = entry(&key, b"some fragment bytes");
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(read(&bad, &key).is_err(), "byte {i} bit {bit} flipped");
            }
        }
        for cut in 0..good.len() {
            assert!(read(&good[..cut], &key).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn refuses_an_entry_filed_under_another_key() {
        let e = entry(&[1u8; 32], b"x");
        let err = read(&e, &[2u8; 32]).unwrap_err();
        assert!(err.contains("entry is for key sha256:0101"), "{err}");
    }

    #[test]
    fn refuses_payloads_over_the_cap() {
        let key = [3u8; 32];
        let e = entry(&key, &[0u8; 100]);
        assert!(matches!(
            read_verified(&e[..], &key, e.len() as u64, 99),
            Err(Invalid::Corrupt(_))
        ));
    }
}
