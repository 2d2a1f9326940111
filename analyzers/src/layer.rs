//! One streaming pass over a layer: decompress (gzip, zstd or plain tar,
//! sniffed from the bytes), verify the diffID while reading, walk the tar,
//! record every entry's metadata and whiteouts, and buffer only the files an
//! analyzer asked for. Nothing is written to disk.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use stella_model::Digest;
use stella_registry_store::VerifyingReader;

use crate::file_analyzer::{analyze_claimed, FileAnalyzer, FileReport, HEAD_LEN};

/// What the walk should keep from a layer: files buffered whole for the
/// package analyzers (`wants`), and files handed to the file analyzers.
#[derive(Clone, Copy)]
pub struct Interest<'a> {
    pub wants: &'a (dyn Fn(&str) -> bool + Sync),
    pub file_analyzers: &'a [&'a dyn FileAnalyzer],
}

impl<'a> Interest<'a> {
    /// Only path-based capture, no file analyzers.
    pub fn paths(wants: &'a (dyn Fn(&str) -> bool + Sync)) -> Interest<'a> {
        Interest {
            wants,
            file_analyzers: &[],
        }
    }

    pub(crate) fn claimants(
        &self,
        path: &str,
        mode: u32,
        head: &[u8],
    ) -> Vec<&'a dyn FileAnalyzer> {
        self.file_analyzers
            .iter()
            .copied()
            .filter(|a| a.claims(path, mode, head))
            .collect()
    }
}

/// Bounds that keep hostile layers from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct LayerLimits {
    /// Largest file that will be buffered for an analyzer.
    pub max_captured_file: u64,
    /// Most tar entries accepted in one layer.
    pub max_entries: u64,
    /// Longest accepted path, in bytes.
    pub max_path_len: usize,
}

impl Default for LayerLimits {
    fn default() -> Self {
        LayerLimits {
            max_captured_file: 512 * 1024 * 1024,
            max_entries: 20_000_000,
            max_path_len: 4096,
        }
    }
}

/// What kind of filesystem object a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// Target exactly as recorded (may be relative or absolute).
    Symlink(String),
    /// Normalized path of the entry (in the same layer) this one links to.
    Hardlink(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
}

/// Everything one layer contributes to the filesystem.
#[derive(Debug, Default)]
pub struct LayerFs {
    /// Entries in archive order (whiteout markers excluded).
    pub entries: Vec<(String, EntryMeta)>,
    /// Paths this layer deletes from the layers below (`.wh.NAME`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents this layer hides (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    /// Contents of the files analyzers wanted.
    pub captured: BTreeMap<String, Vec<u8>>,
    /// Wanted files that were not captured, with the reason.
    pub skipped: BTreeMap<String, String>,
    /// What the file analyzers learned, per path (only non-empty reports).
    pub file_reports: BTreeMap<String, FileReport>,
    /// Bytes of uncompressed tar read.
    pub tar_bytes: u64,
}

/// A layer that could not be read; `path` names the tar entry when one was at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", path.as_ref().map(|p| format!("entry {p}: ")).unwrap_or_default())]
pub struct LayerError {
    pub path: Option<String>,
    pub message: String,
}

impl LayerError {
    fn at(path: &str, message: impl Into<String>) -> LayerError {
        LayerError {
            path: Some(path.to_string()),
            message: message.into(),
        }
    }

