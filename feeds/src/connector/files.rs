//! Offline import of a feed: a file, a directory tree or a zip of OSV
//! documents (`.json`, `.yaml`, `.yml`). Every document either becomes an
//! advisory or is quarantined with its path and the reason — a bad record
//! is counted, never fatal. Paths are visited in sorted order, so the same
//! input gives the same result.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use stella_model::Advisory;

use super::osv::{self, Encoding};

/// Documents larger than this are quarantined unread.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Directory trees deeper than this are not followed (a loop guard; links
/// are never followed anyway).
const MAX_DEPTH: usize = 32;

/// A document that did not become an advisory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarantined {
    /// Path inside the source (relative to a directory, or the zip entry).
    pub path: String,
    pub reason: String,
}

/// What one source gave.
#[derive(Debug, Default)]
pub struct Import {
    pub advisories: Vec<Advisory>,
    pub quarantined: Vec<Quarantined>,
    /// Files that are not OSV documents by name (README, licence…).
    pub ignored: usize,
}

/// Why a source could not be read at all (a bad record is not this).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable zip: {reason}")]
    Zip { path: PathBuf, reason: String },
}

/// Imports `path` (file, directory or `.zip`) as source `source`.
pub fn import_osv(path: &Path, source: &str) -> Result<Import, ImportError> {
    let io = |e| ImportError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let meta = fs::symlink_metadata(path).map_err(io)?;
    let mut import = Import::default();
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, Path::new(""), 0, &mut files)?;
        files.sort();
        for rel in files {
            let full = path.join(&rel);
            let shown = rel.to_string_lossy().into_owned();
            let Some(encoding) = Encoding::of_path(&shown) else {
                import.ignored += 1;
                continue;
            };
            match read_bounded(&full) {
                Ok(bytes) => add(&mut import, &shown, &bytes, encoding, source),
                Err(reason) => import.quarantined.push(Quarantined {
                    path: shown,
                    reason,
                }),
            }
        }
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        import_zip(path, source, &mut import)?;
    } else {
        let shown = path.to_string_lossy().into_owned();
        match Encoding::of_path(&shown) {
            None => import.ignored += 1,
            Some(encoding) => match read_bounded(path) {
                Ok(bytes) => add(&mut import, &shown, &bytes, encoding, source),
                Err(reason) => import.quarantined.push(Quarantined {
                    path: shown,
                    reason,
                }),
            },
        }
    }
    Ok(import)
}

fn add(import: &mut Import, path: &str, bytes: &[u8], encoding: Encoding, source: &str) {
    match osv::parse(bytes, encoding, source) {
        Ok(advisory) => import.advisories.push(advisory),
        Err(reason) => import.quarantined.push(Quarantined {
            path: path.to_string(),
            reason,
        }),
    }
}

/// Regular files under `dir` (relative paths); symlinks are skipped.
fn walk(root: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let dir = root.join(rel);
    let io = |e| ImportError::Io {
        path: dir.clone(),
        source: e,
    };
    if depth > MAX_DEPTH {
        return Err(io(std::io::Error::other(format!(
            "directories nested deeper than {MAX_DEPTH}"
        ))));
    }
    for entry in fs::read_dir(&dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let kind = entry.file_type().map_err(io)?;
        let child = rel.join(entry.file_name());
        if kind.is_dir() {
            walk(root, &child, depth + 1, out)?;
        } else if kind.is_file() {
            out.push(child);
        }
    }
    Ok(())
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    Ok(bytes)
}

fn import_zip(path: &Path, source: &str, import: &mut Import) -> Result<(), ImportError> {
    let zip_error = |reason: String| ImportError::Zip {
        path: path.to_path_buf(),
        reason,
    };
    let file = fs::File::open(path).map_err(|e| ImportError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| zip_error(e.to_string()))?;
    let mut names: Vec<(String, usize)> = (0..archive.len())
        .filter_map(|i| archive.name_for_index(i).map(|n| (n.to_string(), i)))
        .collect();
    names.sort();
    for (name, index) in names {
        if name.ends_with('/') {
            continue;
        }
        let Some(encoding) = Encoding::of_path(&name) else {
            import.ignored += 1;
            continue;
        };
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                import.quarantined.push(Quarantined {
                    path: name,
                    reason: format!("zip entry: {e}"),
                });
                continue;
            }
        };
        let mut bytes = Vec::new();
        let read = (&mut entry)
            .take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(&mut bytes);
        match read {
            Err(e) => import.quarantined.push(Quarantined {
                path: name,
                reason: format!("zip entry: {e}"),
            }),
            Ok(_) if bytes.len() as u64 > MAX_DOCUMENT_BYTES => {
                import.quarantined.push(Quarantined {
                    path: name,
                    reason: format!("larger than {MAX_DOCUMENT_BYTES} bytes"),
                })
            }
            Ok(_) => add(import, &name, &bytes, encoding, source),
        }
    }
    Ok(())
}
