//! `stella-bomidx-bench --images DIR --work DIR [--fleet N] [--queries N] [--rounds N]`
//!
//! The BOM-Index benchmark (issue 4 targets: 10k purls over the indexes of
//! 1k images in under 300 ms hot; emission adds < 50 ms to a scan).
//!
//! 1. Scans the bench images `bookworm-minbase`, `multi` and `node10k`
//!    (`bench/build-images.sh` output in DIR) in-process.
//! 2. Emission: `BomIndex::from_inventory(..).to_bytes()` on multi's real
//!    inventory, and on one grown to 1.1k components with node10k packages;
//!    compared with the CycloneDX writer and the scan itself.
//! 3. Generates a fleet of N images from those real components
//!    (`fleet_gen`), writes one `.bomidx` per image under WORK/fleet.
//! 4. Reads the files, parses them, builds the `Fleet`, and runs Q queries
//!    (exact purls, purls without qualifiers, version-less, absent) hot,
//!    ROUNDS times; the same queries by binary search in every image's own
//!    table are the baseline, and must give the same answers.
//!
//! Prints a Markdown report on stdout (for bench/RESULTS.md).

mod fleet_gen;
mod rng;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use stella_analyzers::{scan_image, ScanOptions, Silent};
use stella_model::Inventory;
use stella_registry_store::{open_image, OpenOptions, SourceSpec};
use stella_sbom::{BomIndex, Fleet, PurlQuery, SbomOptions};

use rng::Rng;

struct Args {
    images: PathBuf,
    work: PathBuf,
    fleet: usize,
    queries: usize,
    rounds: usize,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stella-bomidx-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        images: PathBuf::new(),
        work: PathBuf::new(),
        fleet: 1000,
        queries: 10_000,
        rounds: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--images" => args.images = PathBuf::from(value()?),
            "--work" => args.work = PathBuf::from(value()?),
            "--fleet" => args.fleet = number(value()?)?,
            "--queries" => args.queries = number(value()?)?,
            "--rounds" => args.rounds = number(value()?)?.max(1),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.images.as_os_str().is_empty() || args.work.as_os_str().is_empty() {
        return Err("usage: stella-bomidx-bench --images DIR --work DIR [--fleet N] [--queries N] [--rounds N]".into());
    }
    Ok(args)
}

fn scan(images: &Path, name: &str) -> Result<(Inventory, Duration), String> {
    let source = format!("oci-dir:{}:{name}", images.join(name).join("oci").display());
    let spec = SourceSpec::parse(&source).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let image = open_image(&spec, &OpenOptions::default(), &source)
        .map_err(|e| format!("{source}: {e}"))?;
    let inv = scan_image(&image, &ScanOptions::default(), &Silent)
        .map_err(|e| format!("{source}: {e}"))?;
    Ok((inv, start.elapsed()))
}

