//! `dir:` sources: a root filesystem on disk read as a single pseudo-layer.
//! Symlinks are recorded, never followed, so a link cannot lead the scan
//! outside the root.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::file_analyzer::{analyze_claimed, HEAD_LEN};
use crate::layer::{EntryKind, EntryMeta, Interest, LayerFs, LayerLimits};

/// Top-level directories skipped when the root is the running system's `/`.
const PSEUDO_FS_DIRS: [&str; 3] = ["proc", "sys", "dev"];

/// Walks `root` (without following symlinks) and captures wanted files.
pub fn read_dir_tree(
    root: &Path,
    interest: &Interest<'_>,
    limits: &LayerLimits,
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
                analyze_file(
                    &child.path(),
                    &path,
                    mode,
                    meta.len(),
                    interest,
                    limits,
                    &mut out,
                );
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
    Ok(out)
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

/// Runs the file analyzers that claim `abs` (by its first bytes) over it.
fn analyze_file(
    abs: &Path,
    rel: &str,
    mode: u32,
    size: u64,
    interest: &Interest<'_>,
    limits: &LayerLimits,
    out: &mut LayerFs,
) {
    let head_of = |bytes: &[u8]| bytes[..bytes.len().min(HEAD_LEN)].to_vec();
    let mut report_error = |e: std::io::Error| {
        if e.kind() != std::io::ErrorKind::NotFound {
            out.skipped
                .insert(rel.to_string(), format!("unreadable: {e}"));
        }
    };
    // Already buffered for a package analyzer: no second read.
    let captured = out.captured.get(rel).map(|b| head_of(b));
    let head = match captured {
        Some(head) => head,
        None => {
            let mut head = Vec::with_capacity(HEAD_LEN);
            match fs::File::open(abs).and_then(|f| f.take(HEAD_LEN as u64).read_to_end(&mut head)) {
                Ok(_) => head,
                Err(e) => return report_error(e),
            }
        }
    };
    let claimants = interest.claimants(rel, mode, &head);
    if claimants.is_empty() {
        return;
    }
    if size > limits.max_captured_file {
        out.skipped.insert(
            rel.to_string(),
            format!(
                "{size} bytes, over the {}-byte analysis limit",
                limits.max_captured_file
            ),
        );
        return;
    }
    let report = match out.captured.get(rel) {
        Some(bytes) => analyze_claimed(&claimants, rel, bytes),
        None => {
            let mut data = Vec::new();
            match fs::File::open(abs)
                .and_then(|f| f.take(limits.max_captured_file + 1).read_to_end(&mut data))
            {
                Ok(_) => analyze_claimed(&claimants, rel, &data),
                Err(e) => return report_error(e),
            }
        }
    };
    if !report.is_empty() {
        out.file_reports.insert(rel.to_string(), report);
    }
}
