//! The matcher: inventory × advisories → findings.
//!
//! Each component is turned into one or more *probes* — an (ecosystem,
//! name) key to look up, the version to compare and which name of the
//! component it is ([`keys`]); every distinct key is looked up once in the
//! [`AdvisorySource`]; each returned advisory's entries for that key are
//! evaluated against the version ([`evaluate`]); a hit becomes a
//! [`Finding`] carrying the rule that matched, the severity chosen by
//! precedence ([`severity`]) and the component's layer and file evidence.
//!
//! What is matched against what:
//!
//! | component | ecosystem looked up | name passed to the source | version compared |
//! |---|---|---|---|
//! | deb | the image's Debian/Ubuntu release (`Debian:12`) | the source package, then the binary name | the source version for the source name, the binary version for the binary name |
//! | apk | the image's release (`Alpine:v3.19`) | the origin, then the binary name | the package version |
//! | rpm | the image's release (`AlmaLinux:9`) | the binary name (what rpm distros' advisories name), then the SOURCERPM name | `[epoch:]version-release`; the source version takes the binary's epoch (SOURCERPM names none) |
//! | pypi | `PyPI` | the PEP 503 name (`PyYAML` → `pyyaml`) | as installed |
//! | npm | `npm` | as installed (`@scope/name`) | as installed |
//! | maven | `Maven` | `groupId:artifactId` from the purl (no purl, no match: a groupId is never guessed) | as installed |
//! | golang | `Go` | the module path; the toolchain as `stdlib` | `v1.2.3`; the toolchain's `go1.22rc1` as `1.22.0-rc.1` |
//! | cargo | `crates.io` | as installed | as installed |
//! | nuget | `NuGet` | as installed (entries compared case-insensitively) | as installed |
//! | composer | `Packagist` | `vendor/name` as installed | as installed |
//! | gem | `RubyGems` | as installed | as installed |
//!
//! The distro release comes from `inventory.distro` ([`distro`]) and is
//! resolved against [`AdvisorySource::ecosystems`]; OS packages of an image
//! whose release the feeds do not hold, or of an image without an
//! os-release, get no findings and a warning. Python distributions and gems
//! the OS package manager installed (`stella:python:os-managed`,
//! `stella:gem:os-managed`) are not matched against PyPI/RubyGems: their
//! OS package's advisories apply (the scan folds the ones whose owning
//! package it can prove into that package already).
//!
//! Nothing here does I/O; advisories come through the trait, and the same
//! inventory and advisories give the same report.

mod distro;
mod evaluate;
mod keys;
mod parallel;
mod severity;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use stella_model::{Advisory, ComponentKind, Finding, Inventory};

pub use distro::{release_ecosystems, DistroFamily};
pub use keys::{go_stdlib_semver, KeyKind, Probe};
pub use severity::rating_of_word;

/// Order-preserving ranks of the findings' sort keys: for finding `i` of
/// group `g`, (rank of its advisory id, rank of its group's component key).
/// Equal keys get equal ranks.
fn ranks(groups: &[Vec<Option<Finding>>]) -> impl Fn(usize, usize) -> (u32, u32) + '_ {
    fn dense<K: Ord + Copy>(keys: &mut [(K, usize)], out: &mut [u32]) {
        keys.sort_unstable();
        let mut rank = 0u32;
        for n in 0..keys.len() {
            if n > 0 && keys[n].0 != keys[n - 1].0 {
                rank += 1;
            }
            out[keys[n].1] = rank;
        }
    }
    type ComponentKey<'f> = (&'f str, ComponentKind, &'f str, &'f str, Option<&'f str>);
    fn component_key(group: &[Option<Finding>]) -> Option<ComponentKey<'_>> {
        group.iter().flatten().next().map(|f| {
            let (_, purl, kind, name, version, evidence) = f.sort_key();
            (purl, kind, name, version, evidence)
        })
    }
    let mut by_component: Vec<_> = groups
        .iter()
        .enumerate()
        .map(|(g, group)| (component_key(group), g))
        .collect();
    let mut component_rank = vec![0u32; groups.len()];
    dense(&mut by_component, &mut component_rank);
    // Distinct ids first (hundreds of findings share one), then ranked.
    let mut distinct: HashMap<&str, usize> = HashMap::new();
    let id_slot: Vec<Vec<usize>> = groups
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|f| {
                    let id = f.as_ref().map_or("", |f| f.id.as_str());
                    let next = distinct.len();
                    *distinct.entry(id).or_insert(next)
                })
                .collect()
        })
        .collect();
    let mut ids: Vec<(&str, usize)> = distinct.into_iter().collect();
    let mut id_rank = vec![0u32; ids.len()];
    dense(&mut ids, &mut id_rank);
    move |g, i| (id_rank[id_slot[g][i]], component_rank[g])
}

