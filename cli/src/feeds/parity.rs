//! `stella feeds parity --left KIND:PATH --right KIND:PATH [-o json|table]`:
//! how two advisory sources describe the same vulnerabilities
//! ([`stella_feeds::parity`]). Differences are the answer, not a failure:
//! exit 0 whenever the report was produced.

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use stella_feeds::connector::{import, Import};
use stella_feeds::db::SourceSpec;
use stella_feeds::parity::{parity, ParityReport};

#[derive(Args)]
pub struct ParityArgs {
    /// The first source, as KIND:PATH: osv (OSV JSON/YAML records, e.g.
    /// PyPA's), ghsa (the GitHub advisory-database layout), debian-tracker
    /// (the security tracker's JSON), alpine-secdb — a file, directory
    /// tree or zip.
    #[arg(long, value_name = "KIND:PATH", value_parser = source_spec)]
    pub left: SourceSpec,
    /// The second source, as KIND:PATH.
    #[arg(long, value_name = "KIND:PATH", value_parser = source_spec)]
    pub right: SourceSpec,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ParityFormat::Table)]
    pub output: ParityFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ParityFormat {
    Table,
    Json,
}

/// `KIND:PATH`, parsed as `stella feeds build` parses its sources.
fn source_spec(text: &str) -> Result<SourceSpec, String> {
    SourceSpec::parse(text).map_err(|e| e.to_string())
}

/// The source as the user named it.
fn shown(spec: &SourceSpec) -> String {
    format!("{}:{}", spec.kind, spec.path.display())
}

/// Reads one side; its records name their source `SIDE:KIND`.
fn import_side(spec: &SourceSpec, side: &str) -> anyhow::Result<Import> {
    let source = format!("{side}:{}", spec.kind);
    import(spec.kind, &spec.path, &source)
        .with_context(|| format!("reading the {side} source {}", shown(spec)))
}

/// What one side gave.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    source: String,
    records: usize,
    /// Documents that were not usable records, with the reason.
    quarantined: Vec<Quarantine>,
}

#[derive(Serialize)]
struct Quarantine {
    path: String,
    reason: String,
}

#[derive(Serialize)]
struct Output<'a> {
    schema: &'static str,
    left: Input,
    right: Input,
    #[serde(flatten)]
    report: &'a ParityReport,
}

const SCHEMA: &str = "stella-feeds-parity@1";

pub fn run(args: ParityArgs) -> anyhow::Result<u8> {
    let left = import_side(&args.left, "left")?;
    let right = import_side(&args.right, "right")?;
    let report = parity(&left.advisories, &right.advisories);
    let input = |spec: &SourceSpec, import: &Import| Input {
        source: shown(spec),
        records: import.advisories.len(),
        quarantined: import
            .quarantined
            .iter()
            .map(|q| Quarantine {
                path: q.path.clone(),
                reason: q.reason.clone(),
            })
            .collect(),
    };
    let output = Output {
        schema: SCHEMA,
        left: input(&args.left, &left),
        right: input(&args.right, &right),
        report: &report,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.output {
        ParityFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &output)?;
            writeln!(out)?;
        }
        ParityFormat::Table => table(&mut out, &output)?,
    }
    out.flush()?;
    Ok(0)
}

fn table(out: &mut impl Write, o: &Output) -> std::io::Result<()> {
    let r = o.report;
    let c = &r.counts;
    for (side, input) in [("left", &o.left), ("right", &o.right)] {
        writeln!(
            out,
            "{side}: {} — {} records, {} quarantined",
            input.source,
            input.records,
            input.quarantined.len()
        )?;
    }
    writeln!(
        out,
        "pairs: {} ({} with differences); no counterpart: {} left, {} right",
        c.pairs, c.pairs_with_differences, c.only_left, c.only_right
    )?;
    writeln!(
        out,
        "alias mismatches: {}; packages only left/right: {}/{}; ranges only left/right: {}/{}; \
         fixed-version mismatches: {}; severity mismatches: {}",
        c.alias_mismatches,
        c.packages_only_left,
        c.packages_only_right,
        c.ranges_only_left,
        c.ranges_only_right,
        c.fixed_version_mismatches,
        c.severity_mismatches
    )?;
    for p in r.pairs.iter().filter(|p| p.differences > 0) {
        writeln!(
            out,
            "\n{} ↔ {} ({} differences)",
            p.left_ids.join(","),
            p.right_ids.join(","),
            p.differences
        )?;
        if !p.aliases_only_left.is_empty() {
            writeln!(
                out,
                "  aliases only left:  {}",
                p.aliases_only_left.join(" ")
            )?;
        }
        if !p.aliases_only_right.is_empty() {
            writeln!(
                out,
                "  aliases only right: {}",
                p.aliases_only_right.join(" ")
            )?;
        }
        for (side, list) in [
            ("left", &p.packages_only_left),
            ("right", &p.packages_only_right),
        ] {
            for pkg in list {
                writeln!(out, "  package only {side}: {}/{}", pkg.ecosystem, pkg.name)?;
            }
        }
        for d in &p.packages {
            for i in &d.ranges_only_left {
                writeln!(out, "  {}/{}: range only left:  {i}", d.ecosystem, d.name)?;
            }
            for i in &d.ranges_only_right {
                writeln!(out, "  {}/{}: range only right: {i}", d.ecosystem, d.name)?;
            }
            if let Some(f) = &d.fixed {
                writeln!(
                    out,
                    "  {}/{}: fixed left [{}] right [{}]",
                    d.ecosystem,
                    d.name,
                    f.left.join(", "),
                    f.right.join(", ")
                )?;
            }
        }
        if let Some(s) = &p.severities {
            let show = |v: &[stella_feeds::parity::SeverityRef]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter()
                        .map(|s| match s.base_score {
                            Some(score) => format!("{} ({score})", s.vector),
                            None => s.vector.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            writeln!(out, "  severity left:  {}", show(&s.left))?;
            writeln!(out, "  severity right: {}", show(&s.right))?;
        }
    }
    for id in &r.only_left {
        writeln!(out, "\nonly left: {id}")?;
    }
    for id in &r.only_right {
        writeln!(out, "\nonly right: {id}")?;
    }
    Ok(())
}
