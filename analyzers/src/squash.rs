//! The squashed (overlay) view of an image: layers applied base → top with
//! OCI whiteout semantics, queried through [`FsView`].
//!
//! Built incrementally so the engine can look at the filesystem as it was
//! after each layer; that is how components get attributed to the layer that
//! introduced them.

use std::collections::BTreeMap;

use crate::fs::{FileRef, FsView, ViewError};
use crate::layer::{EntryKind, LayerFs};

/// Symlink hops allowed while resolving one path (Linux uses 40).
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone)]
struct Node {
    layer: u32,
    kind: EntryKind,
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
    nodes: BTreeMap<String, Node>,
    applied: usize,
}

/// Removes `dir`'s descendants that come from layers below `layer`.
fn remove_descendants(nodes: &mut BTreeMap<String, Node>, dir: &str, below_layer: Option<u32>) {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let doomed: Vec<String> = nodes
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, n)| below_layer.is_none_or(|l| n.layer < l))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        nodes.remove(&k);
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
            if self.nodes.get(path).is_some_and(|n| n.layer < index) {
                self.nodes.remove(path);
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
                path.clone(),
                Node {
                    layer: index,
                    kind: meta.kind.clone(),
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
    pub fn node(&self, path: &str) -> Option<NodeInfo<'_>> {
        self.nodes.get(path).map(|n| NodeInfo {
            layer: n.layer,
            kind: &n.kind,
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
            }) = self.nodes.get(&current)
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
                match &node.kind {
                    EntryKind::File => captured.contains_key(path.as_str()),
                    EntryKind::Hardlink(target) => captured.contains_key(target),
                    _ => false,
                }
            })
            .map(|(path, _)| path.clone())
            .collect()
    }

    fn read(&self, path: &str) -> Result<Option<FileRef<'_>>, ViewError> {
        let physical = self.resolve(path)?;
        let Some((key, node)) = self.nodes.get_key_value(&physical) else {
            return Ok(None);
        };
        let layer = &self.layers[node.layer as usize];
        let content_path = match &node.kind {
            EntryKind::File => key.as_str(),
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
        let names: std::collections::BTreeSet<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next().map(str::to_string))
            .collect();
        Ok(names.into_iter().collect())
    }
}