    fn stream(e: io::Error) -> LayerError {
        LayerError {
            path: None,
            message: e.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
    None,
}

fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Uncompressed bytes handed from the decompressing thread to the tar walker at a time.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the two threads (bounds memory to ~2 MiB per layer).
const PIPELINE_DEPTH: usize = 8;

/// Streams one layer blob. `diff_id`, when given, is checked against the
/// uncompressed tar; the blob reader itself should verify the blob digest.
///
/// Two threads per layer: one reads and decompresses the blob (and so runs
/// the blob digest check), the other hashes the tar for the diffID and walks
/// it. Inflate is inherently sequential, so this pipeline is what lets a
/// single large layer use two cores.
pub fn read_layer(
    blob: impl Read + Send,
    diff_id: Option<&Digest>,
    interest: &Interest<'_>,
    limits: &LayerLimits,
) -> Result<LayerFs, LayerError> {
    std::thread::scope(|scope| {
        let (chunks_tx, chunks_rx) = mpsc::sync_channel(PIPELINE_DEPTH);
        let (free_tx, free_rx) = mpsc::channel();
        scope.spawn(move || {
            if let Err(e) = decompress(blob, &chunks_tx, &free_rx) {
                // The walker may already be gone; then nobody needs the error.
                let _ = chunks_tx.send(Err(e));
            }
        });
        let tar = ChunkReader {
            chunks: chunks_rx,
            free: free_tx,
            current: Vec::new(),
            pos: 0,
        };
        walk_verified(tar, diff_id, interest, limits)
    })
}

/// Decompresses `blob` into chunks; reads the blob to its end so that its
/// digest is checked before the walker sees end of stream.
fn decompress(
    blob: impl Read,
    out: &SyncSender<io::Result<Vec<u8>>>,
    free: &Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut raw = BufReader::with_capacity(1 << 20, blob);
    match sniff(raw.fill_buf()?) {
        Compression::Gzip => {
            let mut decoder = crate::gzip::GzipStream::new(raw);
            if pump(&mut decoder, out, free)? {
                if let Some(mut rest) = decoder.into_inner() {
                    io::copy(&mut rest, &mut io::sink())?;
                }
            }
        }
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(raw)?;
            if pump(&mut decoder, out, free)? {
                io::copy(&mut decoder.finish(), &mut io::sink())?;
            }
        }
        Compression::None => {
            pump(&mut raw, out, free)?;
        }
    }
    Ok(())
}

/// Sends `r` as full chunks until EOF; false when the receiver hung up.
fn pump(
    r: &mut impl Read,
    out: &SyncSender<io::Result<Vec<u8>>>,
    free: &Receiver<Vec<u8>>,
) -> io::Result<bool> {
    loop {
        let mut buf = free.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < CHUNK {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(true);
        }
        buf.truncate(filled);
        if out.send(Ok(buf)).is_err() {
            return Ok(false);
        }
    }
}

/// The walker's side of the pipeline; hands spent buffers back for reuse.
struct ChunkReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    free: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(Ok(next)) => {
                    let spent = std::mem::replace(&mut self.current, next);
                    let _ = self.free.send(spent);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads the rest of a stream so that digest checks at EOF run.
fn drain(mut r: impl Read) -> Result<u64, LayerError> {
    io::copy(&mut r, &mut io::sink()).map_err(LayerError::stream)
}

/// Counts bytes of uncompressed tar.
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

fn walk_verified(
    tar_stream: impl Read,
    diff_id: Option<&Digest>,
    interest: &Interest<'_>,
    limits: &LayerLimits,
) -> Result<LayerFs, LayerError> {
    let stream: Box<dyn Read + '_> = match diff_id {
        Some(d) => Box::new(VerifyingReader::new(tar_stream, d.clone(), None)),
        None => Box::new(tar_stream),
    };
    let (mut fs, mut counted) = walk_tar(
        Counting {
            inner: stream,
            n: 0,
        },
        interest,
        limits,
    )?;
    // Past the end-of-archive blocks: finish hashing the uncompressed stream.
    drain(&mut counted)?;
    fs.tar_bytes = counted.n;
    // The entry list lives until the scan ends; growth slack would be up to
    // half of it (tens of MB on images with millions of files).
    fs.entries.shrink_to_fit();
    Ok(fs)
}

/// Turns a raw tar path into a clean relative path; `None` for the root itself.
/// The root may be written `/` (umoci's layers start with it); any other
/// absolute path is refused.
pub fn normalize_entry_path(raw: &str) -> Result<Option<String>, String> {
    if raw.starts_with('/') && !raw.split('/').all(|s| s.is_empty() || s == ".") {
        return Err("absolute path in layer tar".to_string());
    }
    let mut parts = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err("path escapes the root with '..'".to_string()),
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        Ok(None)
    } else {
        Ok(Some(parts.join("/")))
    }
}

