//! A deterministic fleet of synthetic images built from real components.
//!
//! Every component identity comes from a real scan (the bench images
//! `bookworm-minbase`, `multi`, `node10k`); the generator only decides which
//! image holds which, in which layer, and sometimes bumps a version (as a
//! rebuild picking up a point release would). The shape imitates a real
//! registry: images share base layers (four "generations" of one Debian
//! base), are built from a few dozen application stacks (shared apt layers,
//! overlapping npm trees), and differ in details.

use stella_model::{
    Component, ComponentKind, Digest, EntryTrace, ImageInfo, Inventory, LayerInfo, ToolInfo,
    INVENTORY_SCHEMA, PROP_USAGE,
};

use crate::rng::Rng;

pub struct Pools {
    /// The Debian base: every component of `bookworm-minbase`.
    base: Vec<Component>,
    /// Debian packages an app layer may add (multi's debs not in the base).
    debs: Vec<Component>,
    /// npm packages (node10k and multi), one per identity.
    npm: Vec<Component>,
    /// Everything else multi holds (PyPI, Maven, Go…).
    other: Vec<Component>,
}

const GENERATIONS: u64 = 4;
const STACKS: u64 = 60;

impl Pools {
    pub fn new(minbase: &Inventory, multi: &Inventory, node10k: &Inventory) -> Pools {
        let with_purl = |inv: &Inventory| -> Vec<Component> {
            inv.components
                .iter()
                .filter(|c| c.purl.is_some())
                .cloned()
                .collect()
        };
        let base = with_purl(minbase);
        let base_names: std::collections::HashSet<&str> =
            base.iter().map(|c| c.name.as_str()).collect();
        let mut debs = Vec::new();
        let mut npm = Vec::new();
        let mut other = Vec::new();
        for c in with_purl(multi).into_iter().chain(with_purl(node10k)) {
            match c.kind {
                ComponentKind::Deb if !base_names.contains(c.name.as_str()) => debs.push(c),
                ComponentKind::Deb => {}
                ComponentKind::Npm => npm.push(c),
                _ => other.push(c),
            }
        }
        for pool in [&mut debs, &mut npm, &mut other] {
            pool.sort_by_key(|c| c.purl.as_ref().map(|p| p.to_string()));
            pool.dedup_by_key(|c| c.purl.as_ref().map(|p| p.to_string()));
        }
        Pools {
            base,
            debs,
            npm,
            other,
        }
    }

    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        (
            self.base.len(),
            self.debs.len(),
            self.npm.len(),
            self.other.len(),
        )
    }

    /// Image `i` of the fleet.
    pub fn image(&self, i: usize) -> Inventory {
        let mut rng = Rng::new(0xB0B1_DE00 ^ i as u64);
        let generation = rng.below(GENERATIONS);
        let stack = rng.below(STACKS);
        let mut stack_rng = Rng::new(0x57AC_0000 ^ stack);

        let mut layers: Vec<(String, Vec<Component>)> = Vec::new();
        // L0: the base of this generation; later generations carry point
        // releases of about a tenth of the packages.
        let base: Vec<Component> = self
            .base
            .iter()
            .map(|c| {
                let mut c = c.clone();
                for g in 1..=generation {
                    if Rng::new(g ^ hash(&c.name)).below(10) == 0 {
                        bump(&mut c);
                    }
                }
                c
            })
            .collect();
        layers.push((format!("base/{generation}"), base));
        // L1: the stack's apt layer, shared by the stack's images of one generation.
        let apt = pick(&self.debs, &mut stack_rng, 20, 500);
        layers.push((format!("stack{stack}/gen{generation}/apt"), apt));
        // npm: the stack's tree, split over 1-3 layers; this image bumps a few.
        let mut npm = pick(&self.npm, &mut stack_rng, 200, 1200);
        for c in &mut npm {
            if rng.below(20) == 0 {
                bump(c);
            }
        }
        let npm_layers = 1 + rng.below(3) as usize;
        let chunk = npm.len().div_ceil(npm_layers).max(1);
        for (j, part) in npm.chunks(chunk).enumerate() {
            layers.push((format!("img{i}/npm{j}"), part.to_vec()));
        }
        if stack_rng.below(3) == 0 {
            layers.push((
                format!("stack{stack}/other"),
                pick(&self.other, &mut stack_rng, 1, 60),
            ));
        }
        // A few layers without packages (COPY of the app, config files).
        for j in 0..rng.below(3) {
            layers.push((format!("img{i}/files{j}"), Vec::new()));
        }

        let traced = rng.below(10) < 7;
        let mut components = Vec::new();
        let mut layer_table = Vec::new();
        for (index, (seed, comps)) in layers.into_iter().enumerate() {
            let digest = Digest::sha256_of(seed.as_bytes());
            layer_table.push(LayerInfo {
                index: index as u32,
                digest: Some(digest.clone()),
                diff_id: Some(Digest::sha256_of(format!("diff/{seed}").as_bytes())),
                media_type: Some("application/vnd.oci.image.layer.v1.tar+gzip".into()),
                size: 0,
                created_by: None,
            });
            for mut c in comps {
                c.layer = Some(index as u32);
                c.layer_diff_id = None;
                c.properties.clear();
                if traced && rng.below(5) == 0 {
                    c.properties.insert(PROP_USAGE.into(), "true".into());
                }
                components.push(c);
            }
        }
        let mut inv = Inventory {
            schema: INVENTORY_SCHEMA,
            tool: ToolInfo {
                name: "stella".into(),
                version: "bench".into(),
            },
            image: ImageInfo {
                source: format!("registry:registry.example/fleet/app{i}:1"),
                name: Some(format!("registry.example/fleet/app{i}:1")),
                manifest_digest: Some(Digest::sha256_of(format!("image{i}").as_bytes())),
                ..ImageInfo::default()
            },
            distro: None,
            layers: layer_table,
            components,
            entry_trace: traced.then(|| EntryTrace {
                argv: vec![
                    "/usr/local/bin/docker-entrypoint.sh".into(),
                    "node".into(),
                    "server.js".into(),
                ],
                ..EntryTrace::default()
            }),
            warnings: Vec::new(),
        };
        inv.canonicalize();
        inv
    }
}

/// `min..=max` distinct components of `pool` (all of it when smaller).
fn pick(pool: &[Component], rng: &mut Rng, min: u64, max: u64) -> Vec<Component> {
    let want = (min + rng.below(max - min + 1)) as usize;
    if want >= pool.len() {
        return pool.to_vec();
    }
    // Floyd's sampling: `want` distinct indexes, then in pool order.
    let mut chosen = std::collections::BTreeSet::new();
    for j in (pool.len() - want)..pool.len() {
        let t = rng.below(j as u64 + 1) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().map(|k| pool[k].clone()).collect()
}

/// The next release: the last number in the version plus one
/// (`4.17.21` → `4.17.22`, `2.36-9+deb12u4` → `2.36-9+deb12u5`).
fn bump(c: &mut Component) {
    c.version = bumped(&c.version);
    c.purl = c.purl.take().map(|p| p.with_version(&c.version));
}

pub fn bumped(version: &str) -> String {
    let digits = version.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (head, tail) = version.split_at(version.len() - digits);
    match tail.parse::<u64>() {
        Ok(n) => format!("{head}{}", n + 1),
        Err(_) => format!("{version}.1"),
    }
}

/// FNV-1a: a stable per-name seed.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
