//! Gzip (RFC 1952) decoding without the CRC-32 check.
//!
//! Layers are integrity-checked twice already — the blob digest over the
//! compressed bytes and the diffID over the uncompressed tar — so the gzip
//! CRC-32 adds nothing but cost (about a tenth of a scan's CPU, on the
//! thread that also inflates, which is the scan's critical path). Members are
//! parsed here; the deflate data goes through flate2 (zlib-rs).

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

/// Longest file name or comment accepted in a member header.
const MAX_HEADER_STRING: usize = 64 * 1024;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

enum State<R> {
    /// Before a member header (`first` is true only for the first member).
    Header {
        input: R,
        first: bool,
    },
    Body(DeflateDecoder<R>),
    Done,
    Failed,
}

/// Reads concatenated gzip members as one stream, like `MultiGzDecoder`,
/// checking each member's ISIZE but not its CRC-32.
pub struct GzipStream<R> {
    state: State<R>,
    member_size: u32,
}

fn corrupt(msg: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt gzip stream: {}", msg.into()),
    )
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt(format!("unexpected end of file in {what}")),
        _ => e,
    })
}

fn skip_zero_terminated(r: &mut impl BufRead, what: &str) -> io::Result<()> {
    let mut seen = 0usize;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(corrupt(format!("unexpected end of file in {what}")));
        }
        if let Some(end) = buf.iter().position(|&b| b == 0) {
            r.consume(end + 1);
            return Ok(());
        }
        let n = buf.len();
        r.consume(n);
        seen += n;
        if seen > MAX_HEADER_STRING {
            return Err(corrupt(format!(
                "{what} longer than {MAX_HEADER_STRING} bytes"
            )));
        }
    }
}

fn parse_header(r: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    read_exact_or(r, &mut fixed, "member header")?;
    if fixed[0] != 0x1f || fixed[1] != 0x8b {
        return Err(corrupt("bad magic bytes"));
    }
    if fixed[2] != 8 {
        return Err(corrupt(format!("unknown compression method {}", fixed[2])));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(corrupt("reserved header flags set"));
    }
    if flags & FEXTRA != 0 {
        let mut len = [0u8; 2];
        read_exact_or(r, &mut len, "extra field length")?;
        let len = u16::from_le_bytes(len) as u64;
        let skipped = io::copy(&mut r.take(len), &mut io::sink())?;
        if skipped != len {
            return Err(corrupt("unexpected end of file in extra field"));
        }
    }
    if flags & FNAME != 0 {
        skip_zero_terminated(r, "file name")?;
    }
    if flags & FCOMMENT != 0 {
        skip_zero_terminated(r, "comment")?;
    }
    if flags & FHCRC != 0 {
        read_exact_or(r, &mut [0u8; 2], "header CRC")?;
    }
    Ok(())
}

impl<R: BufRead> GzipStream<R> {
    pub fn new(input: R) -> GzipStream<R> {
        GzipStream {
            state: State::Header { input, first: true },
            member_size: 0,
        }
    }

    fn step(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Header { mut input, first } => {
                if !first && input.fill_buf()?.is_empty() {
                    self.state = State::Done;
                    return Ok(Some(0));
                }
                parse_header(&mut input)?;
                self.member_size = 0;
                self.state = State::Body(DeflateDecoder::new(input));
                Ok(None)
            }
            State::Body(mut decoder) => {
                let n = decoder.read(buf)?;
                if n > 0 {
                    self.member_size = self.member_size.wrapping_add(n as u32);
                    self.state = State::Body(decoder);
                    return Ok(Some(n));
                }
                let mut input = decoder.into_inner();
                let mut trailer = [0u8; 8];
                read_exact_or(&mut input, &mut trailer, "member trailer")?;
                let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
                if isize != self.member_size {
                    return Err(corrupt(format!(
                        "member trailer says {isize} bytes (mod 2^32), inflated {}",
                        self.member_size
                    )));
                }
                self.state = State::Header {
                    input,
                    first: false,
                };
                Ok(None)
            }
            State::Done => {
                self.state = State::Done;
                Ok(Some(0))
            }
            State::Failed => Err(corrupt("read after an earlier error")),
        }
    }

    /// The underlying reader, positioned after the last member (None after an error).
    pub fn into_inner(self) -> Option<R> {
        match self.state {
            State::Header { input, .. } => Some(input),
            State::Body(d) => Some(d.into_inner()),
            State::Done | State::Failed => None,
        }
    }
}

impl<R: BufRead> Read for GzipStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.step(buf)? {
                return Ok(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut builder = flate2::GzBuilder::new();
        if let Some(n) = name {
            builder = builder.filename(n).comment("c").extra(vec![1, 2, 3]);
        }
        let mut e = builder.write(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipStream::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn agrees_with_flate2_on_single_and_multi_member_streams() {
        let a: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut two = gz(&a, Some("layer.tar"));
        two.extend(gz(b"second member", None));
        let mut reference = Vec::new();
        flate2::read::MultiGzDecoder::new(&two[..])
            .read_to_end(&mut reference)
            .unwrap();
        assert_eq!(decode(&two).unwrap(), reference);
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"").unwrap();
        assert_eq!(decode(&e.finish().unwrap()).unwrap(), b"");
    }

    #[test]
    fn rejects_truncation_garbage_and_size_mismatch() {
        let good = gz(b"hello world, hello world", Some("n"));
        for cut in 1..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut} accepted");
        }
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"garbage");
        assert!(decode(&trailing).is_err());
        let mut wrong_size = good.clone();
        let n = wrong_size.len();
        wrong_size[n - 1] ^= 0xff;
        assert!(decode(&wrong_size)
            .unwrap_err()
            .to_string()
            .contains("trailer"));
        assert!(decode(b"").is_err(), "an empty blob is not a gzip stream");
    }
}
