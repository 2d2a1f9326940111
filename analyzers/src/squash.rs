//! The squashed (overlay) view of an image: layers applied base → top with
//! OCI whiteout semantics, queried through [`FsView`].
//!
//! Built incrementally so the engine can look at the filesystem as it was
//! after each layer; that is how components get attributed to the layer that
//! introduced them.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::fs::{FileRef, FsView, ViewError};
use crate::layer::{EntryKind, LayerFs};

/// Symlink hops allowed while resolving one path (Linux uses 40).
const MAX_SYMLINK_HOPS: usize = 40;

/// Borrows kind (and, as the map key, the path) from the layers: the image
/// may hold millions of entries and a view must not copy them.
#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    layer: u32,
    kind: &'a EntryKind,
    mode: u32,
}

/// The visible entry at one path (symlinks not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeInfo<'v> {
    pub layer: u32,
    pub kind: &'v EntryKind,
    /// Permission bits as recorded (EntryTrace checks the executable bits).
    pub mode: u32,
}

/// The union of layers `0..=applied` with whiteouts applied.
pub struct SquashedFs<'a> {
    layers: &'a [LayerFs],
    nodes: BTreeMap<&'a str, Node<'a>>,
    applied: usize,
}

/// Removes `dir`'s descendants that come from layers below `layer`.
fn remove_descendants(nodes: &mut BTreeMap<&str, Node<'_>>, dir: &str, below_layer: Option<u32>) {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let doomed: Vec<&str> = nodes
        .range(prefix.as_str()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, n)| below_layer.is_none_or(|l| n.layer < l))
        .map(|(k, _)| *k)
        .collect();
    for k in doomed {
        nodes.remove(k);
    }
}

impl<'a> SquashedFs<'a> {
    pub fn new(layers: &'a [LayerFs]) -> SquashedFs<'a> {
        SquashedFs {
            layers,
            nodes: BTreeMap::new(),
            applied: 0,
        }
    }

    /// Number of layers applied so far.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// Applies the next layer. Returns false when all layers are applied.
    pub fn apply_next(&mut self) -> bool {
        let Some(layer) = self.layers.get(self.applied) else {
            return false;
        };
        let index = self.applied as u32;
        for dir in &layer.opaque_dirs {
            remove_descendants(&mut self.nodes, dir, Some(index));
        }
        for path in &layer.whiteouts {
            if self
                .nodes
                .get(path.as_str())
                .is_some_and(|n| n.layer < index)
            {
                self.nodes.remove(path.as_str());
            }
            remove_descendants(&mut self.nodes, path, Some(index));
        }
        for (path, meta) in &layer.entries {
            let is_dir = meta.kind == EntryKind::Dir;
            if !is_dir {
                // A file or link replacing a directory hides everything under it.
                remove_descendants(&mut self.nodes, path, None);
            }
            self.nodes.insert(
                path.as_str(),
                Node {
                    layer: index,
                    kind: &meta.kind,
                    mode: meta.mode,
                },
            );
        }
        self.applied += 1;
        true
    }

    /// Applies every remaining layer.
    pub fn apply_all(&mut self) {
        while self.apply_next() {}
    }

    /// The layer the visible entry at exactly `path` (no symlink following) comes from.
    pub fn layer_of(&self, path: &str) -> Option<u32> {
        self.nodes.get(path).map(|n| n.layer)
    }

    /// The visible entry at exactly `path` (no symlink following).
    pub fn node(&self, path: &str) -> Option<NodeInfo<'a>> {
        self.nodes.get(path).map(|n| NodeInfo {
            layer: n.layer,
            kind: n.kind,
            mode: n.mode,
        })
    }

    /// Resolves symlinks in every component of `path`; returns the physical path.
    pub fn resolve(&self, path: &str) -> Result<String, ViewError> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_string)
            .collect();
        pending.reverse();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(seg) = pending.pop() {
            if seg == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(seg);
            let current = resolved.join("/");
            let Some(Node {
                kind: EntryKind::Symlink(target),
                layer,
                ..
            }) = self.nodes.get(current.as_str())
            else {
                continue;
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(ViewError::SymlinkLoop {
                    path: path.to_string(),
                    link: current,
                    layer: *layer,
                    limit: MAX_SYMLINK_HOPS,
                });
            }
            resolved.pop();
            if target.starts_with('/') {
                resolved.clear();
            }
            for t in target
                .split('/')
                .rev()
                .filter(|s| !s.is_empty() && *s != ".")
            {
                pending.push(t.to_string());
            }
        }
        Ok(resolved.join("/"))
    }
}

