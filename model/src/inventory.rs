//! The result of a scan: image facts, the layer table, the distro and the
//! components, each tied to the layer that introduced it and the files that
//! prove it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Digest, EntryTrace, Purl};

/// Schema tag of the native JSON inventory (`-o json`).
pub const INVENTORY_SCHEMA: &str = "stella-inventory@1";

/// Which package ecosystem a component belongs to (named after purl types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    Deb,
    Apk,
    Rpm,
    /// npm packages (`node_modules/**/package.json`, lockfiles).
    Npm,
    /// Python distributions (`*.dist-info`, `*.egg-info`).
    Pypi,
    /// Java archives (pom.properties, MANIFEST.MF).
    Maven,
    /// Go modules and the Go toolchain (`stdlib`) from build info.
    Golang,
    /// Rust crates from cargo-auditable data.
    Cargo,
    /// .NET packages from `*.deps.json`.
    Nuget,
    /// PHP packages from `vendor/composer/installed.json`.
    Composer,
    /// Ruby gems from `specifications/*.gemspec`.
    Gem,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Deb => "deb",
            ComponentKind::Apk => "apk",
            ComponentKind::Rpm => "rpm",
            ComponentKind::Npm => "npm",
            ComponentKind::Pypi => "pypi",
            ComponentKind::Maven => "maven",
            ComponentKind::Golang => "golang",
            ComponentKind::Cargo => "cargo",
            ComponentKind::Nuget => "nuget",
            ComponentKind::Composer => "composer",
            ComponentKind::Gem => "gem",
        }
    }
}

/// The source package a binary package was built from (dpkg `Source:`, rpm
/// SOURCERPM, apk origin). Distro advisories are keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub kind: ComponentKind,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<Purl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// Licenses as the package database records them (not normalized).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Index into [`Inventory::layers`] of the layer that introduced this
    /// component (it is present from that layer to the top).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// The layer's diffID, repeated here so a finding explains itself.
    #[serde(rename = "layerDiffId", skip_serializing_if = "Option::is_none")]
    pub layer_diff_id: Option<Digest>,
    /// Paths (without leading `/`) of the files that record this component.
    pub evidence: Vec<String>,
    /// Extra facts (`stella:…` keys), sorted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl Component {
    pub fn new(kind: ComponentKind, name: &str, version: &str) -> Component {
        Component {
            kind,
            name: name.to_string(),
            version: version.to_string(),
            arch: None,
            purl: None,
            source: None,
            licenses: Vec::new(),
            supplier: None,
            layer: None,
            layer_diff_id: None,
            evidence: Vec::new(),
            properties: BTreeMap::new(),
        }
    }

    /// Identity used to follow a component across layers: kind, name, version, arch.
    pub fn identity(&self) -> (ComponentKind, &str, &str, Option<&str>) {
        (self.kind, &self.name, &self.version, self.arch.as_deref())
    }

    /// A stable key used to sort and to build SBOM references.
    pub fn sort_key(&self) -> (ComponentKind, &str, &str, Option<&str>, &[String]) {
        (
            self.kind,
            &self.name,
            &self.version,
            self.arch.as_deref(),
            &self.evidence,
        )
    }
}

/// The operating system release, from `os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID`, e.g. `debian`, `alpine`, `rhel`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `3.19.1`.
    #[serde(rename = "versionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(rename = "versionCodename", skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(rename = "prettyName", skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    #[serde(rename = "idLike", default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// The file it was read from.
    pub evidence: String,
}

/// One layer of the image, base first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub index: u32,
    /// Digest of the blob as stored (compressed); absent for `dir:` sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Digest of the uncompressed tar (config `rootfs.diff_ids`).
    #[serde(rename = "diffId", skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<Digest>,
    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Size of the blob in bytes.
    pub size: u64,
    /// The history entry's `created_by`, when the config has one.
    #[serde(rename = "createdBy", skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Facts about the scanned image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The source as the user gave it (`oci-dir:…`, `registry:…`, …).
    pub source: String,
    /// Repository/tag name when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "manifestDigest", skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    #[serde(rename = "configDigest", skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// `os/arch[/variant]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The config's `created` timestamp (RFC 3339), as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl ImageInfo {
    /// The digest that names this image: the manifest digest, else the config
    /// digest (docker-archive without a manifest), else none (`dir:`).
    pub fn identity_digest(&self) -> Option<&Digest> {
        self.manifest_digest
            .as_ref()
            .or(self.config_digest.as_ref())
    }
}

/// Name and version of the tool that produced an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// A non-fatal problem met during the scan, kept in the output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

/// Everything a scan found, in deterministic order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Always [`INVENTORY_SCHEMA`]; reading any other value fails.
    pub schema: &'static str,
    pub tool: ToolInfo,
    pub image: ImageInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    pub layers: Vec<LayerInfo>,
    pub components: Vec<Component>,
    /// The entrypoint followed to the programs it runs (images with a config only).
    #[serde(rename = "entryTrace", skip_serializing_if = "Option::is_none")]
    pub entry_trace: Option<EntryTrace>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl<'de> Deserialize<'de> for Inventory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `schema` is a `&'static str` (what this build writes), so it is
        // read as a string and checked rather than borrowed.
        #[derive(Deserialize)]
        struct Wire {
            schema: String,
            tool: ToolInfo,
            image: ImageInfo,
            distro: Option<Distro>,
            layers: Vec<LayerInfo>,
            components: Vec<Component>,
            #[serde(rename = "entryTrace")]
            entry_trace: Option<EntryTrace>,
            #[serde(default)]
            warnings: Vec<Warning>,
        }
        let w = Wire::deserialize(d)?;
        if w.schema != INVENTORY_SCHEMA {
            return Err(serde::de::Error::custom(format!(
                "inventory schema {:?}, this build reads {INVENTORY_SCHEMA:?}",
                w.schema
            )));
        }
        Ok(Inventory {
            schema: INVENTORY_SCHEMA,
            tool: w.tool,
            image: w.image,
            distro: w.distro,
            layers: w.layers,
            components: w.components,
            entry_trace: w.entry_trace,
            warnings: w.warnings,
        })
    }
}

impl Inventory {
    /// Sorts components and warnings into their canonical order.
    pub fn canonicalize(&mut self) {
        self.components
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.warnings.sort();
        self.warnings.dedup();
    }
}
