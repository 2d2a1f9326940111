//! Offline import of a feed: a file, a directory tree or a zip of
//! documents (OSV: `.json`, `.yaml`, `.yml`; each connector chooses its
//! own). Every document either becomes an
//! advisory or is quarantined with its path and the reason — a bad record
//! is counted, never fatal. Paths are visited in sorted order, so the same
//! input gives the same result.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use stella_model::{Advisory, AffectedPackage, Provenance};

use super::osv::{self, Encoding};

/// Documents larger than this are quarantined unread (OSV records; other
/// connectors choose their own bound in [`Selection`]).
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

/// Imports `path` (file, directory or `.zip`) of OSV documents as source
/// `source`.
pub fn import_osv(path: &Path, source: &str) -> Result<Import, ImportError> {
    import_documents(
        path,
        Selection::osv(),
        &mut |document, import| match osv::parse(document.bytes, document.encoding, source) {
            Ok(advisory) => import.advisories.push(advisory),
            Err(reason) => import.quarantine(document.path, reason),
        },
    )
}

/// One document read from a source.
pub struct Document<'a> {
    /// Path inside the source (relative to a directory, or the zip entry).
    pub path: &'a str,
    pub bytes: &'a [u8],
    pub encoding: Encoding,
}

impl Import {
    /// Records that `path` (a document, or a part of one) gave nothing.
    pub fn quarantine(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.quarantined.push(Quarantined {
            path: path.into(),
            reason: reason.into(),
        });
    }
}

/// Which files a connector reads, and how large one may be.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    /// The encoding of a file by its path; `None`: not a document (ignored).
    pub encoding_of: fn(&str) -> Option<Encoding>,
    /// Larger documents are quarantined unread.
    pub max_bytes: u64,
}

impl Selection {
    /// OSV records: `.json`, `.yaml`, `.yml`, at most [`MAX_DOCUMENT_BYTES`].
    pub fn osv() -> Selection {
        Selection {
            encoding_of: Encoding::of_path,
            max_bytes: MAX_DOCUMENT_BYTES,
        }
    }
}

/// How a connector reads one document: it adds what the document gives
/// (advisories, quarantined parts) to the import.
pub type Parse<'p> = dyn FnMut(Document<'_>, &mut Import) + 'p;

/// Walks `path` (file, directory tree or `.zip`) in sorted order and hands
/// every document `select` accepts to `parse`. Files it rejects are counted
/// as ignored; unreadable or oversized ones are quarantined. Each connector
/// supplies its own `select` and `parse`.
pub fn import_documents(
    path: &Path,
    select: Selection,
    parse: &mut Parse<'_>,
) -> Result<Import, ImportError> {
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
            let shown = rel.to_string_lossy().into_owned();
            read_one(&path.join(&rel), &shown, select, parse, &mut import);
        }
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        import_zip(path, select, parse, &mut import)?;
    } else {
        let shown = path.to_string_lossy().into_owned();
        read_one(path, &shown, select, parse, &mut import);
    }
    Ok(import)
}

fn read_one(
    full: &Path,
    shown: &str,
    select: Selection,
    parse: &mut Parse<'_>,
    import: &mut Import,
) {
    let Some(encoding) = (select.encoding_of)(shown) else {
        import.ignored += 1;
        return;
    };
    match read_bounded(full, select.max_bytes) {
        Ok(bytes) => parse(
            Document {
                path: shown,
                bytes: &bytes,
                encoding,
            },
            import,
        ),
        Err(reason) => import.quarantine(shown, reason),
    }
}

/// `sha256:<hex>` of a document's bytes (its provenance digest).
pub fn document_digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
    )
}

/// Joins advisories that share an id — one CVE described by several
/// documents, or by several parts of one (a tracker file lists a CVE under
/// each source package) — into one: affected packages, severities,
/// references, aliases and provenance are united; text fields keep the
/// first value met (documents are met in sorted path order). The result is
/// sorted by id and each advisory's lists are sorted.
pub fn coalesce(advisories: Vec<Advisory>) -> Vec<Advisory> {
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for advisory in advisories {
        match by_id.entry(advisory.id.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(advisory);
            }
            Entry::Occupied(mut slot) => {
                let into = slot.get_mut();
                into.aliases.extend(advisory.aliases);
                into.upstream.extend(advisory.upstream);
                into.summary = into.summary.take().or(advisory.summary);
                into.details = into.details.take().or(advisory.details);
                into.published = into.published.take().or(advisory.published);
                into.modified = into.modified.take().or(advisory.modified);
                into.withdrawn = into.withdrawn.take().or(advisory.withdrawn);
                into.severities.extend(advisory.severities);
                into.references.extend(advisory.references);
                into.affected.extend(advisory.affected);
                into.provenance.extend(advisory.provenance);
            }
        }
    }
    by_id.into_values().map(tidy).collect()
}