impl FsView for SquashedFs<'_> {
    fn captured_files(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(path, node)| {
                let captured = &self.layers[node.layer as usize].captured;
                match node.kind {
                    EntryKind::File => captured.contains_key(**path),
                    EntryKind::Hardlink(target) => captured.contains_key(target),
                    _ => false,
                }
            })
            .map(|(path, _)| path.to_string())
            .collect()
    }

    fn read(&self, path: &str) -> Result<Option<FileRef<'_>>, ViewError> {
        let physical = self.resolve(path)?;
        let Some((key, node)) = self.nodes.get_key_value(physical.as_str()) else {
            return Ok(None);
        };
        let layer = &self.layers[node.layer as usize];
        let content_path = match node.kind {
            EntryKind::File => *key,
            EntryKind::Hardlink(target) => target.as_str(),
            _ => return Ok(None),
        };
        if let Some((p, bytes)) = layer.captured.get_key_value(content_path) {
            return Ok(Some(FileRef {
                path: p,
                layer: node.layer,
                bytes,
            }));
        }
        let reason = layer
            .skipped
            .get(content_path)
            .cloned()
            .unwrap_or_else(|| "no analyzer asked for this file".to_string());
        Err(ViewError::NotCaptured {
            path: physical,
            layer: node.layer,
            reason,
        })
    }

    fn list_dir(&self, dir: &str) -> Result<Vec<String>, ViewError> {
        let physical = self.resolve(dir)?;
        let prefix = if physical.is_empty() {
            String::new()
        } else {
            format!("{physical}/")
        };
        // Children only: at a child's first descendant, jump past its whole
        // subtree ("name/…" < "name0" in byte order) instead of walking it.
        let mut names = Vec::new();
        let mut from = Bound::Included(prefix.clone());
        while let Some((key, _)) = self
            .nodes
            .range::<str, _>((from.as_ref().map(String::as_str), Bound::Unbounded))
            .next()
        {
            let Some(rest) = key.strip_prefix(prefix.as_str()) else {
                break;
            };
            match rest.split_once('/') {
                Some((child, _)) => {
                    names.push(child.to_string());
                    from = Bound::Included(format!("{prefix}{child}0"));
                }
                None => {
                    names.push(rest.to_string());
                    from = Bound::Excluded((*key).to_string());
                }
            }
        }
        // "a" is met before its sibling "a-b" and again at "a/…" after it.
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::EntryMeta;

    fn layer(paths: &[&str]) -> LayerFs {
        LayerFs {
            entries: paths
                .iter()
                .map(|p| {
                    let kind = if p.ends_with('/') {
                        EntryKind::Dir
                    } else {
                        EntryKind::File
                    };
                    let meta = EntryMeta {
                        kind,
                        size: 0,
                        mode: 0o644,
                    };
                    (p.trim_end_matches('/').to_string(), meta)
                })
                .collect(),
            ..LayerFs::default()
        }
    }

    /// Names that sort between a directory and its subtree ("a-b", "a.c"
    /// come after "a" but before "a/x") must not be skipped or repeated.
    #[test]
    fn list_dir_lists_children_once_around_tricky_siblings() {
        let layers = [layer(&[
            "a/", "a-b/", "a-b/x", "a.c", "a/x", "a/y/", "a/y/z", "ab", "b/c", "b0",
        ])];
        let mut view = SquashedFs::new(&layers);
        view.apply_all();
        assert_eq!(
            view.list_dir("").unwrap(),
            ["a", "a-b", "a.c", "ab", "b", "b0"]
        );
        assert_eq!(view.list_dir("a").unwrap(), ["x", "y"]);
        assert_eq!(view.list_dir("a/y").unwrap(), ["z"]);
        assert_eq!(view.list_dir("b").unwrap(), ["c"]);
        assert!(view.list_dir("a.c/nothing").unwrap().is_empty());
    }
}
