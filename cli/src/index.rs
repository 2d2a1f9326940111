//! `stella index query --purl P [--purl-file F] TARGET…`: which images and
//! layers contain these packages, answered from BOM-Indexes alone.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use stella_sbom::bom_index::{Fleet, QueryResult};
use stella_sbom::{BomIndex, PurlQuery};

/// An index bigger than this is refused before it is read (a fleet-wide
/// query must not be taken down by one hostile file). The largest real
/// images hold tens of thousands of components: a few MiB.
const MAX_INDEX_BYTES: u64 = 256 << 20;

/// Exit code when no queried purl is in any image (grep's "no match",
/// moved off 1, which means failure here).
pub const EXIT_NOT_FOUND: u8 = 3;

#[derive(Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Which images and layers contain the given purls.
    Query(QueryArgs),
}

#[derive(Args)]
pub struct QueryArgs {
    /// A purl to look for; without a version it matches every version,
    /// without qualifiers any qualifiers. Repeatable.
    #[arg(
        long = "purl",
        value_name = "PURL",
        required_unless_present = "purl_files"
    )]
    pub purls: Vec<String>,
    /// A file of purls, one a line (`#` comments and blank lines ignored; `-` = stdin). Repeatable.
    #[arg(long = "purl-file", value_name = "FILE")]
    pub purl_files: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = QueryFormat::Table)]
    pub output: QueryFormat,
    /// `.bomidx` files, directories searched recursively for them, or stores
    /// whose images carry attached BOM-Indexes: oci-dir:PATH, registry:HOST/REPO.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Json,
}

pub fn run(args: IndexArgs) -> anyhow::Result<u8> {
    match args.command {
        IndexCommand::Query(q) => query(q),
    }
}

fn query(args: QueryArgs) -> anyhow::Result<u8> {
    let queries = read_queries(&args.purls, &args.purl_files)?;
    let images = load_targets(&args.targets)?;
    let mut fleet = Fleet::new(images);
    fleet.prepare(queries.len());
    let results: Vec<QueryResult<'_>> = queries.iter().map(|(q, _)| fleet.query(q)).collect();
    let report = Report::new(&fleet, &queries, &results);
    let text = match args.output {
        QueryFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&report).context("writing JSON")?;
            v.push(b'\n');
            v
        }
        QueryFormat::Table => report.table().into_bytes(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(&text)
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    Ok(if results.iter().any(|r| !r.matches.is_empty()) {
        0
    } else {
        EXIT_NOT_FOUND
    })
}

/// Every query, parsed, deduplicated by its canonical form, sorted; each
/// with the first spelling (in sort order) the user gave for it.
fn read_queries(purls: &[String], files: &[PathBuf]) -> anyhow::Result<Vec<(PurlQuery, String)>> {
    let mut given: Vec<String> = purls.to_vec();
    for file in files {
        let text = if file.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading purls from stdin")?;
            s
        } else {
            std::fs::read_to_string(file)
                .with_context(|| format!("reading purls from {}", file.display()))?
        };
        for line in text.as_bytes().lines() {
            let line = line.context("reading purls")?;
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                given.push(line.to_string());
            }
        }
    }
    if given.is_empty() {
        bail!("nothing to look for: the purl files hold no purl");
    }
    let mut by_canonical: BTreeMap<PurlQuery, String> = BTreeMap::new();
    for g in given {
        let q = PurlQuery::parse(&g)?;
        let slot = by_canonical.entry(q).or_insert_with(|| g.clone());
        if g < *slot {
            *slot = g;
        }
    }
    let mut out: Vec<(PurlQuery, String)> = by_canonical.into_iter().collect();
    out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(out)
}

/// Reads every target into `(image name, index)` pairs: the one place that
/// knows where indexes come from — `.bomidx` files and directories of them
/// (named by their path), and the BOM-Index referrers of every image in an
/// OCI layout (`oci-dir:PATH`) or a registry repository (`registry:HOST/REPO`).
pub fn load_targets(targets: &[String]) -> anyhow::Result<Vec<(String, BomIndex)>> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut attached: Vec<(String, BomIndex)> = Vec::new();
    for t in targets {
        if let Some((scheme, _)) = t.split_once(':') {
            match scheme {
                "oci-dir" | "registry" => {
                    for (name, bytes) in crate::artifacts::attached_bom_indexes(t)? {
                        let index = BomIndex::from_vec(bytes).with_context(|| name.clone())?;
                        attached.push((name, index));
                    }
                    continue;
                }
                "oci-archive" | "docker-archive" => {
                    bail!("{t}: {scheme} holds no referrers; give oci-dir:, registry:, .bomidx files or directories");
                }
                _ => {}
            }
        }
        let path = Path::new(t);
        let meta = std::fs::metadata(path).with_context(|| format!("reading {t}"))?;
        if meta.is_dir() {
            collect_dir(path, &mut files)?;
        } else {
            files.push(path.to_path_buf());
        }
    }
    files.sort();
    files.dedup();
    let mut out: Vec<(String, BomIndex)> = files
        .into_iter()
        .map(|f| {
            let index = read_index(&f)?;
            Ok((f.display().to_string(), index))
        })
        .collect::<anyhow::Result<_>>()?;
    out.extend(attached);
    Ok(out)
}

