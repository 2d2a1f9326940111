//! Output formats (`-o FORMAT[=FILE]`) and their writers.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context};
use stella_model::Inventory;
use stella_policy::report::{self, FindingsDocument, SarifOptions, TableOptions};
use stella_sbom::SbomOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CycloneDxJson,
    SpdxJson,
    Json,
    Table,
    /// `bom-index@1` (binary): needs a file.
    BomIndex,
    /// `stella-findings@1`: findings (and the verdict); needs `--feeds`.
    FindingsJson,
    /// SARIF 2.1.0 of the findings; needs `--feeds`.
    Sarif,
    /// The verdict alone; needs `--policy`.
    VerdictJson,
}

impl Format {
    /// The name `-o` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::CycloneDxJson => "cyclonedx-json",
            Format::SpdxJson => "spdx-json",
            Format::Json => "json",
            Format::Table => "table",
            Format::BomIndex => "bom-index",
            Format::FindingsJson => "findings-json",
            Format::Sarif => "sarif",
            Format::VerdictJson => "verdict-json",
        }
    }

    /// Formats that are about findings, not the inventory.
    pub fn needs_findings(self) -> bool {
        matches!(
            self,
            Format::FindingsJson | Format::Sarif | Format::VerdictJson
        )
    }
}

/// One requested output: a format and where it goes (stdout when no file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub file: Option<PathBuf>,
}

impl FromStr for OutputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, file) = match s.split_once('=') {
            Some((n, f)) if !f.is_empty() => (n, Some(PathBuf::from(f))),
            Some(_) => return Err(format!("{s}: empty file name after '='")),
            None => (s, None),
        };
        let format = match name {
            "cyclonedx-json" | "cyclonedx" | "cdx-json" => Format::CycloneDxJson,
            "spdx-json" | "spdx" => Format::SpdxJson,
            "json" => Format::Json,
            "table" => Format::Table,
            "bom-index" | "bomidx" => Format::BomIndex,
            "findings-json" | "findings" => Format::FindingsJson,
            "sarif" => Format::Sarif,
            "verdict-json" | "verdict" => Format::VerdictJson,
            other => {
                return Err(format!(
                    "unknown output format {other:?} (expected cyclonedx-json, spdx-json, json, table, bom-index, findings-json, sarif or verdict-json)"
                ))
            }
        };
        if format == Format::BomIndex && file.is_none() {
            return Err("bom-index is binary: give it a file (-o bom-index=FILE)".to_string());
        }
        Ok(OutputSpec { format, file })
    }
}

/// What the writers need besides the inventory; decided once per scan.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub sbom: SbomOptions,
    /// The BOM-Index `generatedAt`, µs since the epoch.
    pub generated_at_us: i64,
}

/// Renders one inventory format.
pub fn render(format: Format, inv: &Inventory, opts: &RenderOptions) -> anyhow::Result<Vec<u8>> {
    render_with(format, inv, opts, None, false)
}