/// Where advisories come from (the CLI implements it over the feeds DB,
/// which returns records already merged by alias). Asked from several
/// threads at once.
pub trait AdvisorySource: Sync {
    /// Every advisory with an `affected` entry for (`ecosystem`, `name`).
    ///
    /// `ecosystem` is exactly as the feeds store it (`Debian:12`, `PyPI`,
    /// …; for distros, one of [`AdvisorySource::ecosystems`]). `name` is
    /// what the matcher computed ([module table](self)): for `PyPI` the
    /// PEP 503 normalized name (`pyyaml`, `zope-interface`), so a source
    /// must answer for the normalized name whatever spelling its records
    /// use; every other ecosystem's name is passed as the component names
    /// it. The returned advisories may hold other packages' entries too;
    /// the matcher only reads the ones for this key. Shared, not owned: a
    /// source that keeps its advisories in memory hands out the same ones
    /// to every match without copying them.
    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Arc<[Advisory]>, SourceError>;

    /// The ecosystems the source holds (to resolve a distro release to its
    /// ecosystem string, e.g. `Alpine:v3.19`).
    fn ecosystems(&self) -> Result<Vec<String>, SourceError>;
}

/// A failure of the advisory source (I/O, a damaged DB…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Why a match could not be completed. A source failure fails the whole
/// match: a partial report would silently miss findings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    #[error("advisory source: looking up {ecosystem}/{name}: {error}")]
    Lookup {
        ecosystem: String,
        name: String,
        error: SourceError,
    },
    #[error("advisory source: listing ecosystems: {0}")]
    Ecosystems(SourceError),
}

/// Knobs of a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchOptions {
    /// Report entries whose status is `under-investigation` (the distro has
    /// not decided whether the release is affected) as findings with that
    /// status. Default: true — the policy decides what to do with them.
    pub include_under_investigation: bool,
    /// Also match the Go toolchain of Go binaries an OS package installed
    /// (the scan folds them into the package: `pkg:golang/stdlib@V` in its
    /// `stella:language:purls`) against `Go`/`stdlib`. Default: false — a
    /// distro may have rebuilt or patched its toolchain without the
    /// version saying so, and its own advisories are the ones that apply
    /// to its packages; turn it on to see what the Go vulnerability
    /// database says of those binaries.
    pub folded_go_stdlib: bool,
    /// Threads for the lookups and the evaluation (0: the machine's
    /// parallelism). The report is the same for any count.
    pub threads: usize,
}

impl Default for MatchOptions {
    fn default() -> MatchOptions {
        MatchOptions {
            include_under_investigation: true,
            folded_go_stdlib: false,
            threads: 0,
        }
    }
}

/// What a match found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatchReport {
    /// Sorted by [`Finding::sort_key`], one per (advisory, component).
    pub findings: Vec<Finding>,
    /// What could not be decided (a version the scheme cannot read, an
    /// advisory stating no versions, an unknown distro release…), sorted.
    pub warnings: Vec<String>,
    pub stats: MatchStats,
}

/// Counts, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchStats {
    /// Components in the inventory.
    pub components: usize,
    /// Components not matched at all (OS-managed language packages, OS
    /// packages without a known release, Maven without a groupId…).
    pub components_skipped: usize,
    /// Distinct (ecosystem, name) keys asked of the source.
    pub keys_looked_up: usize,
    /// Advisories the source returned, summed over keys.
    pub advisories_read: usize,
    /// Withdrawn advisories that were ignored (per key).
    pub withdrawn_ignored: usize,
    pub findings: usize,
}