/// `*.bomidx` below `dir`, recursively; symlinked directories are not
/// followed (no loops), symlinked files are.
fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            collect_dir(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "bomidx") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_index(path: &Path) -> anyhow::Result<BomIndex> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        bail!(
            "{}: larger than {} MiB, not a BOM-Index this tool will read",
            path.display(),
            MAX_INDEX_BYTES >> 20
        );
    }
    BomIndex::from_vec(bytes).with_context(|| format!("{}", path.display()))
}

/// `-o json`, schema `stella-index-query@1`.
#[derive(Serialize)]
struct Report {
    schema: &'static str,
    images: usize,
    results: Vec<ReportResult>,
}

#[derive(Serialize)]
struct ReportResult {
    /// The canonical form of the query.
    purl: String,
    /// As the user wrote it.
    query: String,
    found: bool,
    matches: Vec<ReportMatch>,
}

#[derive(Serialize)]
struct ReportMatch {
    image: String,
    #[serde(rename = "imageDigest")]
    image_digest: String,
    component: String,
    layers: Vec<ReportLayer>,
    /// Present when the image's index has an entrypoint table.
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoints: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ReportLayer {
    index: u32,
    digest: String,
}

impl Report {
    fn new(fleet: &Fleet, queries: &[(PurlQuery, String)], results: &[QueryResult<'_>]) -> Report {
        let results = queries
            .iter()
            .zip(results)
            .map(|((q, given), r)| ReportResult {
                purl: q.to_string(),
                query: given.clone(),
                found: !r.matches.is_empty(),
                matches: r
                    .matches
                    .iter()
                    .map(|m| ReportMatch {
                        image: m.image.name.clone(),
                        image_digest: m.image.index.image_digest().to_string(),
                        component: m.component.identity().to_string(),
                        layers: m
                            .layers()
                            .map(|(index, digest)| ReportLayer {
                                index,
                                digest: digest.to_string(),
                            })
                            .collect(),
                        entrypoints: m
                            .image
                            .index
                            .entrypoints()
                            .map(|_| m.entrypoints().map(str::to_string).collect()),
                    })
                    .collect(),
            })
            .collect();
        Report {
            schema: "stella-index-query@1",
            images: fleet.images().len(),
            results,
        }
    }

    /// One row per match, `-` rows for purls found nowhere.
    fn table(&self) -> String {
        let mut rows: Vec<[String; 5]> =
            vec![["PURL", "IMAGE", "COMPONENT", "LAYERS", "USED"].map(String::from)];
        for r in &self.results {
            if r.matches.is_empty() {
                rows.push([
                    r.query.clone(),
                    "-".into(),
                    "(not found)".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
            for m in &r.matches {
                let layers = layer_cell(&m.layers);
                let used = match &m.entrypoints {
                    None => "-",
                    Some(e) if e.is_empty() => "no",
                    Some(_) => "yes",
                };
                rows.push([
                    r.query.clone(),
                    m.image.clone(),
                    m.component.clone(),
                    layers,
                    used.to_string(),
                ]);
            }
        }
        let mut out = crate::output::aligned(&rows);
        let found = self.results.iter().filter(|r| r.found).count();
        out.push_str(&format!(
            "\n{found} of {} purl(s) found; {} image(s) searched\n",
            self.results.len(),
            self.images
        ));
        out
    }
}

/// The layers a component is in, short: a component stays from the layer
/// that introduced it to the top, so `#5-#7 sha256:5a94f1a6a239` (the range
/// and the introducing layer's digest); anything else is listed.
fn layer_cell(layers: &[ReportLayer]) -> String {
    let Some(first) = layers.first() else {
        return "-".to_string();
    };
    let digest = |l: &ReportLayer| match short(&l.digest) {
        "" => String::new(),
        d => format!(" {d}"),
    };
    let last = &layers[layers.len() - 1];
    let contiguous = last.index - first.index + 1 == layers.len() as u32;
    if layers.len() == 1 {
        format!("#{}{}", first.index, digest(first))
    } else if contiguous {
        format!("#{}-#{}{}", first.index, last.index, digest(first))
    } else {
        layers
            .iter()
            .map(|l| format!("#{}{}", l.index, digest(l)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `sha256:` + 12 hex digits, like `docker images` shows them.
fn short(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => &digest[..algo.len() + 1 + 12],
        _ => digest,
    }
}