/// Renders one format; with findings, `table` shows them (in colour when
/// `colour`), `cyclonedx-json` carries a `vulnerabilities` section, and the
/// findings formats exist.
pub fn render_with(
    format: Format,
    inv: &Inventory,
    opts: &RenderOptions,
    findings: Option<&FindingsDocument>,
    colour: bool,
) -> anyhow::Result<Vec<u8>> {
    let sbom = &opts.sbom;
    let needs = |what: &str| anyhow::anyhow!("{what} needs findings: add --feeds REF");
    Ok(match format {
        Format::CycloneDxJson => match findings {
            Some(doc) => stella_sbom::cyclonedx_json_with_findings(inv, sbom, &doc.findings)
                .context("writing CycloneDX with vulnerabilities")?,
            None => stella_sbom::cyclonedx_json(inv, sbom).context("writing CycloneDX")?,
        },
        Format::FindingsJson => {
            report::findings_json(findings.ok_or_else(|| needs("findings-json"))?)
                .context("writing findings JSON")?
        }
        Format::Sarif => report::sarif(
            findings.ok_or_else(|| needs("sarif"))?,
            &SarifOptions {
                tool_version: inv.tool.version.clone(),
                information_uri: None,
            },
        )
        .context("writing SARIF")?,
        Format::VerdictJson => {
            let verdict = findings
                .and_then(|d| d.verdict.as_ref())
                .ok_or_else(|| anyhow::anyhow!("verdict-json needs a policy: add --policy REF"))?;
            let mut v = serde_json::to_vec_pretty(verdict).context("writing the verdict")?;
            v.push(b'\n');
            v
        }
        Format::SpdxJson => stella_sbom::spdx_json(inv, sbom).context("writing SPDX")?,
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(inv).context("writing JSON inventory")?;
            v.push(b'\n');
            v
        }
        Format::Table => match findings {
            Some(doc) => report::table(
                doc,
                &TableOptions {
                    width: None,
                    colour,
                },
            )
            .into_bytes(),
            None => table(inv).into_bytes(),
        },
        Format::BomIndex => stella_sbom::BomIndex::from_inventory(inv, opts.generated_at_us)
            .context("writing the BOM-Index")?
            .to_bytes(),
    })
}

/// Writes every requested output; at most one may go to stdout.
pub fn write_all(
    specs: &[OutputSpec],
    inv: &Inventory,
    opts: &RenderOptions,
) -> anyhow::Result<()> {
    write_all_with(specs, inv, opts, None)
}

/// [`write_all`] with the findings of `--feeds`.
pub fn write_all_with(
    specs: &[OutputSpec],
    inv: &Inventory,
    opts: &RenderOptions,
    findings: Option<&FindingsDocument>,
) -> anyhow::Result<()> {
    if specs.iter().filter(|s| s.file.is_none()).count() > 1 {
        bail!("only one output can go to stdout; give the others a file (-o FORMAT=FILE)");
    }
    for spec in specs {
        // Colour only for a terminal, never into a file.
        let colour = spec.file.is_none() && std::io::stdout().is_terminal();
        let bytes = render_with(spec.format, inv, opts, findings, colour)?;
        match &spec.file {
            Some(path) => std::fs::write(path, &bytes)
                .with_context(|| format!("writing {}", path.display()))?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)
                    .and_then(|()| out.flush())
                    .context("writing to stdout")?;
            }
        }
    }
    Ok(())
}

/// A plain aligned table for humans.
/// Rows as left-aligned columns two spaces apart, one line each.
pub fn aligned<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn table(inv: &Inventory) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "NAME".into(),
        "VERSION".into(),
        "TYPE".into(),
        "LAYER".into(),
    ]];
    for c in &inv.components {
        rows.push([
            c.name.clone(),
            c.version.clone(),
            c.kind.as_str().to_string(),
            c.layer.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut out = aligned(&rows);
    if let Some(d) = &inv.distro {
        out.push_str(&format!(
            "\n{} component(s); distro {}",
            inv.components.len(),
            d.pretty_name.as_deref().unwrap_or(&d.id)
        ));
    } else {
        out.push_str(&format!("\n{} component(s)", inv.components.len()));
    }
    out.push('\n');
    for w in &inv.warnings {
        out.push_str(&format!(
            "warning: {}{}{}\n",
            w.layer.map(|l| format!("layer {l}: ")).unwrap_or_default(),
            w.path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default(),
            w.message
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_output_specs() {
        assert_eq!(
            "spdx-json=out/sbom.json".parse::<OutputSpec>().unwrap(),
            OutputSpec {
                format: Format::SpdxJson,
                file: Some("out/sbom.json".into())
            }
        );
        assert_eq!("json".parse::<OutputSpec>().unwrap().file, None);
        assert!("xml".parse::<OutputSpec>().is_err());
        assert!("json=".parse::<OutputSpec>().is_err());
        assert_eq!(
            "bom-index=x.bomidx".parse::<OutputSpec>().unwrap().format,
            Format::BomIndex
        );
        // Binary never goes to stdout.
        assert!("bom-index".parse::<OutputSpec>().is_err());
    }
}
