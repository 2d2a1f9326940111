//! Generator mode: what runs when BuildKit starts the generator image
//! (`BUILDKIT_SCAN_SOURCE`/`BUILDKIT_SCAN_DESTINATION` set, no arguments).
//! Exit 0 whenever the statements were written, warnings included; 1 on an
//! internal failure, or on any warning under `STELLA_STRICT=1`.

use anyhow::Context;
use stella_analyzers::ScanOptions;
use stella_plugin::generator::{self, Request, Settings};
use stella_sbom::SbomOptions;

use crate::scan::{source_date_epoch, timestamp_of};

pub fn run(request: &Request) -> anyhow::Result<()> {
    let scan = ScanOptions::default();
    // No image config in a generator run: SOURCE_DATE_EPOCH or the epoch.
    let timestamp = timestamp_of(source_date_epoch()?.unwrap_or(0));
    let settings = Settings {
        sbom: SbomOptions {
            tool_version: scan.tool.version.clone(),
            timestamp,
        },
        scan,
        strict: generator::strict_from_env(),
        layer_files: generator::layer_files_from_env(),
    };
    let outcome = generator::run(request, &settings).context("stella SBOM generator")?;
    for w in &outcome.warnings {
        eprintln!("stella generator: warning: {w}");
    }
    eprintln!(
        "stella generator: {} components in the root filesystem{}{}; wrote {}",
        outcome.components,
        if outcome.extras.is_empty() {
            String::new()
        } else {
            format!(", extras: {}", outcome.extras.join(", "))
        },
        if outcome.warnings.is_empty() {
            String::new()
        } else {
            format!(
                ", {} warning(s) recorded in the SBOM",
                outcome.warnings.len()
            )
        },
        outcome
            .files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}
