//! Per-layer analysis fragments: a [`LayerFs`] (what the layer walk kept
//! from one layer) in a compact, versioned binary encoding, so a layer cache
//! can hand it back instead of the layer being streamed again.
//!
//! Layout: 8 bytes of magic, one byte saying what the body is (a whole layer,
//! the named-script supplement of [`crate::layer_cache`], or a whole image's
//! inventory without its source-specific `image` facts), the format
//! version as u32 little-endian, then the body in postcard (serde, varint
//! integers, length-prefixed strings and byte strings).
//!
//! The wire types mirror the in-memory ones and are converted with
//! exhaustive destructuring: adding a field to [`LayerFs`], [`FileReport`],
//! [`ElfInfo`], [`ScriptText`], [`EntryMeta`], [`Component`] or any part of
//! [`Inventory`] stops this
//! module from compiling until the field is encoded here — and then
//! [`FRAGMENT_FORMAT`] must be bumped, which changes every cache key, so an
//! old entry can never be decoded as a new one.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stella_model::{
    Component, ComponentKind, Digest, Distro, EntryChain, EntryStep, EntryStepKind, EntryStop,
    EntryTrace, ImageInfo, Inventory, LayerInfo, Purl, SourcePackage, ToolInfo, Warning,
    INVENTORY_SCHEMA,
};

use crate::file_analyzer::{ElfInfo, FileReport, ScriptText};
use crate::layer::{EntryKind, EntryMeta, LayerFs};

/// Version of the fragment encoding (part of every cache key).
pub const FRAGMENT_FORMAT: u32 = 1;

const MAGIC: &[u8; 8] = b"STLFRAG\0";
const HEADER_LEN: usize = MAGIC.len() + 1 + 4;

/// What a fragment's body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Body {
    Layer = 1,
    NamedScripts = 2,
    Inventory = 3,
}

/// A fragment that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    #[error("not a layer fragment (bad magic)")]
    BadMagic,
    #[error("fragment holds body kind {found}, expected {expected}")]
    WrongBody { found: u8, expected: u8 },
    #[error("fragment format {found}, this build reads {FRAGMENT_FORMAT}")]
    Version { found: u32 },
    #[error("undecodable fragment body: {0}")]
    Body(String),
    #[error("{0} trailing bytes after the fragment body")]
    Trailing(usize),
    #[error("fragment names an unknown component kind {0}")]
    ComponentKind(u8),
    #[error("fragment names an unknown entry step kind {0}")]
    StepKind(u8),
    #[error("fragment holds an invalid digest {0:?}")]
    Digest(String),
}

/// What a fragment holds, from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentKind {
    /// One layer's walk result.
    Layer,
    /// The scripts the image-specific script analyzer kept from one layer.
    NamedScripts,
    /// A whole image's inventory.
    Inventory,
}

/// The kind of a fragment of this format, `None` for anything else.
pub fn kind_of(bytes: &[u8]) -> Option<FragmentKind> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    if bytes[MAGIC.len() + 1..HEADER_LEN] != FRAGMENT_FORMAT.to_le_bytes() {
        return None;
    }
    match bytes[MAGIC.len()] {
        b if b == Body::Layer as u8 => Some(FragmentKind::Layer),
        b if b == Body::NamedScripts as u8 => Some(FragmentKind::NamedScripts),
        b if b == Body::Inventory as u8 => Some(FragmentKind::Inventory),
        _ => None,
    }
}

/// Encodes one layer's walk result.
pub fn encode_layer(fs: &LayerFs) -> Vec<u8> {
    encode(Body::Layer, &WireLayer::from_layer(fs))
}

/// Decodes what [`encode_layer`] wrote.
pub fn decode_layer(bytes: &[u8]) -> Result<LayerFs, FragmentError> {
    let wire: WireLayer<'_> = decode(Body::Layer, bytes)?;
    wire.into_layer()
}