fn tidy(mut a: Advisory) -> Advisory {
    for ids in [&mut a.aliases, &mut a.upstream] {
        ids.retain(|x| *x != a.id);
        ids.sort();
        ids.dedup();
    }
    a.severities
        .sort_by(|x, y| (&x.source, x.kind, &x.vector).cmp(&(&y.source, y.kind, &y.vector)));
    a.severities.dedup();
    a.references.sort();
    a.references.dedup();
    // Stable: packages with equal keys keep the order they came in.
    a.affected.sort_by(|x, y| {
        (&x.ecosystem, &x.name, &x.source_package, x.status).cmp(&(
            &y.ecosystem,
            &y.name,
            &y.source_package,
            y.status,
        ))
    });
    let mut unique: Vec<AffectedPackage> = Vec::with_capacity(a.affected.len());
    for package in std::mem::take(&mut a.affected) {
        if !unique.contains(&package) {
            unique.push(package);
        }
    }
    a.affected = unique;
    a.provenance = merge_provenance(std::mem::take(&mut a.provenance));
    a
}

/// One entry per (source, document), its field lists united.
fn merge_provenance(mut entries: Vec<Provenance>) -> Vec<Provenance> {
    entries.sort();
    let mut out: Vec<Provenance> = Vec::new();
    for entry in entries {
        match out.last_mut() {
            Some(last)
                if last.source == entry.source && last.document_digest == entry.document_digest =>
            {
                last.fields.extend(entry.fields);
                last.fields.sort();
                last.fields.dedup();
            }
            _ => out.push(entry),
        }
    }
    out
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

fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("larger than {max_bytes} bytes"));
    }
    Ok(bytes)
}

fn import_zip(
    path: &Path,
    select: Selection,
    parse: &mut Parse<'_>,
    import: &mut Import,
) -> Result<(), ImportError> {
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
        let Some(encoding) = (select.encoding_of)(&name) else {
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
            .take(select.max_bytes + 1)
            .read_to_end(&mut bytes);
        match read {
            Err(e) => import.quarantined.push(Quarantined {
                path: name,
                reason: format!("zip entry: {e}"),
            }),
            Ok(_) if bytes.len() as u64 > select.max_bytes => {
                import.quarantined.push(Quarantined {
                    path: name,
                    reason: format!("larger than {} bytes", select.max_bytes),
                })
            }
            Ok(_) => parse(
                Document {
                    path: &name,
                    bytes: &bytes,
                    encoding,
                },
                import,
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_and_unselected_files_are_counted_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.json"), "x".repeat(11)).unwrap();
        std::fs::write(dir.path().join("small.json"), "{}").unwrap();
        std::fs::write(dir.path().join("README"), "hi").unwrap();
        let select = Selection {
            encoding_of: Encoding::of_path,
            max_bytes: 10,
        };
        let mut seen = Vec::new();
        let import = import_documents(dir.path(), select, &mut |document, _| {
            seen.push((document.path.to_string(), document.bytes.to_vec()))
        })
        .unwrap();
        assert_eq!(seen, [("small.json".to_string(), b"{}".to_vec())]);
        assert_eq!(import.ignored, 1);
        assert_eq!(
            import.quarantined,
            [Quarantined {
                path: "big.json".into(),
                reason: "larger than 10 bytes".into()
            }]
        );
    }

    #[test]
    fn coalesce_joins_by_id_and_keeps_one_provenance_per_document() {
        let part = |package: &str, digest: &str, details: Option<&str>| Advisory {
            id: "CVE-1".into(),
            aliases: vec!["CVE-1".into(), "X-1".into()],
            details: details.map(str::to_string),
            affected: vec![AffectedPackage {
                ecosystem: "Debian:12".into(),
                name: package.into(),
                ..AffectedPackage::default()
            }],
            provenance: vec![Provenance {
                source: "s".into(),
                document_digest: digest.into(),
                fetched_at: None,
                fields: vec![package.into()],
            }],
            ..Advisory::default()
        };
        let joined = coalesce(vec![
            part("b", "sha256:2", None),
            part("a", "sha256:1", Some("first")),
            part("b", "sha256:2", Some("second")),
            part("a", "sha256:1", None),
        ]);
        let [one] = joined.as_slice() else {
            panic!("{joined:?}")
        };
        assert_eq!(one.aliases, ["X-1"]);
        assert_eq!(one.details.as_deref(), Some("first"));
        let names: Vec<_> = one.affected.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "sorted, duplicates dropped");
        let provenance: Vec<_> = one
            .provenance
            .iter()
            .map(|p| (p.document_digest.as_str(), p.fields.clone()))
            .collect();
        assert_eq!(
            provenance,
            [
                ("sha256:1", vec!["a".to_string()]),
                ("sha256:2", vec!["b".to_string()])
            ]
        );
    }
}
