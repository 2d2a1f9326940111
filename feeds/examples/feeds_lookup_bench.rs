//! Benchmark helper for bench/feeds.sh (not a test): opens a pulled feeds
//! DB and looks up N (ecosystem, name) keys, timing load + lookups.
//!
//! Keys are drawn before the clock starts, deterministically: evenly
//! spaced keys of the DB's sorted key table (9 in 10 of N), plus misses (the same
//! names with a suffix no package has). Prints one JSON line per round and
//! a summary line.
//!
//! MODE `merged` (default) times `FeedDb::lookup_merged` (what the
//! matcher calls: a package's records merged by alias), `raw` times
//! `FeedDb::lookup`.
//!
//!     cargo run --release -p stella-feeds --example feeds_lookup_bench -- CACHE [N] [ROUNDS] [MODE]

use std::path::PathBuf;
use std::time::Instant;

use stella_feeds::db::FeedDb;

// The allocator the stella binary uses (lookups allocate a lot).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let cache = PathBuf::from(
        args.next()
            .ok_or("usage: feeds_lookup_bench CACHE [N] [ROUNDS]")?,
    );
    let n: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let merged = match args.next().as_deref() {
        None | Some("merged") => true,
        Some("raw") => false,
        Some(other) => return Err(format!("MODE {other:?}: merged or raw").into()),
    };

    let all = FeedDb::open(&cache)?.keys();
    if all.is_empty() {
        return Err("the DB has no keys".into());
    }
    let hits = n - n / 10;
    // Evenly over the sorted table: with fewer keys than hits every key
    // comes once or twice, spread over all ecosystems alike.
    let mut keys: Vec<(String, String)> = (0..hits)
        .map(|i| all[(i * all.len()) / hits].clone())
        .collect();
    keys.extend((0..n - hits).map(|i| {
        let (e, name) = &all[(i * 7919) % all.len()];
        (e.clone(), format!("{name}-stella-miss"))
    }));

    let mut totals = Vec::new();
    let mut cpus = Vec::new();
    for round in 0..rounds {
        let cpu_start = cpu_ns();
        let start = Instant::now();
        let db = FeedDb::open(&cache)?;
        let loaded = start.elapsed();
        let mut found_keys = 0usize;
        let mut advisories = 0usize;
        for (e, name) in &keys {
            let got = if merged {
                db.lookup_merged(e, name)?
            } else {
                db.lookup(e, name)?
            };
            found_keys += usize::from(!got.is_empty());
            advisories += got.len();
        }
        let total = start.elapsed();
        let cpu = cpu_ns().zip(cpu_start).map(|(b, a)| (b - a) as f64 / 1e6);
        totals.push(total.as_secs_f64() * 1000.0);
        println!(
            "{{\"round\":{round},\"keys\":{},\"dbKeys\":{},\"found\":{found_keys},\"advisories\":{advisories},\"loadMs\":{:.2},\"totalMs\":{:.2},\"cpuMs\":{:.2}}}",
            keys.len(),
            db.key_count(),
            loaded.as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
            cpu.unwrap_or(f64::NAN)
        );
        cpus.push(cpu.unwrap_or(f64::NAN));
    }
    totals.sort_by(f64::total_cmp);
    cpus.sort_by(f64::total_cmp);
    println!(
        "{{\"summary\":true,\"mode\":\"{}\",\"rounds\":{rounds},\"medianCpuMs\":{:.2},\"medianMs\":{:.2},\"minMs\":{:.2},\"maxMs\":{:.2}}}",
        if merged { "merged" } else { "raw" },
        cpus[cpus.len() / 2],
        totals[totals.len() / 2],
        totals[0],
        totals[totals.len() - 1]
    );
    Ok(())
}

/// On-CPU time of this thread (Linux schedstat, nanoseconds): the machine
/// may be shared, and wall time then includes waiting for a core.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