/// Runs `f` `n` times; (median, min, max).
fn measure<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(n);
    let mut last = None;
    for _ in 0..n {
        let start = Instant::now();
        let out = std::hint::black_box(f());
        times.push(start.elapsed());
        last = Some(out);
    }
    times.sort();
    let out = last.expect("n >= 1");
    (
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        out,
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let generated_at = 1_700_000_000_000_000;
    let mut report = String::new();
    let mut line = |s: String| {
        report.push_str(&s);
        report.push('\n');
    };

    // ------------------------------------------------------------ scans
    let (minbase, _) = scan(&args.images, "bookworm-minbase")?;
    let (multi, multi_scan) = scan(&args.images, "multi")?;
    let (node10k, _) = scan(&args.images, "node10k")?;

    // ------------------------------------------------------------ emission
    let emit = |inv: &Inventory| -> Vec<u8> {
        BomIndex::from_inventory(inv, generated_at)
            .map(|i| i.to_bytes())
            .unwrap_or_default()
    };
    let sbom_opts = SbomOptions {
        tool_version: "bench".into(),
        timestamp: "2023-11-14T22:13:20Z".into(),
    };
    let mut grown = multi.clone();
    let top = grown.layers.len().saturating_sub(1) as u32;
    let have: BTreeSet<String> = grown
        .components
        .iter()
        .filter_map(|c| c.purl.as_ref().map(|p| p.to_string()))
        .collect();
    for c in node10k.components.iter().filter(|c| {
        c.purl
            .as_ref()
            .is_some_and(|p| !have.contains(&p.to_string()))
    }) {
        if grown.components.len() >= 1100 {
            break;
        }
        let mut c = c.clone();
        c.layer = Some(top);
        grown.components.push(c);
    }
    grown.canonicalize();
    line("### Emission".into());
    line(String::new());
    line("| inventory | components | layers | bom-index | median (min–max) of 101 | CycloneDX JSON writer | ratio | share of the scan |".into());
    line("|---|---:|---:|---:|---:|---:|---:|---:|".into());
    for (label, inv) in [
        ("multi (real scan)", &multi),
        ("multi + node10k npm, 1.1k", &grown),
    ] {
        let (med, min, max, bytes) = measure(101, || emit(inv));
        if bytes.is_empty() {
            return Err(format!("{label}: the index could not be written"));
        }
        let (cdx, _, _, cdx_bytes) = measure(21, || {
            stella_sbom::cyclonedx_json(inv, &sbom_opts).unwrap_or_default()
        });
        line(format!(
            "| {label} | {} | {} | {:.1} KiB (CycloneDX {:.0} KiB, {:.0}×) | {} ({}–{}) | {} | {:.0}× faster | {:.2} % of {} |",
            inv.components.len(),
            inv.layers.len(),
            bytes.len() as f64 / 1024.0,
            cdx_bytes.len() as f64 / 1024.0,
            cdx_bytes.len() as f64 / bytes.len() as f64,
            us(med),
            us(min),
            us(max),
            ms(cdx),
            cdx.as_secs_f64() / med.as_secs_f64(),
            100.0 * med.as_secs_f64() / multi_scan.as_secs_f64(),
            ms(multi_scan),
        ));
    }

    // ------------------------------------------------------------ fleet
    let pools = fleet_gen::Pools::new(&minbase, &multi, &node10k);
    let (p_base, p_debs, p_npm, p_other) = pools.sizes();
    let dir = args.work.join("fleet");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::with_capacity(args.fleet);
    let mut emit_total = Duration::ZERO;
    for i in 0..args.fleet {
        let inv = pools.image(i);
        let start = Instant::now();
        let bytes = emit(&inv);
        emit_total += start.elapsed();
        let path = dir.join(format!("img-{i:05}.bomidx"));
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        paths.push(path);
    }

    // ------------------------------------------------------------ load
    let (read, _, _, files) = measure(1, || {
        paths
            .iter()
            .map(|p| (p.display().to_string(), std::fs::read(p)))
            .collect::<Vec<_>>()
    });
    let files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(n, r)| r.map(|b| (n.clone(), b)).map_err(|e| format!("{n}: {e}")))
        .collect::<Result<_, _>>()?;
    let bytes_total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let (parse, parse_min, _, parsed) = measure(3, || {
        files
            .iter()
            .map(|(n, b)| BomIndex::from_bytes(b).map(|i| (n.clone(), i)))
            .collect::<Result<Vec<_>, _>>()
    });
    let parsed = parsed.map_err(|e| e.to_string())?;
    let rows: usize = parsed.iter().map(|(_, i)| i.component_count()).sum();
    let plain = Fleet::new(parsed.clone());
    let (build, build_min, _, fleet) = measure(3, || {
        let mut f = plain.clone();
        f.build_dictionary();
        f
    });

    // ------------------------------------------------------------ queries
    let query_strings = queries(&parsed, args.queries);
    let (qparse, _, _, queries) = measure(args.rounds, || {
        query_strings
            .iter()
            .map(|q| PurlQuery::parse(q))
            .collect::<Result<Vec<_>, _>>()
    });
    let queries = queries.map_err(|e| e.to_string())?;
    let (hot, hot_min, hot_max, counts) = measure(args.rounds, || {
        queries
            .iter()
            .map(|q| fleet.query(q).matches.len())
            .collect::<Vec<_>>()
    });
    let (resolve, _, _, layer_hits) = measure(args.rounds, || {
        let mut hits = 0usize;
        for q in &queries {
            for m in fleet.query(q).matches {
                hits += m.layers().filter(|(_, d)| !d.is_empty()).count();
            }
        }
        hits
    });
    // The baseline is slow: a tenth of the queries, scaled up.
    let sample = queries.len().div_ceil(10);
    let (naive_part, naive_min_part, _, naive_counts) = measure(1, || {
        queries[..sample]
            .iter()
            .map(|q| plain.query(q).matches.len())
            .collect::<Vec<_>>()
    });
    let scale = queries.len() as u32 / sample.max(1) as u32;
    let (naive, naive_min) = (naive_part * scale, naive_min_part * scale);
    if naive_counts[..] != counts[..sample] {
        return Err("the dictionary and the per-image search disagree".into());
    }
    // Both ways resolve the same layers.
    for q in &queries[..sample] {
        let a: Vec<Vec<u32>> = fleet
            .query(q)
            .matches
            .iter()
            .map(|m| m.layers().map(|(i, _)| i).collect())
            .collect();
        let b: Vec<Vec<u32>> = plain
            .query(q)
            .matches
            .iter()
            .map(|m| m.layers().map(|(i, _)| i).collect())
            .collect();
        if a != b {
            return Err(format!("layers differ for {q}"));
        }
    }
    let matches: usize = counts.iter().sum();
    let found = counts.iter().filter(|&&c| c > 0).count();

    line(String::new());
    line("### Fleet queries".into());
    line(String::new());
    line(format!(
        "Fleet: {} images generated from real components (pools: {p_base} base debs, {p_debs} app debs, {p_npm} npm, {p_other} other), {rows} component rows (avg {:.0}/image), {} distinct identities, {:.1} MiB of indexes (avg {:.1} KiB). Emitting all of them took {} ({} per image).",
        fleet.images().len(),
        rows as f64 / fleet.images().len().max(1) as f64,
        fleet.distinct_identities().unwrap_or(0),
        bytes_total as f64 / (1 << 20) as f64,
        bytes_total as f64 / 1024.0 / fleet.images().len().max(1) as f64,
        ms(emit_total),
        us(emit_total / args.fleet.max(1) as u32),
    ));
    line(format!(
        "Queries: {} ({found} found, {matches} image×component matches, {layer_hits} layer hits).",
        queries.len()
    ));
    line(String::new());
    line("| step | median | best | note |".into());
    line("|---|---:|---:|---|".into());
    line(format!(
        "| read {} files (page cache) | {} | | |",
        files.len(),
        ms(read)
    ));
    line(format!(
        "| parse + validate all indexes | {} | {} | |",
        ms(parse),
        ms(parse_min)
    ));
    line(format!(
        "| build the dictionary | {} | {} | once per fleet load |",
        ms(build),
        ms(build_min)
    ));
    line(format!(
        "| parse {} purl queries | {} | | |",
        queries.len(),
        ms(qparse)
    ));
    line(format!(
        "| **{} queries, hot (dictionary)** | **{}** | {} (max {}) | target < 300 ms: {:.0}× under |",
        queries.len(),
        ms(hot),
        ms(hot_min),
        ms(hot_max),
        0.3 / hot.as_secs_f64()
    ));
    line(format!(
        "| same + every layer digest resolved | {} | | |",
        ms(resolve)
    ));
    line(format!(
        "| same queries without the dictionary (binary search in each image's table; 1/10 of them, ×10) | {} | {} | {:.0}× slower |",
        ms(naive),
        ms(naive_min),
        naive.as_secs_f64() / hot.as_secs_f64()
    ));
    line(format!(
        "| cold total: parse + build + queries | {} | | target < 300 ms {} |",
        ms(parse + build + hot),
        if (parse + build + hot).as_secs_f64() < 0.3 {
            "met"
        } else {
            "not met cold (hot only)"
        }
    ));

    println!("{report}");
    Ok(())
}

/// The query mix an advisory feed would produce: half exact purls from the
/// fleet, a tenth without their qualifiers, a fifth version-less, a fifth
/// absent (a version nobody has, or a package nobody has).
fn queries(parsed: &[(String, BomIndex)], n: usize) -> Vec<String> {
    let distinct: Vec<&str> = parsed
        .iter()
        .flat_map(|(_, i)| i.components().map(|c| c.identity()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|id| id.starts_with("pkg:"))
        .collect();
    let mut rng = Rng::new(0x000E_81E5);
    (0..n)
        .map(|k| {
            let id = distinct[rng.below(distinct.len() as u64) as usize];
            let bare = id.split('?').next().unwrap_or(id);
            let stem = bare.rsplit_once('@').map_or(bare, |(s, _)| s);
            match rng.below(10) {
                0..=4 => id.to_string(),
                5 => bare.to_string(),
                6 | 7 => stem.to_string(),
                8 => format!(
                    "{stem}@{}",
                    fleet_gen::bumped(&format!(
                        "{}999",
                        bare.rsplit_once('@').map_or("0", |(_, v)| v)
                    ))
                ),
                _ => format!("pkg:npm/absent-package-{k}"),
            }
        })
        .collect()
}
