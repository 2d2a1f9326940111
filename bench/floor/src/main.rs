//! `stella-floor [--mode MODE] [--json] OCI_LAYOUT[:TAG]`
//!
//! The physical floor of scanning an image: read every layer blob of an OCI
//! layout once, single-threaded, and decompress it (gzip through flate2's
//! zlib-rs backend, or zstd) into `io::sink()`. Nothing a scanner does can be
//! cheaper than this on one core. Modes add the work a scanner must do on top:
//!
//!   inflate  decompress only (the floor)
//!   sha256   + sha256 of the compressed blob and of the uncompressed tar
//!            (the least a verifying scanner does: blob digest + diffID)
//!   tar      + sha256 + walk the tar headers (skip file bodies, still hashed);
//!            the tar reader pulls straight from the decoder, in the small
//!            reads `tar` makes (512-byte headers, 8 KiB body skips)
//!   tar-buf  the same with a 256 KiB buffer between decoder and tar reader, so
//!            the decoder always fills large buffers
//!
//! Prints one line per layer on stderr and a summary on stdout
//! (JSON with --json).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Inflate,
    Sha256,
    Tar,
    TarBuf,
}

struct Layer {
    digest: String,
    media_type: String,
}

struct Hashing<R> {
    inner: R,
    hasher: Option<Sha256>,
    n: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.n += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Some(h) = self.hasher.as_mut() {
            // fill_buf returned at least `amt` bytes; hash exactly what is consumed.
            let buf = self.inner.fill_buf().expect("consume after fill_buf");
            h.update(&buf[..amt]);
        }
        self.n += amt as u64;
        self.inner.consume(amt)
    }
}

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("stella-floor: {msg}");
    std::process::exit(2)
}

fn read_json(path: &Path) -> serde_json::Value {
    let f = File::open(path).unwrap_or_else(|e| die(format!("{}: {e}", path.display())));
    serde_json::from_reader(BufReader::new(f))
        .unwrap_or_else(|e| die(format!("{}: {e}", path.display())))
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest
        .split_once(':')
        .unwrap_or_else(|| die(format!("bad digest {digest}")));
    layout.join("blobs").join(alg).join(hex)
}