/// Matches every component of `inventory` against the advisories of
/// `source`.
pub fn match_inventory(
    inventory: &Inventory,
    source: &dyn AdvisorySource,
    options: &MatchOptions,
) -> Result<MatchReport, MatchError> {
    let mut warnings: BTreeSet<String> = BTreeSet::new();
    let mut stats = MatchStats {
        components: inventory.components.len(),
        ..MatchStats::default()
    };

    let needs_release = inventory
        .components
        .iter()
        .any(|c| DistroFamily::of_kind(c.kind).is_some());
    let release = if needs_release {
        let held = source.ecosystems().map_err(MatchError::Ecosystems)?;
        distro::resolve(inventory.distro.as_ref(), &held)
    } else {
        Err("no OS packages".to_string())
    };

    // Plan every component, then look each distinct key up once.
    let mut plans = Vec::with_capacity(inventory.components.len());
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for component in &inventory.components {
        match keys::probes(component, &release, options.folded_go_stdlib) {
            Ok(probes) => plans.push((component, probes)),
            Err(reason) => *skipped.entry(reason).or_default() += 1,
        }
    }
    for (reason, count) in &skipped {
        stats.components_skipped += count;
        warnings.insert(format!("{count} component(s) not matched: {reason}"));
    }

    // Each distinct key is looked up once and its entries compiled, in
    // parallel (the feeds DB parses and merges records per key).
    let mut key_index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut distinct: Vec<(&str, &str)> = Vec::new();
    let mut probe_keys: Vec<Vec<usize>> = Vec::with_capacity(plans.len());
    for (_, probes) in &plans {
        let ids = probes
            .iter()
            .map(|probe| {
                let key = (probe.ecosystem.as_str(), probe.name.as_str());
                *key_index.entry(key).or_insert_with(|| {
                    distinct.push(key);
                    distinct.len() - 1
                })
            })
            .collect();
        probe_keys.push(ids);
    }
    let looked_up = parallel::map(&distinct, options.threads, |&(ecosystem, name)| {
        let found = source
            .advisories(ecosystem, name)
            .map_err(|error| MatchError::Lookup {
                ecosystem: ecosystem.to_string(),
                name: name.to_string(),
                error,
            })?;
        let read = found.len();
        let withdrawn = found.iter().filter(|a| a.withdrawn.is_some()).count();
        Ok((evaluate::KeyAdvisories::new(found), read, withdrawn))
    });
    let mut keys: Vec<evaluate::KeyAdvisories> = Vec::with_capacity(distinct.len());
    for found in looked_up {
        // The first failure in key order: the same error at any thread count.
        let (key, read, withdrawn) = found?;
        stats.keys_looked_up += 1;
        stats.advisories_read += read;
        stats.withdrawn_ignored += withdrawn;
        keys.push(key);
    }

    // One group per component (findings are large: no growing copy of
    // them all), then sorted through their indices and moved once.
    let planned: Vec<_> = plans.iter().zip(&probe_keys).collect();
    let evaluated = parallel::map(&planned, options.threads, |((component, probes), ids)| {
        let mut per_component = evaluate::ComponentMatch::new(component);
        for (probe, &id) in probes.iter().zip(ids.iter()) {
            let installed = evaluate::InstalledVersion::new(&probe.version);
            let key = &keys[id];
            for index in 0..key.advisories.len() {
                per_component.consider(key, index, probe, &installed, options);
            }
        }
        per_component.finish()
    });
    let mut groups: Vec<Vec<Option<Finding>>> = Vec::with_capacity(plans.len());
    for (found, notes) in evaluated {
        if !found.is_empty() {
            groups.push(found.into_iter().map(Some).collect());
        }
        warnings.extend(notes);
    }
    let mut order: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| (0..group.len()).map(move |i| (g, i)))
        .collect();
    {
        // `Finding::sort_key` is (advisory id, the component's key), and a
        // group's findings share one component: each id and each group is
        // ranked once, and the findings sort by the two ranks. Stable, and
        // dedup keeps the first of equals: the same order and choice as
        // sorting the findings by their keys (158k findings: string tuples
        // compared 2.7M times before).
        let key_rank = ranks(&groups);
        order.sort_by_cached_key(|&(g, i)| key_rank(g, i));
        order.dedup_by(|a, b| key_rank(a.0, a.1) == key_rank(b.0, b.1));
    }
    let mut findings = Vec::with_capacity(order.len());
    for (g, i) in order {
        findings.extend(groups[g][i].take());
    }
    stats.findings = findings.len();
    Ok(MatchReport {
        findings,
        warnings: warnings.into_iter().collect(),
        stats,
    })
}
