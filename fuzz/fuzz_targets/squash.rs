//! Small sets of layers (entries, symlinks with arbitrary targets, hardlinks,
//! whiteouts, opaque dirs) applied one by one; every query is resolved, read
//! and listed after each layer. Catches symlink-handling panics and loops, and
//! checks what a read returns really is the captured content it claims.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stella_analyzers::fs::FsView;
use stella_analyzers::layer::{EntryKind, EntryMeta, LayerFs};
use stella_analyzers::squash::SquashedFs;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Seg {
    A,
    B,
    Etc,
    OsRelease,
    Var,
    Lib,
    Dpkg,
    Status,
}

impl Seg {
    fn as_str(self) -> &'static str {
        match self {
            Seg::A => "a",
            Seg::B => "b",
            Seg::Etc => "etc",
            Seg::OsRelease => "os-release",
            Seg::Var => "var",
            Seg::Lib => "lib",
            Seg::Dpkg => "dpkg",
            Seg::Status => "status",
        }
    }
}

/// A normalized path (what `read_layer` produces).
#[derive(Arbitrary, Debug)]
struct P(Vec<Seg>);

impl P {
    fn path(&self) -> Option<String> {
        let segs: Vec<&str> = self.0.iter().take(5).map(|s| s.as_str()).collect();
        (!segs.is_empty()).then(|| segs.join("/"))
    }
}

#[derive(Arbitrary, Debug)]
enum TSeg {
    S(Seg),
    Dot,
    DotDot,
    Empty,
}

/// A raw symlink target or query: anything goes.
#[derive(Arbitrary, Debug)]
struct Target {
    absolute: bool,
    parts: Vec<TSeg>,
}

impl Target {
    fn text(&self) -> String {
        let parts: Vec<&str> = self
            .parts
            .iter()
            .take(8)
            .map(|p| match p {
                TSeg::S(s) => s.as_str(),
                TSeg::Dot => ".",
                TSeg::DotDot => "..",
                TSeg::Empty => "",
            })
            .collect();
        let joined = parts.join("/");
        if self.absolute {
            format!("/{joined}")
        } else {
            joined
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Kind {
    File { captured: bool, content: u8 },
    Dir,
    Symlink(Target),
    Hardlink(P),
    Other,
}

#[derive(Arbitrary, Debug)]
struct Layer {
    entries: Vec<(P, Kind)>,
    whiteouts: Vec<P>,
    opaque: Vec<P>,
    skipped: Vec<P>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    layers: Vec<Layer>,
    queries: Vec<Target>,
}

fn build(l: &Layer) -> LayerFs {
    let mut fs = LayerFs::default();
    for (p, kind) in l.entries.iter().take(24) {
        let Some(path) = p.path() else { continue };
        let kind = match kind {
            Kind::File { captured, content } => {
                if *captured {
                    fs.captured.insert(path.clone(), vec![*content; 3]);
                }
                EntryKind::File
            }
            Kind::Dir => EntryKind::Dir,
            Kind::Symlink(t) => EntryKind::Symlink(t.text()),
            Kind::Hardlink(t) => match t.path() {
                Some(t) => EntryKind::Hardlink(t),
                None => continue,
            },
            Kind::Other => EntryKind::Other,
        };
        fs.entries.push((
            path,
            EntryMeta {
                kind,
                size: 3,
                mode: 0o644,
            },
        ));
    }
    fs.whiteouts = l.whiteouts.iter().take(4).filter_map(P::path).collect();
    fs.opaque_dirs = l
        .opaque
        .iter()
        .take(2)
        .map(|p| p.path().unwrap_or_default())
        .collect();
    fs.skipped = l
        .skipped
        .iter()
        .take(2)
        .filter_map(P::path)
        .map(|p| (p, "too big".to_string()))
        .collect::<BTreeMap<_, _>>();
    fs
}

fuzz_target!(|input: Input| {
    let layers: Vec<LayerFs> = input.layers.iter().take(6).map(build).collect();
    let queries: Vec<String> = input.queries.iter().take(8).map(Target::text).collect();
    let mut view = SquashedFs::new(&layers);
    while view.apply_next() {
        for q in &queries {
            if let Ok(physical) = view.resolve(q) {
                assert!(
                    physical.is_empty()
                        || !physical
                            .split('/')
                            .any(|s| s.is_empty() || s == "." || s == ".."),
                    "{q:?} resolved to {physical:?}"
                );
            }
            if let Ok(Some(f)) = view.read(q) {
                assert!((f.layer as usize) < view.applied());
                assert_eq!(
                    layers[f.layer as usize]
                        .captured
                        .get(f.path)
                        .map(Vec::as_slice),
                    Some(f.bytes),
                    "read {q:?} returned bytes not captured at {} in layer {}",
                    f.path,
                    f.layer
                );
            }
            if let Ok(names) = view.list_dir(q) {
                assert!(names.iter().all(|n| !n.is_empty() && !n.contains('/')));
            }
            let _ = view.layer_of(q);
        }
    }
});