/// Layers of the manifest tagged `tag` (or the only manifest), following one level of index.
fn layers(layout: &Path, tag: Option<&str>) -> Vec<Layer> {
    let index = read_json(&layout.join("index.json"));
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let chosen = manifests
        .iter()
        .find(|m| match tag {
            Some(t) => m["annotations"]["org.opencontainers.image.ref.name"].as_str() == Some(t),
            None => true,
        })
        .unwrap_or_else(|| {
            die(format!(
                "no manifest tagged {tag:?} in {}",
                layout.display()
            ))
        });
    let mut doc = read_json(&blob_path(
        layout,
        chosen["digest"].as_str().unwrap_or_default(),
    ));
    if doc["layers"].is_null() {
        // An image index: take the first linux/amd64 (or first) manifest.
        let ms = doc["manifests"].as_array().cloned().unwrap_or_default();
        let m = ms
            .iter()
            .find(|m| m["platform"]["architecture"] == "amd64")
            .or(ms.first())
            .unwrap_or_else(|| die("empty image index"));
        doc = read_json(&blob_path(layout, m["digest"].as_str().unwrap_or_default()));
    }
    doc["layers"]
        .as_array()
        .unwrap_or_else(|| die("manifest has no layers"))
        .iter()
        .map(|l| Layer {
            digest: l["digest"].as_str().unwrap_or_default().to_string(),
            media_type: l["mediaType"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// Reads `r` to the end in 256 KiB chunks; returns bytes read.
fn sink_all(mut r: impl Read) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Walks tar headers (bodies are read through, so still decompressed and hashed),
/// then drains the stream past the end-of-archive blocks. Returns (entries, bytes).
fn walk_tar<R: Read>(r: R) -> io::Result<(u64, u64)> {
    let mut archive = tar::Archive::new(r);
    let mut entries = 0u64;
    for e in archive.entries()? {
        let e = e?;
        let _ = e.path_bytes();
        entries += 1;
    }
    let rest = sink_all(archive.into_inner())?;
    Ok((entries, rest))
}

struct Stats {
    compressed: u64,
    uncompressed: u64,
    entries: u64,
}

fn process(
    path: &Path,
    media_type: &str,
    mode: Mode,
) -> io::Result<(Stats, Option<String>, Option<String>)> {
    let file = File::open(path)?;
    let hash = mode != Mode::Inflate;
    let mut raw = Hashing {
        inner: BufReader::with_capacity(1 << 20, file),
        hasher: hash.then(Sha256::new),
        n: 0,
    };
    let head = raw.inner.fill_buf()?;
    let gzip = head.starts_with(&[0x1f, 0x8b]) || media_type.ends_with("gzip");
    let zstd = head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || media_type.ends_with("zstd");

    let mut entries = 0;
    let (uncompressed, tar_hash, raw) = {
        let run = |dec: &mut dyn Read, entries: &mut u64| -> io::Result<(u64, Option<String>)> {
            let mut tar = Hashing {
                inner: dec,
                hasher: hash.then(Sha256::new),
                n: 0,
            };
            if mode == Mode::Tar {
                let (n, _) = walk_tar(&mut tar)?;
                *entries = n;
            } else if mode == Mode::TarBuf {
                let (n, _) = walk_tar(BufReader::with_capacity(256 * 1024, &mut tar))?;
                *entries = n;
            } else {
                sink_all(&mut tar)?;
            }
            Ok((tar.n, tar.hasher.map(|h| hex::encode(h.finalize()))))
        };
        if gzip {
            let mut dec = flate2::bufread::MultiGzDecoder::new(raw);
            let (n, h) = run(&mut dec, &mut entries)?;
            (n, h, dec.into_inner())
        } else if zstd {
            let mut dec = zstd::stream::read::Decoder::with_buffer(raw)?;
            let (n, h) = run(&mut dec, &mut entries)?;
            (n, h, dec.finish())
        } else {
            let (n, h) = run(&mut raw, &mut entries)?;
            (n, h, raw)
        }
    };
    let mut raw = raw;
    sink_all(&mut raw)?; // anything past the compressed stream still counts for the blob digest
    let blob_hash = raw.hasher.map(|h| hex::encode(h.finalize()));
    Ok((
        Stats {
            compressed: raw.n,
            uncompressed,
            entries,
        },
        blob_hash,
        tar_hash,
    ))
}

fn main() {
    let mut mode = Mode::Inflate;
    let mut json = false;
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" => {
                mode = match args.next().as_deref() {
                    Some("inflate") => Mode::Inflate,
                    Some("sha256") => Mode::Sha256,
                    Some("tar") => Mode::Tar,
                    Some("tar-buf") => Mode::TarBuf,
                    other => die(format!(
                        "unknown mode {other:?} (inflate, sha256, tar, tar-buf)"
                    )),
                }
            }
            "--json" => json = true,
            "-h" | "--help" => {
                println!(
                    "usage: stella-floor [--mode inflate|sha256|tar|tar-buf] [--json] OCI_LAYOUT[:TAG]"
                );
                return;
            }
            _ if target.is_none() => target = Some(a),
            _ => die(format!("unexpected argument {a}")),
        }
    }
    let target = target.unwrap_or_else(|| {
        die("usage: stella-floor [--mode inflate|sha256|tar|tar-buf] [--json] OCI_LAYOUT[:TAG]")
    });
    let target = target
        .strip_prefix("oci-dir:")
        .unwrap_or(&target)
        .to_string();
    let (layout, tag) = match target.rsplit_once(':') {
        Some((p, t)) if Path::new(p).join("index.json").exists() => {
            (PathBuf::from(p), Some(t.to_string()))
        }
        _ => (PathBuf::from(&target), None),
    };

    let start = Instant::now();
    let mut total = Stats {
        compressed: 0,
        uncompressed: 0,
        entries: 0,
    };
    let mut n_layers = 0;
    for layer in layers(&layout, tag.as_deref()) {
        let t = Instant::now();
        let (s, blob_hash, tar_hash) =
            process(&blob_path(&layout, &layer.digest), &layer.media_type, mode)
                .unwrap_or_else(|e| die(format!("{}: {e}", layer.digest)));
        if let Some(h) = &blob_hash {
            if layer.digest.strip_prefix("sha256:") != Some(h.as_str()) {
                die(format!(
                    "{}: blob digest mismatch (got sha256:{h})",
                    layer.digest
                ));
            }
        }
        eprintln!(
            "{} {:>12} -> {:>12} bytes{} {:.3}s{}",
            &layer.digest[..19.min(layer.digest.len())],
            s.compressed,
            s.uncompressed,
            if matches!(mode, Mode::Tar | Mode::TarBuf) {
                format!(" {:>7} entries", s.entries)
            } else {
                String::new()
            },
            t.elapsed().as_secs_f64(),
            tar_hash
                .map(|h| format!(" diffID sha256:{}", &h[..12]))
                .unwrap_or_default(),
        );
        total.compressed += s.compressed;
        total.uncompressed += s.uncompressed;
        total.entries += s.entries;
        n_layers += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mode_name = match mode {
        Mode::Inflate => "inflate",
        Mode::Sha256 => "sha256",
        Mode::Tar => "tar",
        Mode::TarBuf => "tar-buf",
    };
    let mut out = io::stdout().lock();
    if json {
        let v = serde_json::json!({
            "mode": mode_name,
            "layers": n_layers,
            "compressed_bytes": total.compressed,
            "uncompressed_bytes": total.uncompressed,
            "tar_entries": total.entries,
            "seconds": secs,
            "uncompressed_mib_per_s": total.uncompressed as f64 / 1048576.0 / secs,
        });
        let _ = writeln!(out, "{v}");
    } else {
        let _ = writeln!(
            out,
            "{mode_name}: {n_layers} layers, {} compressed -> {} uncompressed bytes{} in {secs:.3}s ({:.0} MiB/s of tar)",
            total.compressed,
            total.uncompressed,
            if matches!(mode, Mode::Tar | Mode::TarBuf) { format!(", {} tar entries", total.entries) } else { String::new() },
            total.uncompressed as f64 / 1048576.0 / secs
        );
    }
}
