//! A reader that hashes what passes through it and fails at end of stream
//! when the bytes do not match the expected digest or size.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256, Sha512};
use stella_model::{Digest, DigestAlgorithm};

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

/// Wraps a blob stream. Reads past `expected_size` or a wrong digest at EOF
/// surface as `io::ErrorKind::InvalidData` naming the blob.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
    expected_size: Option<u64>,
    seen: u64,
    done: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// `expected_size` of `None` skips the size check (docker-archive layers
    /// have no recorded size).
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Self {
        let hasher = match expected.algorithm() {
            DigestAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        };
        VerifyingReader {
            inner,
            hasher,
            expected,
            expected_size,
            seen: 0,
            done: false,
        }
    }

    /// Gives back the wrapped reader (for draining what lies past this stream).
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        if let Some(size) = self.expected_size {
            if self.seen != size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {} is truncated or padded: expected {size} bytes, got {}",
                        self.expected, self.seen
                    ),
                ));
            }
        }
        let actual = match &mut self.hasher {
            Hasher::Sha256(h) => Digest::from_sha256_bytes(&std::mem::take(h).finalize()),
            Hasher::Sha512(h) => Digest::from_sha512_bytes(&std::mem::take(h).finalize()),
        };
        if actual != self.expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "digest mismatch: expected {}, content hashes to {actual}",
                    self.expected
                ),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.finish()?;
            return Ok(0);
        }
        self.seen += n as u64;
        if let Some(size) = self.expected_size {
            if self.seen > size {
                self.done = true;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {} is longer than its declared {size} bytes",
                        self.expected
                    ),
                ));
            }
        }
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(&buf[..n]),
            Hasher::Sha512(h) => h.update(&buf[..n]),
        }
        Ok(n)
    }
}

/// Reads a whole small blob, refusing more than `limit` bytes, and checks it.
pub(crate) fn read_verified(
    reader: impl Read,
    expected: &Digest,
    expected_size: Option<u64>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, crate::StoreError> {
    if let Some(size) = expected_size {
        if size > limit {
            return Err(crate::StoreError::TooLarge {
                what: what.to_string(),
                size,
                limit,
            });
        }
    }
    let mut buf = Vec::new();
    let mut limited = reader.take(limit + 1);
    limited
        .read_to_end(&mut buf)
        .map_err(|e| crate::StoreError::malformed(what, e))?;
    if buf.len() as u64 > limit {
        return Err(crate::StoreError::TooLarge {
            what: what.to_string(),
            size: buf.len() as u64,
            limit,
        });
    }
    if let Some(size) = expected_size {
        if buf.len() as u64 != size {
            return Err(crate::StoreError::malformed(
                what,
                format!("expected {size} bytes, got {}", buf.len()),
            ));
        }
    }
    let actual = match expected.algorithm() {
        DigestAlgorithm::Sha256 => Digest::sha256_of(&buf),
        DigestAlgorithm::Sha512 => Digest::from_sha512_bytes(&Sha512::digest(&buf)),
    };
    if &actual != expected {
        return Err(crate::StoreError::DigestMismatch {
            what: what.to_string(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_right_bytes_and_rejects_wrong_ones() {
        let data = b"hello layer".to_vec();
        let digest = Digest::sha256_of(&data);
        let mut ok = VerifyingReader::new(&data[..], digest.clone(), Some(data.len() as u64));
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);

        let mut bad = VerifyingReader::new(&b"hello lAyer"[..], digest.clone(), None);
        let err = bad.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");

        let mut short = VerifyingReader::new(&data[..5], digest.clone(), Some(11));
        let err = short.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");

        let mut long = VerifyingReader::new(&data[..], digest, Some(4));
        let err = long.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }
}