fn walk_tar<R: Read>(
    stream: R,
    interest: &Interest<'_>,
    limits: &LayerLimits,
) -> Result<(LayerFs, R), LayerError> {
    let mut archive = tar::Archive::new(stream);
    let mut fs = LayerFs::default();
    // Reused for every file a file analyzer claims: binaries are read, analyzed
    // and dropped one at a time.
    let mut scratch: Vec<u8> = Vec::new();
    let mut count: u64 = 0;
    {
        let entries = archive.entries().map_err(LayerError::stream)?;
        for entry in entries {
            let mut entry = entry.map_err(|e| LayerError {
                path: fs.entries.last().map(|(p, _)| format!("after {p}")),
                message: format!("corrupt tar stream: {e}"),
            })?;
            count += 1;
            if count > limits.max_entries {
                return Err(LayerError {
                    path: None,
                    message: format!("more than {} entries", limits.max_entries),
                });
            }
            let raw_path = entry.path_bytes();
            if raw_path.len() > limits.max_path_len {
                return Err(LayerError {
                    path: None,
                    message: format!("entry path longer than {} bytes", limits.max_path_len),
                });
            }
            let raw_path = String::from_utf8_lossy(&raw_path).into_owned();
            let path = match normalize_entry_path(&raw_path) {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(why) => return Err(LayerError::at(&raw_path, why)),
            };
            let (parent, base) = match path.rsplit_once('/') {
                Some((d, b)) => (d, b),
                None => ("", path.as_str()),
            };
            if let Some(hidden) = base.strip_prefix(".wh.") {
                if hidden == ".wh..opq" {
                    fs.opaque_dirs.push(parent.to_string());
                } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                    let target = if parent.is_empty() {
                        hidden.to_string()
                    } else {
                        format!("{parent}/{hidden}")
                    };
                    fs.whiteouts.push(target);
                }
                // Other `.wh..wh.*` names are AUFS bookkeeping: ignored.
                continue;
            }
            let header = entry.header();
            let mode = header.mode().unwrap_or(0);
            let size = entry.size();
            let ty = header.entry_type();
            let kind = if ty.is_file() || ty.is_gnu_sparse() || ty == tar::EntryType::Continuous {
                EntryKind::File
            } else if ty.is_dir() {
                EntryKind::Dir
            } else if ty.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                EntryKind::Symlink(target)
            } else if ty.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                match normalize_entry_path(target.trim_start_matches('/')) {
                    Ok(Some(t)) => EntryKind::Hardlink(t),
                    _ => {
                        return Err(LayerError::at(
                            &path,
                            format!("hardlink to invalid target {target:?}"),
                        ))
                    }
                }
            } else {
                EntryKind::Other
            };
            // A later entry for the same path replaces the earlier one.
            fs.file_reports.remove(&path);
            if kind == EntryKind::File && (interest.wants)(&path) {
                if size > limits.max_captured_file {
                    fs.skipped.insert(
                        path.clone(),
                        format!(
                            "{size} bytes, over the {}-byte capture limit",
                            limits.max_captured_file
                        ),
                    );
                } else {
                    let mut buf = Vec::with_capacity(size.min(64 << 20) as usize);
                    (&mut entry)
                        .take(limits.max_captured_file + 1)
                        .read_to_end(&mut buf)
                        .map_err(|e| LayerError::at(&path, format!("reading file: {e}")))?;
                    let claimants =
                        interest.claimants(&path, mode, &buf[..buf.len().min(HEAD_LEN)]);
                    if !claimants.is_empty() {
                        let report = analyze_claimed(&claimants, &path, &buf);
                        if !report.is_empty() {
                            fs.file_reports.insert(path.clone(), report);
                        }
                    }
                    fs.captured.insert(path.clone(), buf);
                }
            } else if let EntryKind::Hardlink(target) = &kind {
                // The same inode under another name: EntryTrace may reach the
                // binary through either. Components stay with the first name
                // so they are not counted twice.
                if let Some(linked) = fs.file_reports.get(target) {
                    let facts = FileReport {
                        elf: linked.elf.clone(),
                        script: linked.script.clone(),
                        ..FileReport::default()
                    };
                    if !facts.is_empty() {
                        fs.file_reports.insert(path.clone(), facts);
                    }
                }
            } else if kind == EntryKind::File && !interest.file_analyzers.is_empty() && size > 0 {
                if let Some(report) = analyze_entry(
                    &mut entry,
                    &path,
                    mode,
                    size,
                    interest,
                    limits,
                    &mut scratch,
                )? {
                    fs.file_reports.insert(path.clone(), report);
                }
            }
            fs.entries.push((path, EntryMeta { kind, size, mode }));
        }
    }
    Ok((fs, archive.into_inner()))
}

/// Offers a file's first bytes to the file analyzers and, when one claims it,
/// reads the whole file into `scratch` and analyzes it.
fn analyze_entry(
    entry: &mut impl Read,
    path: &str,
    mode: u32,
    size: u64,
    interest: &Interest<'_>,
    limits: &LayerLimits,
    scratch: &mut Vec<u8>,
) -> Result<Option<FileReport>, LayerError> {
    let mut head = [0u8; HEAD_LEN];
    let mut got = 0;
    while got < HEAD_LEN {
        match entry.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LayerError::at(path, format!("reading file: {e}"))),
        }
    }
    let claimants = interest.claimants(path, mode, &head[..got]);
    if claimants.is_empty() {
        return Ok(None);
    }
    if size > limits.max_captured_file {
        let names: Vec<&str> = claimants.iter().map(|a| a.name()).collect();
        return Ok(Some(FileReport {
            notes: vec![format!(
                "{}: not analyzed: {size} bytes, over the {}-byte limit",
                names.join(", "),
                limits.max_captured_file
            )],
            ..FileReport::default()
        }));
    }
    scratch.clear();
    scratch.extend_from_slice(&head[..got]);
    entry
        .take(limits.max_captured_file + 1 - got as u64)
        .read_to_end(scratch)
        .map_err(|e| LayerError::at(path, format!("reading file: {e}")))?;
    let report = analyze_claimed(&claimants, path, scratch);
    // Do not let one big binary pin its buffer for the rest of the layer
    // (per worker thread): re-allocating costs little next to reading it.
    if scratch.capacity() > 8 << 20 {
        *scratch = Vec::new();
    }
    Ok(Some(report).filter(|r| !r.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize_entry_path("./etc/os-release").unwrap().as_deref(),
            Some("etc/os-release")
        );
        assert_eq!(normalize_entry_path("./").unwrap(), None);
        assert_eq!(
            normalize_entry_path("a//b/./c/").unwrap().as_deref(),
            Some("a/b/c")
        );
        assert!(normalize_entry_path("../etc/passwd").is_err());
        assert!(normalize_entry_path("a/../../b").is_err());
        assert!(normalize_entry_path("/etc/passwd").is_err());
        // The root itself, as umoci writes it.
        assert_eq!(normalize_entry_path("/").unwrap(), None);
        assert_eq!(normalize_entry_path("/./").unwrap(), None);
        assert!(normalize_entry_path("/..").is_err());
    }
}
