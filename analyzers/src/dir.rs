//! `dir:` sources: a root filesystem on disk read as a single pseudo-layer.
//! Symlinks are recorded, never followed, so a link cannot lead the scan
//! outside the root.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::file_analyzer::{analyze_claimed, FileReport, HEAD_LEN};
use crate::layer::{EntryKind, EntryMeta, Interest, LayerFs, LayerLimits};

/// Top-level directories skipped when the root is the running system's `/`.
const PSEUDO_FS_DIRS: [&str; 3] = ["proc", "sys", "dev"];

/// Walks `root` (without following symlinks) and captures wanted files,
/// then offers every regular file to the file analyzers on `threads`
/// threads (opening and sniffing tens of thousands of files is most of a
/// directory scan's time; the results do not depend on the thread count).
pub fn read_dir_tree(
    root: &Path,
    interest: &Interest<'_>,
    limits: &LayerLimits,
    threads: usize,
) -> std::io::Result<LayerFs> {
    let meta = fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "dir: needs a directory",
        ));
    }
    // Scanning a live system's `/`: kernel pseudo-filesystems hold no
    // packages, are huge and change while we read them.
    let live_root = root.canonicalize().is_ok_and(|r| r == Path::new("/"));
    let mut out = LayerFs::default();
    let mut to_analyze: Vec<Candidate> = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let abs = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let mut children: Vec<_> = match fs::read_dir(&abs) {
            Ok(rd) => rd.filter_map(Result::ok).collect(),
            // Deleted between listing its parent and opening it (a live
            // filesystem): it is no longer part of the tree, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.skipped
                    .insert(rel.clone(), format!("directory unreadable: {e}"));
                continue;
            }
        };
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            if live_root && rel.is_empty() && PSEUDO_FS_DIRS.contains(&name.as_str()) {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if out.entries.len() as u64 >= limits.max_entries {
                return Err(std::io::Error::other(format!(
                    "more than {} entries",
                    limits.max_entries
                )));
            }
            let meta = match child.path().symlink_metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    out.skipped
                        .insert(path, format!("unreadable metadata: {e}"));
                    continue;
                }
            };
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                stack.push(path.clone());
                EntryKind::Dir
            } else if ft.is_symlink() {
                let target = fs::read_link(child.path())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                EntryKind::Symlink(target)
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            out.tar_bytes += meta.len();
            let mode = meta.permissions().mode();
            if kind == EntryKind::File
                && (interest.wants)(&path)
                && !capture(&child.path(), &path, meta.len(), limits, &mut out)
            {
                continue; // vanished while we read it
            }
            if kind == EntryKind::File && !interest.file_analyzers.is_empty() && meta.len() > 0 {
                to_analyze.push(Candidate {
                    abs: child.path(),
                    rel: path.clone(),
                    mode,
                    size: meta.len(),
                });
            }
            out.entries.push((
                path,
                EntryMeta {
                    kind,
                    size: meta.len(),
                    mode,
                },
            ));
        }
    }
    for (rel, outcome) in analyze_all(&to_analyze, interest, limits, &out.captured, threads) {
        match outcome {
            Outcome::Nothing => {}
            Outcome::Report(report) => {
                out.file_reports.insert(rel, report);
            }
            Outcome::Skipped(why) => {
                out.skipped.insert(rel, why);
            }
        }
    }
    Ok(out)
}

/// A regular file to offer to the file analyzers.
struct Candidate {
    abs: std::path::PathBuf,
    rel: String,
    mode: u32,
    size: u64,
}

/// What the file analyzers made of one file.
enum Outcome {
    Nothing,
    Report(FileReport),
    Skipped(String),
}

/// [`analyze_file`] over every candidate, on up to `threads` threads that
/// take the next file as they finish one.
fn analyze_all(
    candidates: &[Candidate],
    interest: &Interest<'_>,
    limits: &LayerLimits,
    captured: &BTreeMap<String, Vec<u8>>,
    threads: usize,
) -> Vec<(String, Outcome)> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(c) = candidates.get(i) else {
                return done;
            };
            let outcome = analyze_file(c, interest, limits, captured.get(&c.rel));
            if !matches!(outcome, Outcome::Nothing) {
                done.push((c.rel.clone(), outcome));
            }
        }
    };
    let workers = threads.clamp(1, candidates.len().max(1));
    if workers == 1 {
        return work();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            // A worker only panics on a bug; re-raise it here.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Buffers one wanted file; returns false when it no longer exists.
fn capture(abs: &Path, rel: &str, size: u64, limits: &LayerLimits, out: &mut LayerFs) -> bool {
    if size > limits.max_captured_file {
        out.skipped.insert(
            rel.to_string(),
            format!(
                "{size} bytes, over the {}-byte capture limit",
                limits.max_captured_file
            ),
        );
        return true;
    }
    let mut buf = Vec::new();
    match fs::File::open(abs)
        .and_then(|f| f.take(limits.max_captured_file + 1).read_to_end(&mut buf))
    {
        Ok(_) => {
            out.captured.insert(rel.to_string(), buf);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            out.skipped
                .insert(rel.to_string(), format!("unreadable: {e}"));
        }
    }
    true
}

/// Runs the file analyzers that claim a file (by its first bytes) over it;
/// `captured` is its content when a package analyzer already buffered it.
fn analyze_file(
    c: &Candidate,
    interest: &Interest<'_>,
    limits: &LayerLimits,
    captured: Option<&Vec<u8>>,
) -> Outcome {
    let unreadable = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Outcome::Nothing // vanished since the walk listed it
        } else {
            Outcome::Skipped(format!("unreadable: {e}"))
        }
    };
    let head = match captured {
        Some(bytes) => bytes[..bytes.len().min(HEAD_LEN)].to_vec(),
        None => {
            let mut head = Vec::with_capacity(HEAD_LEN);
            match fs::File::open(&c.abs).and_then(|f| f.take(HEAD_LEN as u64).read_to_end(&mut head))
            {
                Ok(_) => head,
                Err(e) => return unreadable(e),
            }
        }
    };
    let claimants = interest.claimants(&c.rel, c.mode, &head);
    if claimants.is_empty() {
        return Outcome::Nothing;
    }
    if c.size > limits.max_captured_file {
        return Outcome::Skipped(format!(
            "{} bytes, over the {}-byte analysis limit",
            c.size, limits.max_captured_file
        ));
    }
    let report = match captured {
        Some(bytes) => analyze_claimed(&claimants, &c.rel, bytes),
        None => {
            let mut data = Vec::new();
            match fs::File::open(&c.abs)
                .and_then(|f| f.take(limits.max_captured_file + 1).read_to_end(&mut data))
            {
                Ok(_) => analyze_claimed(&claimants, &c.rel, &data),
                Err(e) => return unreadable(e),
            }
        }
    };
    if report.is_empty() {
        Outcome::Nothing
    } else {
        Outcome::Report(report)
    }
}
