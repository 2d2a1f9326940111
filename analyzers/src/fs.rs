//! Read access to a (squashed) filesystem holding only the files analyzers asked for.

/// A file as seen through a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRef<'a> {
    /// The path where the bytes physically live after following symlinks.
    pub path: &'a str,
    /// Index of the layer the visible version of the file comes from.
    pub layer: u32,
    pub bytes: &'a [u8],
}

/// Errors resolving a path in a view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("symlink loop or chain longer than {limit} hops while resolving {path} (last link {link} in layer {layer})")]
    SymlinkLoop {
        path: String,
        link: String,
        layer: u32,
        limit: usize,
    },
    #[error("{path} exists in layer {layer} but was not captured: {reason}")]
    NotCaptured {
        path: String,
        layer: u32,
        reason: String,
    },
}

/// A read-only filesystem view. Paths are relative to the root, without a
/// leading `/`; symlinks are followed inside the view, never outside it.
pub trait FsView {
    /// Reads a regular file. `Ok(None)` when it does not exist (or is not a
    /// regular file) in the view.
    fn read(&self, path: &str) -> Result<Option<FileRef<'_>>, ViewError>;
    /// Names (not paths) of the entries directly inside directory `dir`,
    /// sorted. Empty when `dir` does not exist.
    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ViewError>;
    /// Physical paths of the visible regular files whose contents were
    /// captured (the files analyzers' `wants` accepted), sorted. Analyzers
    /// that find their files by pattern iterate this instead of walking
    /// directories, which would cost a lookup per entry of the image.
    fn captured_files(&self) -> Vec<String>;
}

/// A plain in-memory view (no symlinks, one layer): handy for feeding real
/// database files to an analyzer in unit tests and fuzz targets.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// The regular files under `root` that `wants` accepts, keyed by their
    /// path relative to `root` — read the way a `dir:` scan reads them.
    pub fn from_dir(
        root: &std::path::Path,
        wants: &(dyn Fn(&str) -> bool + Sync),
    ) -> std::io::Result<MemFs> {
        let tree = crate::dir::read_dir_tree(
            root,
            &crate::layer::Interest::paths(wants),
            &crate::layer::LayerLimits::default(),
        )?;
        Ok(MemFs {
            files: tree.captured,
        })
    }

    pub fn with_file(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> MemFs {
        self.files.insert(path.to_string(), bytes.into());
        self
    }
}

impl FsView for MemFs {
    fn captured_files(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    fn read(&self, path: &str) -> Result<Option<FileRef<'_>>, ViewError> {
        Ok(self.files.get_key_value(path).map(|(p, b)| FileRef {
            path: p,
            layer: 0,
            bytes: b,
        }))
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ViewError> {
        let dir = dir.trim_end_matches('/');
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let names: std::collections::BTreeSet<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .collect();
        Ok(names.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_fs_lists_the_root_and_subdirectories() {
        let fs = MemFs::new()
            .with_file("etc/os-release", "ID=x")
            .with_file("etc/a.d/b", "")
            .with_file("top", "");
        assert_eq!(fs.list_dir("").unwrap(), vec!["etc", "top"]);
        assert_eq!(fs.list_dir("etc").unwrap(), vec!["a.d", "os-release"]);
        assert!(fs.list_dir("nope").unwrap().is_empty());
    }
}
