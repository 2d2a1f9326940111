//! Benchmark helper for bench/match.sh (not a test): opens a pulled feeds
//! DB once, then times ROUNDS matches of an inventory against it — the
//! matcher as `stella scan --feeds` runs it, over merged lookups.
//!
//!     cargo run --release -p stella-policy --example match_bench -- CACHE INVENTORY [ROUNDS]
//!
//! Prints one JSON line per round and a summary line (median wall and
//! on-CPU milliseconds of all threads; the machine may be shared). The
//! first round of a process pays for fresh memory, later ones reuse the
//! allocator's: bench/match.sh runs one round per process, as a scan does.
//! `MATCH_BENCH_THREADS=N` sets the matcher's threads (default: all cores).
//! `MATCH_BENCH_LOADED=1` first loads the whole DB into memory
//! (`FeedDb::load`, timed apart as `loadMs`), as a long-lived matcher holds
//! it, and times the matches against that. With
//! `MATCH_BENCH_REPORT=FILE` it also writes the first round's findings and
//! warnings as JSON, so two builds' answers can be compared byte for byte.

use std::path::PathBuf;
use std::time::Instant;

use std::sync::Arc;

use stella_feeds::db::{FeedDb, LoadedFeeds};
use stella_model::{Advisory, Inventory};
use stella_policy::matcher::{match_inventory, AdvisorySource, MatchOptions, SourceError};

// The allocator the stella binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The CLI's adapter, the same two calls.
struct Db(FeedDb);

impl AdvisorySource for Db {
    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Arc<[Advisory]>, SourceError> {
        self.0
            .lookup_merged(ecosystem, name)
            .map(Into::into)
            .map_err(|e| SourceError(e.to_string()))
    }

    fn ecosystems(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.0.ecosystems())
    }
}

/// The same over a DB loaded into memory.
struct Loaded(LoadedFeeds);

impl AdvisorySource for Loaded {
    fn advisories(&self, ecosystem: &str, name: &str) -> Result<Arc<[Advisory]>, SourceError> {
        Ok(self.0.lookup_merged(ecosystem, name))
    }

    fn ecosystems(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.0.ecosystems().to_vec())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: match_bench CACHE INVENTORY [ROUNDS]";
    let cache = PathBuf::from(args.next().ok_or(usage)?);
    let inventory: Inventory = serde_json::from_slice(&std::fs::read(args.next().ok_or(usage)?)?)?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let options = MatchOptions {
        threads: std::env::var("MATCH_BENCH_THREADS").map_or(Ok(0), |t| t.parse())?,
        ..MatchOptions::default()
    };
    let load_start = Instant::now();
    let loaded = match std::env::var_os("MATCH_BENCH_LOADED") {
        Some(_) => Some(Loaded(
            FeedDb::open(&cache)?
                .without_details()
                .load(options.threads)?,
        )),
        None => {
            FeedDb::open(&cache)?;
            None
        }
    };
    let load_ms = load_start.elapsed().as_secs_f64() * 1000.0;
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for round in 0..rounds {
        // A fresh DB handle per round: its head cache would otherwise make
        // later rounds cheaper than a real scan.
        let lazy;
        let source: &dyn AdvisorySource = match &loaded {
            Some(loaded) => loaded,
            None => {
                lazy = Db(FeedDb::open(&cache)?.without_details());
                &lazy
            }
        };
        let cpu_start = cpu_ns();
        let start = Instant::now();
        let report = match_inventory(&inventory, source, &options)?;
        let wall = start.elapsed().as_secs_f64() * 1000.0;
        let cpu = cpu_ns()
            .zip(cpu_start)
            .map_or(f64::NAN, |(b, a)| (b - a) as f64 / 1e6);
        println!(
            "{{\"round\":{round},\"components\":{},\"findings\":{},\"keys\":{},\"advisories\":{},\"wallMs\":{wall:.2},\"cpuMs\":{cpu:.2}}}",
            inventory.components.len(),
            report.findings.len(),
            report.stats.keys_looked_up,
            report.stats.advisories_read,
        );
        if round == 0 {
            if let Some(path) = std::env::var_os("MATCH_BENCH_REPORT") {
                let doc = serde_json::json!({
                    "findings": report.findings,
                    "warnings": report.warnings,
                });
                std::fs::write(path, serde_json::to_vec_pretty(&doc)?)?;
            }
        }
        walls.push(wall);
        cpus.push(cpu);
    }
    drop(loaded);
    walls.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    println!(
        "{{\"summary\":true,\"rounds\":{rounds},\"loadMs\":{load_ms:.2},\"medianMs\":{:.2},\"medianCpuMs\":{:.2},\"maxMs\":{:.2}}}",
        walls[walls.len() / 2],
        cpus[cpus.len() / 2],
        walls[walls.len() - 1]
    );
    Ok(())
}

/// On-CPU time of the whole process, all threads (user + system, from
/// /proc/self/stat in clock ticks of 10 ms), in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name: state is field 3, utime 14, stime 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}