/// Encodes the script texts the image-specific script analyzer kept, by path.
pub fn encode_scripts(scripts: &BTreeMap<String, ScriptText>) -> Vec<u8> {
    let wire: Vec<(&str, WireScript<'_>)> = scripts
        .iter()
        .map(|(p, s)| (p.as_str(), WireScript::from_script(s)))
        .collect();
    encode(Body::NamedScripts, &wire)
}

/// Decodes what [`encode_scripts`] wrote.
pub fn decode_scripts(bytes: &[u8]) -> Result<BTreeMap<String, ScriptText>, FragmentError> {
    let wire: Vec<(String, WireScript<'_>)> = decode(Body::NamedScripts, bytes)?;
    Ok(wire
        .into_iter()
        .map(|(p, s)| (p, s.into_script()))
        .collect())
}

/// Encodes a finished inventory; its `image` facts are left out (they
/// name the source as the user typed it) and supplied again on decoding.
pub fn encode_inventory(inv: &Inventory) -> Vec<u8> {
    encode(Body::Inventory, &WireInventory::from_inventory(inv))
}

/// Decodes what [`encode_inventory`] wrote, with `image` as its image facts.
pub fn decode_inventory(bytes: &[u8], image: ImageInfo) -> Result<Inventory, FragmentError> {
    let wire: WireInventory = decode(Body::Inventory, bytes)?;
    wire.into_inventory(image)
}

fn encode<T: Serialize>(body: Body, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(MAGIC);
    out.push(body as u8);
    out.extend_from_slice(&FRAGMENT_FORMAT.to_le_bytes());
    // Serializing plain structs into a Vec cannot fail; if it ever did, an
    // empty body would fail to decode and be treated as a cache miss.
    postcard::to_extend(value, out).unwrap_or_default()
}

fn decode<'a, T: Deserialize<'a>>(body: Body, bytes: &'a [u8]) -> Result<T, FragmentError> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(FragmentError::BadMagic);
    }
    let kind = bytes[MAGIC.len()];
    if kind != body as u8 {
        return Err(FragmentError::WrongBody {
            found: kind,
            expected: body as u8,
        });
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[MAGIC.len() + 1..HEADER_LEN]);
    let version = u32::from_le_bytes(version);
    if version != FRAGMENT_FORMAT {
        return Err(FragmentError::Version { found: version });
    }
    let (value, rest) = postcard::take_from_bytes(&bytes[HEADER_LEN..])
        .map_err(|e| FragmentError::Body(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FragmentError::Trailing(rest.len()));
    }
    Ok(value)
}

type Str<'a> = Cow<'a, str>;

fn owned(s: Str<'_>) -> String {
    s.into_owned()
}

#[derive(Serialize, Deserialize)]
struct WireLayer<'a> {
    entries: Vec<(Str<'a>, WireEntry<'a>)>,
    whiteouts: Vec<Str<'a>>,
    opaque_dirs: Vec<Str<'a>>,
    #[serde(borrow)]
    captured: Vec<(Str<'a>, WireBytes<'a>)>,
    skipped: Vec<(Str<'a>, Str<'a>)>,
    #[serde(borrow)]
    file_reports: Vec<(Str<'a>, WireReport<'a>)>,
    tar_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct WireBytes<'a>(#[serde(borrow, with = "serde_bytes")] Cow<'a, [u8]>);

impl<'a> WireLayer<'a> {
    fn from_layer(fs: &'a LayerFs) -> WireLayer<'a> {
        let LayerFs {
            entries,
            whiteouts,
            opaque_dirs,
            captured,
            skipped,
            file_reports,
            tar_bytes,
        } = fs;
        WireLayer {
            entries: entries
                .iter()
                .map(|(p, m)| (Cow::Borrowed(p.as_str()), WireEntry::from_meta(m)))
                .collect(),
            whiteouts: whiteouts
                .iter()
                .map(|p| Cow::Borrowed(p.as_str()))
                .collect(),
            opaque_dirs: opaque_dirs
                .iter()
                .map(|p| Cow::Borrowed(p.as_str()))
                .collect(),
            captured: captured
                .iter()
                .map(|(p, b)| {
                    (
                        Cow::Borrowed(p.as_str()),
                        WireBytes(Cow::Borrowed(b.as_slice())),
                    )
                })
                .collect(),
            skipped: skipped
                .iter()
                .map(|(p, r)| (Cow::Borrowed(p.as_str()), Cow::Borrowed(r.as_str())))
                .collect(),
            file_reports: file_reports
                .iter()
                .map(|(p, r)| (Cow::Borrowed(p.as_str()), WireReport::from_report(r)))
                .collect(),
            tar_bytes: *tar_bytes,
        }
    }

    fn into_layer(self) -> Result<LayerFs, FragmentError> {
        let WireLayer {
            entries,
            whiteouts,
            opaque_dirs,
            captured,
            skipped,
            file_reports,
            tar_bytes,
        } = self;
        let mut reports = BTreeMap::new();
        for (path, report) in file_reports {
            reports.insert(owned(path), report.into_report()?);
        }
        Ok(LayerFs {
            entries: entries
                .into_iter()
                .map(|(p, e)| (owned(p), e.into_meta()))
                .collect(),
            whiteouts: whiteouts.into_iter().map(owned).collect(),
            opaque_dirs: opaque_dirs.into_iter().map(owned).collect(),
            captured: captured
                .into_iter()
                .map(|(p, b)| (owned(p), b.0.into_owned()))
                .collect(),
            skipped: skipped
                .into_iter()
                .map(|(p, r)| (owned(p), owned(r)))
                .collect(),
            file_reports: reports,
            tar_bytes,
        })
    }
}

#[derive(Serialize, Deserialize)]
enum WireKind<'a> {
    File,
    Dir,
    Symlink(Str<'a>),
    Hardlink(Str<'a>),
    Other,
}

#[derive(Serialize, Deserialize)]
struct WireEntry<'a> {
    kind: WireKind<'a>,
    size: u64,
    mode: u32,
}

impl<'a> WireEntry<'a> {
    fn from_meta(meta: &'a EntryMeta) -> WireEntry<'a> {
        let EntryMeta { kind, size, mode } = meta;
        let kind = match kind {
            EntryKind::File => WireKind::File,
            EntryKind::Dir => WireKind::Dir,
            EntryKind::Symlink(t) => WireKind::Symlink(Cow::Borrowed(t)),
            EntryKind::Hardlink(t) => WireKind::Hardlink(Cow::Borrowed(t)),
            EntryKind::Other => WireKind::Other,
        };
        WireEntry {
            kind,
            size: *size,
            mode: *mode,
        }
    }

    fn into_meta(self) -> EntryMeta {
        let kind = match self.kind {
            WireKind::File => EntryKind::File,
            WireKind::Dir => EntryKind::Dir,
            WireKind::Symlink(t) => EntryKind::Symlink(owned(t)),
            WireKind::Hardlink(t) => EntryKind::Hardlink(owned(t)),
            WireKind::Other => EntryKind::Other,
        };
        EntryMeta {
            kind,
            size: self.size,
            mode: self.mode,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WireReport<'a> {
    components: Vec<WireComponent>,
    notes: Vec<Str<'a>>,
    elf: Option<WireElf<'a>>,
    #[serde(borrow)]
    script: Option<WireScript<'a>>,
}

impl<'a> WireReport<'a> {
    fn from_report(report: &'a FileReport) -> WireReport<'a> {
        let FileReport {
            components,
            notes,
            elf,
            script,
        } = report;
        WireReport {
            components: components
                .iter()
                .map(WireComponent::from_component)
                .collect(),
            notes: notes.iter().map(|n| Cow::Borrowed(n.as_str())).collect(),
            elf: elf.as_ref().map(WireElf::from_elf),
            script: script.as_ref().map(WireScript::from_script),
        }
    }

    fn into_report(self) -> Result<FileReport, FragmentError> {
        Ok(FileReport {
            components: self
                .components
                .into_iter()
                .map(WireComponent::into_component)
                .collect::<Result<_, _>>()?,
            notes: self.notes.into_iter().map(owned).collect(),
            elf: self.elf.map(WireElf::into_elf),
            script: self.script.map(WireScript::into_script),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct WireElf<'a> {
    build_id: Option<Str<'a>>,
    soname: Option<Str<'a>>,
    needed: Vec<Str<'a>>,
    interpreter: Option<Str<'a>>,
    rpath: Vec<Str<'a>>,
    runpath: Vec<Str<'a>>,
    machine: Str<'a>,
    is_64: bool,
}

fn borrow_all(v: &[String]) -> Vec<Str<'_>> {
    v.iter().map(|s| Cow::Borrowed(s.as_str())).collect()
}

impl<'a> WireElf<'a> {
    fn from_elf(elf: &'a ElfInfo) -> WireElf<'a> {
        let ElfInfo {
            build_id,
            soname,
            needed,
            interpreter,
            rpath,
            runpath,
            machine,
            is_64,
        } = elf;
        WireElf {
            build_id: build_id.as_deref().map(Cow::Borrowed),
            soname: soname.as_deref().map(Cow::Borrowed),
            needed: borrow_all(needed),
            interpreter: interpreter.as_deref().map(Cow::Borrowed),
            rpath: borrow_all(rpath),
            runpath: borrow_all(runpath),
            machine: Cow::Borrowed(machine),
            is_64: *is_64,
        }
    }

    fn into_elf(self) -> ElfInfo {
        ElfInfo {
            build_id: self.build_id.map(owned),
            soname: self.soname.map(owned),
            needed: self.needed.into_iter().map(owned).collect(),
            interpreter: self.interpreter.map(owned),
            rpath: self.rpath.into_iter().map(owned).collect(),
            runpath: self.runpath.into_iter().map(owned).collect(),
            machine: owned(self.machine),
            is_64: self.is_64,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WireScript<'a> {
    #[serde(borrow)]
    text: WireBytes<'a>,
    complete: bool,
}

impl<'a> WireScript<'a> {
    fn from_script(script: &'a ScriptText) -> WireScript<'a> {
        let ScriptText { text, complete } = script;
        WireScript {
            text: WireBytes(Cow::Borrowed(text)),
            complete: *complete,
        }
    }

    fn into_script(self) -> ScriptText {
        ScriptText {
            text: self.text.0.into_owned(),
            complete: self.complete,
        }
    }
}

/// Components are few (file analyzers' findings): owned copies are fine.
#[derive(Serialize, Deserialize)]
struct WireComponent {
    kind: u8,
    name: String,
    version: String,
    arch: Option<String>,
    purl: Option<WirePurl>,
    source: Option<(String, String)>,
    licenses: Vec<String>,
    supplier: Option<String>,
    layer: Option<u32>,
    layer_diff_id: Option<String>,
    evidence: Vec<String>,
    properties: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct WirePurl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
}

/// Stable on-disk codes: never renumber, only append.
fn kind_code(kind: ComponentKind) -> u8 {
    match kind {
        ComponentKind::Deb => 1,
        ComponentKind::Apk => 2,
        ComponentKind::Rpm => 3,
        ComponentKind::Npm => 4,
        ComponentKind::Pypi => 5,
        ComponentKind::Maven => 6,
        ComponentKind::Golang => 7,
        ComponentKind::Cargo => 8,
        ComponentKind::Nuget => 9,
        ComponentKind::Composer => 10,
        ComponentKind::Gem => 11,
    }
}

fn component_kind_of(code: u8) -> Result<ComponentKind, FragmentError> {
    Ok(match code {
        1 => ComponentKind::Deb,
        2 => ComponentKind::Apk,
        3 => ComponentKind::Rpm,
        4 => ComponentKind::Npm,
        5 => ComponentKind::Pypi,
        6 => ComponentKind::Maven,
        7 => ComponentKind::Golang,
        8 => ComponentKind::Cargo,
        9 => ComponentKind::Nuget,
        10 => ComponentKind::Composer,
        11 => ComponentKind::Gem,
        other => return Err(FragmentError::ComponentKind(other)),
    })
}

impl WireComponent {
    fn from_component(c: &Component) -> WireComponent {
        let Component {
            kind,
            name,
            version,
            arch,
            purl,
            source,
            licenses,
            supplier,
            layer,
            layer_diff_id,
            evidence,
            properties,
        } = c;
        WireComponent {
            kind: kind_code(*kind),
            name: name.clone(),
            version: version.clone(),
            arch: arch.clone(),
            purl: purl.as_ref().map(|p| WirePurl {
                ty: p.ty().to_string(),
                namespace: p.namespace().map(str::to_string),
                name: p.name().to_string(),
                version: p.version().map(str::to_string),
                qualifiers: p
                    .qualifiers()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }),
            source: source.as_ref().map(|s| (s.name.clone(), s.version.clone())),
            licenses: licenses.clone(),
            supplier: supplier.clone(),
            layer: *layer,
            layer_diff_id: layer_diff_id.as_ref().map(Digest::to_string),
            evidence: evidence.clone(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn into_component(self) -> Result<Component, FragmentError> {
        let layer_diff_id = match self.layer_diff_id {
            Some(d) => Some(d.parse::<Digest>().map_err(|_| FragmentError::Digest(d))?),
            None => None,
        };
        Ok(Component {
            kind: component_kind_of(self.kind)?,
            name: self.name,
            version: self.version,
            arch: self.arch,
            purl: self.purl.map(|p| {
                // The builders re-apply the canonical form; a purl that came
                // out of them goes back in unchanged.
                let mut purl = Purl::new(&p.ty, &p.name);
                if let Some(ns) = &p.namespace {
                    purl = purl.with_namespace(ns);
                }
                if let Some(v) = &p.version {
                    purl = purl.with_version(v);
                }
                for (k, v) in &p.qualifiers {
                    purl = purl.with_qualifier(k, v);
                }
                purl
            }),
            source: self
                .source
                .map(|(name, version)| SourcePackage { name, version }),
            licenses: self.licenses,
            supplier: self.supplier,
            layer: self.layer,
            layer_diff_id,
            evidence: self.evidence,
            properties: self.properties.into_iter().collect(),
        })
    }
}

/// Inventories are written once per scan and are small next to layers:
/// owned wire types keep this simple.
#[derive(Serialize, Deserialize)]
struct WireInventory {
    tool: (String, String),
    distro: Option<WireDistro>,
    layers: Vec<WireLayerInfo>,
    components: Vec<WireComponent>,
    entry_trace: Option<WireTrace>,
    warnings: Vec<(Option<u32>, Option<String>, String)>,
}

#[derive(Serialize, Deserialize)]
struct WireDistro {
    id: String,
    version_id: Option<String>,
    version_codename: Option<String>,
    pretty_name: Option<String>,
    id_like: Vec<String>,
    evidence: String,
}

#[derive(Serialize, Deserialize)]
struct WireLayerInfo {
    index: u32,
    digest: Option<String>,
    diff_id: Option<String>,
    media_type: Option<String>,
    size: u64,
    created_by: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireTrace {
    argv: Vec<String>,
    chains: Vec<WireChain>,
    files: Vec<String>,
    unresolved: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct WireChain {
    steps: Vec<WireStep>,
    stopped: Option<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct WireStep {
    path: String,
    via: Option<String>,
    kind: u8,
    argv: Vec<String>,
}

fn parse_digest(d: Option<String>) -> Result<Option<Digest>, FragmentError> {
    d.map(|d| d.parse::<Digest>().map_err(|_| FragmentError::Digest(d)))
        .transpose()
}

/// Stable on-disk codes: never renumber, only append.
fn step_code(kind: EntryStepKind) -> u8 {
    match kind {
        EntryStepKind::Elf => 1,
        EntryStepKind::Script => 2,
        EntryStepKind::Interpreter => 3,
        EntryStepKind::Wrapper => 4,
        EntryStepKind::Shell => 5,
    }
}

fn step_of(code: u8) -> Result<EntryStepKind, FragmentError> {
    Ok(match code {
        1 => EntryStepKind::Elf,
        2 => EntryStepKind::Script,
        3 => EntryStepKind::Interpreter,
        4 => EntryStepKind::Wrapper,
        5 => EntryStepKind::Shell,
        other => return Err(FragmentError::StepKind(other)),
    })
}

impl WireInventory {
    fn from_inventory(inv: &Inventory) -> WireInventory {
        let Inventory {
            schema: _,
            tool,
            image: _,
            distro,
            layers,
            components,
            entry_trace,
            warnings,
        } = inv;
        let ToolInfo { name, version } = tool;
        WireInventory {
            tool: (name.clone(), version.clone()),
            distro: distro.as_ref().map(|d| {
                let Distro {
                    id,
                    version_id,
                    version_codename,
                    pretty_name,
                    id_like,
                    evidence,
                } = d;
                WireDistro {
                    id: id.clone(),
                    version_id: version_id.clone(),
                    version_codename: version_codename.clone(),
                    pretty_name: pretty_name.clone(),
                    id_like: id_like.clone(),
                    evidence: evidence.clone(),
                }
            }),
            layers: layers
                .iter()
                .map(|l| {
                    let LayerInfo {
                        index,
                        digest,
                        diff_id,
                        media_type,
                        size,
                        created_by,
                    } = l;
                    WireLayerInfo {
                        index: *index,
                        digest: digest.as_ref().map(Digest::to_string),
                        diff_id: diff_id.as_ref().map(Digest::to_string),
                        media_type: media_type.clone(),
                        size: *size,
                        created_by: created_by.clone(),
                    }
                })
                .collect(),
            components: components
                .iter()
                .map(WireComponent::from_component)
                .collect(),
            entry_trace: entry_trace.as_ref().map(|t| {
                let EntryTrace {
                    argv,
                    chains,
                    files,
                    unresolved,
                } = t;
                WireTrace {
                    argv: argv.clone(),
                    chains: chains
                        .iter()
                        .map(|c| {
                            let EntryChain { steps, stopped } = c;
                            WireChain {
                                steps: steps
                                    .iter()
                                    .map(|s| {
                                        let EntryStep {
                                            path,
                                            via,
                                            kind,
                                            argv,
                                        } = s;
                                        WireStep {
                                            path: path.clone(),
                                            via: via.clone(),
                                            kind: step_code(*kind),
                                            argv: argv.clone(),
                                        }
                                    })
                                    .collect(),
                                stopped: stopped.as_ref().map(|s| {
                                    let EntryStop { reason, message } = s;
                                    (reason.clone(), message.clone())
                                }),
                            }
                        })
                        .collect(),
                    files: files.clone(),
                    unresolved: unresolved.clone(),
                }
            }),
            warnings: warnings
                .iter()
                .map(|w| {
                    let Warning {
                        layer,
                        path,
                        message,
                    } = w;
                    (*layer, path.clone(), message.clone())
                })
                .collect(),
        }
    }

    fn into_inventory(self, image: ImageInfo) -> Result<Inventory, FragmentError> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in self.layers {
            layers.push(LayerInfo {
                index: l.index,
                digest: parse_digest(l.digest)?,
                diff_id: parse_digest(l.diff_id)?,
                media_type: l.media_type,
                size: l.size,
                created_by: l.created_by,
            });
        }
        let entry_trace = match self.entry_trace {
            None => None,
            Some(t) => {
                let mut chains = Vec::with_capacity(t.chains.len());
                for c in t.chains {
                    let mut steps = Vec::with_capacity(c.steps.len());
                    for s in c.steps {
                        steps.push(EntryStep {
                            path: s.path,
                            via: s.via,
                            kind: step_of(s.kind)?,
                            argv: s.argv,
                        });
                    }
                    chains.push(EntryChain {
                        steps,
                        stopped: c
                            .stopped
                            .map(|(reason, message)| EntryStop { reason, message }),
                    });
                }
                Some(EntryTrace {
                    argv: t.argv,
                    chains,
                    files: t.files,
                    unresolved: t.unresolved,
                })
            }
        };
        Ok(Inventory {
            schema: INVENTORY_SCHEMA,
            tool: ToolInfo {
                name: self.tool.0,
                version: self.tool.1,
            },
            image,
            distro: self.distro.map(|d| Distro {
                id: d.id,
                version_id: d.version_id,
                version_codename: d.version_codename,
                pretty_name: d.pretty_name,
                id_like: d.id_like,
                evidence: d.evidence,
            }),
            layers,
            components: self
                .components
                .into_iter()
                .map(WireComponent::into_component)
                .collect::<Result<_, _>>()?,
            entry_trace,
            warnings: self
                .warnings
                .into_iter()
                .map(|(layer, path, message)| Warning {
                    layer,
                    path,
                    message,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LayerFs {
        let entries = vec![
            (
                "usr/bin/app".to_string(),
                EntryMeta {
                    kind: EntryKind::File,
                    size: 12,
                    mode: 0o755,
                },
            ),
            (
                "usr/bin/alias".to_string(),
                EntryMeta {
                    kind: EntryKind::Hardlink("usr/bin/app".to_string()),
                    size: 0,
                    mode: 0o755,
                },
            ),
            (
                "lib".to_string(),
                EntryMeta {
                    kind: EntryKind::Symlink("usr/lib".to_string()),
                    size: 0,
                    mode: 0o777,
                },
            ),
            (
                "etc".to_string(),
                EntryMeta {
                    kind: EntryKind::Dir,
                    size: 0,
                    mode: 0o755,
                },
            ),
            (
                "dev/null".to_string(),
                EntryMeta {
                    kind: EntryKind::Other,
                    size: 0,
                    mode: 0o666,
                },
            ),
        ];
        let mut fs = LayerFs {
            entries,
            whiteouts: vec!["var/old".to_string()],
            opaque_dirs: vec!["opt".to_string(), String::new()],
            tar_bytes: 10240,
            ..LayerFs::default()
        };
        fs.captured.insert(
            "var/lib/dpkg/status".to_string(),
            b"Package: a\n\0\xff".to_vec(),
        );
        fs.captured.insert("empty".to_string(), Vec::new());
        fs.skipped
            .insert("huge".to_string(), "over the limit".to_string());
        let mut comp = Component::new(ComponentKind::Golang, "example.com/m", "v1.2.3");
        comp.arch = Some("amd64".to_string());
        comp.purl = Some(
            Purl::new("golang", "m")
                .with_namespace("example.com")
                .with_version("v1.2.3")
                .with_qualifier("goos", "linux")
                .with_qualifier("arch", "x86_64"),
        );
        comp.source = Some(SourcePackage {
            name: "src".to_string(),
            version: "1".to_string(),
        });
        comp.licenses = vec!["MIT".to_string()];
        comp.supplier = Some("someone".to_string());
        comp.layer = Some(3);
        comp.layer_diff_id = Some(Digest::sha256_of(b"x"));
        comp.evidence = vec!["usr/bin/app".to_string()];
        comp.properties
            .insert("stella:x".to_string(), "y".to_string());
        fs.file_reports.insert(
            "usr/bin/app".to_string(),
            FileReport {
                components: vec![comp],
                notes: vec!["elf: odd".to_string()],
                elf: Some(ElfInfo {
                    build_id: Some("abcd".to_string()),
                    soname: None,
                    needed: vec!["libc.so.6".to_string()],
                    interpreter: Some("/lib64/ld-linux-x86-64.so.2".to_string()),
                    rpath: vec!["$ORIGIN".to_string()],
                    runpath: vec![],
                    machine: "x86_64".to_string(),
                    is_64: true,
                }),
                script: None,
            },
        );
        fs.file_reports.insert(
            "start.sh".to_string(),
            FileReport {
                script: Some(ScriptText {
                    text: b"#!/bin/sh\nexec app\n".to_vec(),
                    complete: true,
                }),
                ..FileReport::default()
            },
        );
        fs
    }

    fn assert_same(a: &LayerFs, b: &LayerFs) {
        assert_eq!(a.entries, b.entries);
        assert_eq!(a.whiteouts, b.whiteouts);
        assert_eq!(a.opaque_dirs, b.opaque_dirs);
        assert_eq!(a.captured, b.captured);
        assert_eq!(a.skipped, b.skipped);
        assert_eq!(a.file_reports, b.file_reports);
        assert_eq!(a.tar_bytes, b.tar_bytes);
    }

    #[test]
    fn layer_round_trips() {
        let fs = sample();
        let bytes = encode_layer(&fs);
        let back = decode_layer(&bytes).unwrap();
        assert_same(&fs, &back);
        // The purl renders the same (the canonical form survives the trip).
        let purl = |l: &LayerFs| {
            l.file_reports["usr/bin/app"].components[0]
                .purl
                .as_ref()
                .map(|p| p.to_string())
        };
        assert_eq!(purl(&fs), purl(&back));
        assert_eq!(
            purl(&back).as_deref(),
            Some("pkg:golang/example.com/m@v1.2.3?arch=x86_64&goos=linux")
        );
    }

    #[test]
    fn empty_layer_round_trips() {
        let fs = LayerFs::default();
        assert_same(&fs, &decode_layer(&encode_layer(&fs)).unwrap());
    }

    #[test]
    fn rejects_damage() {
        let bytes = encode_layer(&sample());
        assert!(matches!(
            decode_layer(&bytes[..5]),
            Err(FragmentError::BadMagic)
        ));
        let mut other_version = bytes.clone();
        other_version[9] ^= 0xff;
        assert!(matches!(
            decode_layer(&other_version),
            Err(FragmentError::Version { .. })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode_layer(&trailing),
            Err(FragmentError::Trailing(1))
        ));
        // Every truncation fails cleanly (never a panic, never a partial layer).
        for cut in HEADER_LEN..bytes.len() {
            assert!(decode_layer(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let scripts = encode_scripts(&BTreeMap::new());
        assert!(matches!(
            decode_layer(&scripts),
            Err(FragmentError::WrongBody { .. })
        ));
    }

    #[test]
    fn inventory_round_trips_and_takes_the_given_image_facts() {
        let fs = sample();
        let inv = Inventory {
            schema: INVENTORY_SCHEMA,
            tool: ToolInfo {
                name: "stella".to_string(),
                version: "9.9.9".to_string(),
            },
            image: ImageInfo {
                source: "oci-dir:/somewhere".to_string(),
                ..ImageInfo::default()
            },
            distro: Some(Distro {
                id: "debian".to_string(),
                version_id: Some("12".to_string()),
                version_codename: None,
                pretty_name: Some("Debian 12".to_string()),
                id_like: vec!["x".to_string()],
                evidence: "etc/os-release".to_string(),
            }),
            layers: vec![LayerInfo {
                index: 0,
                digest: Some(Digest::sha256_of(b"blob")),
                diff_id: Some(Digest::sha256_of(b"tar")),
                media_type: Some("application/vnd.oci.image.layer.v1.tar+gzip".to_string()),
                size: 42,
                created_by: None,
            }],
            components: fs.file_reports["usr/bin/app"].components.clone(),
            entry_trace: Some(EntryTrace {
                argv: vec!["sh".to_string(), "start.sh".to_string()],
                chains: vec![EntryChain {
                    steps: vec![EntryStep {
                        path: "bin/dash".to_string(),
                        via: Some("bin/sh".to_string()),
                        kind: EntryStepKind::Interpreter,
                        argv: vec!["sh".to_string()],
                    }],
                    stopped: Some(EntryStop {
                        reason: "not-found".to_string(),
                        message: "no start.sh".to_string(),
                    }),
                }],
                files: vec!["bin/dash".to_string()],
                unresolved: vec![],
            }),
            warnings: vec![Warning {
                layer: Some(0),
                path: None,
                message: "odd".to_string(),
            }],
        };
        let other = ImageInfo {
            source: "registry:example/app".to_string(),
            ..ImageInfo::default()
        };
        let back = decode_inventory(&encode_inventory(&inv), other.clone()).unwrap();
        assert_eq!(
            back,
            Inventory {
                image: other,
                ..inv
            }
        );
        assert!(decode_layer(&encode_inventory(&back)).is_err());
    }

    #[test]
    fn scripts_round_trip() {
        let mut scripts = BTreeMap::new();
        scripts.insert(
            "app/start.sh".to_string(),
            ScriptText {
                text: b"echo hi\n".to_vec(),
                complete: true,
            },
        );
        assert_eq!(decode_scripts(&encode_scripts(&scripts)).unwrap(), scripts);
    }
}
