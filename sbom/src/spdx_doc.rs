//! SPDX 2.3 JSON document model (only the parts we emit) and the mapping
//! from an [`Inventory`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use stella_model::{Component, Distro, Inventory};

use crate::ids;
use crate::license::{self, LicenseClass};
use crate::{SbomOptions, SpdxFile};

const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";

#[derive(Serialize)]
pub struct Document {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'static str,
    #[serde(rename = "dataLicense")]
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    #[serde(rename = "documentNamespace")]
    document_namespace: String,
    #[serde(rename = "creationInfo")]
    creation_info: CreationInfo,
    packages: Vec<Package>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<File>,
    #[serde(
        rename = "hasExtractedLicensingInfos",
        skip_serializing_if = "Vec::is_empty"
    )]
    extracted: Vec<ExtractedLicense>,
    relationships: Vec<Relationship>,
    /// The scan's warnings (unreadable package databases, skipped files):
    /// a partial SBOM says so inside itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
struct File {
    #[serde(rename = "fileName")]
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    checksums: Vec<Checksum>,
}

#[derive(Serialize)]
struct Checksum {
    algorithm: &'static str,
    #[serde(rename = "checksumValue")]
    value: String,
}

#[derive(Serialize)]
struct Annotation {
    annotator: String,
    #[serde(rename = "annotationDate")]
    date: String,
    #[serde(rename = "annotationType")]
    ty: &'static str,
    comment: String,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    #[serde(rename = "licenseListVersion")]
    license_list_version: String,
}

#[derive(Serialize)]
struct Package {
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(rename = "versionInfo", skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: String,
    #[serde(rename = "downloadLocation")]
    download_location: &'static str,
    #[serde(rename = "filesAnalyzed")]
    files_analyzed: bool,
    #[serde(rename = "sourceInfo", skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(rename = "licenseConcluded")]
    license_concluded: &'static str,
    #[serde(rename = "licenseDeclared")]
    license_declared: String,
    #[serde(rename = "copyrightText")]
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "externalRefs", skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(rename = "primaryPackagePurpose")]
    primary_package_purpose: &'static str,
}

impl Package {
    fn new(name: String, spdx_id: String, purpose: &'static str) -> Package {
        Package {
            name,
            spdx_id,
            version_info: None,
            supplier: NOASSERTION.to_string(),
            download_location: NOASSERTION,
            // Only package metadata is read, never the package's files.
            files_analyzed: false,
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_string(),
            copyright_text: NOASSERTION,
            description: None,
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose: purpose,
        }
    }
}

#[derive(Serialize)]
struct ExternalRef {
    #[serde(rename = "referenceCategory")]
    category: &'static str,
    #[serde(rename = "referenceType")]
    ty: &'static str,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

#[derive(Serialize)]
struct ExtractedLicense {
    #[serde(rename = "licenseId")]
    license_id: String,
    #[serde(rename = "extractedText")]
    extracted_text: String,
    name: String,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: String,
    #[serde(rename = "relationshipType")]
    ty: &'static str,
    #[serde(rename = "relatedSpdxElement")]
    related: String,
}

pub fn build_with_files(inv: &Inventory, opts: &SbomOptions, files: &[SpdxFile]) -> Document {
    let mut files: Vec<File> = files
        .iter()
        .map(|f| File {
            name: f.path.clone(),
            // Named after the path, so an id never depends on list order.
            spdx_id: format!("SPDXRef-File-{}", ids::short_hash(&[&f.path])),
            checksums: vec![
                Checksum {
                    algorithm: "SHA1",
                    value: f.sha1_hex.clone(),
                },
                Checksum {
                    algorithm: "SHA256",
                    value: f.sha256_hex.clone(),
                },
            ],
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files.dedup_by(|a, b| a.name == b.name);
    let license_refs = license_refs(inv);

    let mut packages = Vec::with_capacity(inv.components.len() + 2);
    packages.push(image_package(inv));
    if let Some(distro) = &inv.distro {
        packages.push(os_package(distro));
    }
    let mut used_ids: BTreeSet<String> = BTreeSet::new();
    for c in &inv.components {
        packages.push(component_package(c, &license_refs, &mut used_ids));
    }

    let mut relationships = vec![Relationship {
        element: DOCUMENT_ID.to_string(),
        ty: "DESCRIBES",
        related: IMAGE_ID.to_string(),
    }];
    relationships.extend(
        packages
            .iter()
            .filter(|p| p.spdx_id != IMAGE_ID)
            .map(|p| Relationship {
                element: IMAGE_ID.to_string(),
                ty: "CONTAINS",
                related: p.spdx_id.clone(),
            }),
    );
    relationships.sort();

    let mut extracted: Vec<ExtractedLicense> = license_refs
        .iter()
        .map(|(raw, id)| ExtractedLicense {
            license_id: id.clone(),
            extracted_text: raw.clone(),
            name: raw.clone(),
        })
        .collect();
    extracted.sort_by(|a, b| a.license_id.cmp(&b.license_id));

    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT_ID,
        name: image_name(inv),
        document_namespace: document_namespace(inv, &opts.tool_version),
        creation_info: CreationInfo {
            created: opts.timestamp.clone(),
            creators: vec![
                format!("Tool: stella-{}", opts.tool_version),
                "Organization: Stella".to_string(),
            ],
            license_list_version: license_list_version(),
        },
        packages,
        files,
        extracted,
        relationships,
        annotations: inv
            .warnings
            .iter()
            .map(|w| Annotation {
                annotator: format!("Tool: stella-{}", opts.tool_version),
                date: opts.timestamp.clone(),
                ty: "OTHER",
                comment: crate::warning_text(w),
            })
            .collect(),
    }
}

fn image_name(inv: &Inventory) -> String {
    inv.image
        .name
        .clone()
        .unwrap_or_else(|| inv.image.source.clone())
}

/// `https://stella-ops.org/spdx/<image name or "dir">/<identity digest, or
/// the document UUIDv5 when there is none>`.
fn document_namespace(inv: &Inventory, tool_version: &str) -> String {
    let name = inv.image.name.as_deref().unwrap_or("dir");
    let tail = match inv.image.identity_digest() {
        Some(d) => d.to_string(),
        None => ids::document_uuid(inv, tool_version)
            .hyphenated()
            .to_string(),
    };
    format!(
        "https://stella-ops.org/spdx/{}/{}",
        ids::uri_path_encode(name),
        ids::uri_path_encode(&tail)
    )
}

/// SPDX wants `M.N`; the spdx crate reports `M.N.P`.
fn license_list_version() -> String {
    spdx::license_version()
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

fn image_package(inv: &Inventory) -> Package {
    let img = &inv.image;
    let mut p = Package::new(image_name(inv), IMAGE_ID.to_string(), "CONTAINER");
    p.version_info = img.identity_digest().map(ToString::to_string);
    let mut facts = vec![format!("source: {}", img.source)];
    if let Some(d) = &img.manifest_digest {
        facts.push(format!("manifest digest: {d}"));
    }
    if let Some(d) = &img.config_digest {
        facts.push(format!("config digest: {d}"));
    }
    if let Some(platform) = &img.platform {
        facts.push(format!("platform: {platform}"));
    }
    for layer in &inv.layers {
        let mut s = format!("layer {}:", layer.index);
        if let Some(d) = &layer.diff_id {
            s.push_str(&format!(" diffID {d}"));
        }
        if let Some(d) = &layer.digest {
            s.push_str(&format!(" digest {d}"));
        }
        facts.push(s);
    }
    p.comment = Some(facts.join("; "));
    p
}

fn os_package(distro: &Distro) -> Package {
    let mut p = Package::new(distro.id.clone(), OS_ID.to_string(), "OPERATING-SYSTEM");
    p.version_info = distro.version_id.clone();
    p.description = distro.pretty_name.clone();
    if !distro.evidence.is_empty() {
        p.source_info = Some(format!("evidence: {}", rooted(&distro.evidence)));
    }
    p
}

fn component_package(
    c: &Component,
    license_refs: &BTreeMap<String, String>,
    used_ids: &mut BTreeSet<String>,
) -> Package {
    let base = format!(
        "SPDXRef-Package-{}-{}-{}",
        c.kind.as_str(),
        ids::sanitize_idstring(&c.name),
        ids::component_hash(c)
    );
    // Identical sort keys give identical hashes; a counter keeps them apart.
    let mut spdx_id = base.clone();
    let mut n = 2u32;
    while used_ids.contains(&spdx_id) {
        spdx_id = format!("{base}-{n}");
        n += 1;
    }
    used_ids.insert(spdx_id.clone());

    let mut p = Package::new(c.name.clone(), spdx_id, "LIBRARY");
    p.version_info = Some(c.version.clone());
    if let Some(s) = &c.supplier {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if !s.is_empty() {
            p.supplier = format!("Organization: {s}");
        }
    }
    p.license_declared = declared_license(&c.licenses, license_refs);
    p.source_info = source_info(c);
    if let Some(purl) = &c.purl {
        p.external_refs.push(ExternalRef {
            category: "PACKAGE-MANAGER",
            ty: "purl",
            locator: purl.to_string(),
        });
    }
    p
}

/// All parts joined with `AND`; non-SPDX strings become their `LicenseRef-`.
fn declared_license(raw: &[String], license_refs: &BTreeMap<String, String>) -> String {
    let classes = license::classified(raw);
    if classes.is_empty() {
        return NOASSERTION.to_string();
    }
    // Every Other string has a ref (license_refs saw the same components);
    // should one be missing, NOASSERTION beats an invalid expression.
    let texts: Option<Vec<&str>> = classes
        .iter()
        .map(|class| match class {
            LicenseClass::Id(s) | LicenseClass::Expression(s) => Some(s.as_str()),
            LicenseClass::Other(s) => license_refs.get(s).map(String::as_str),
        })
        .collect();
    texts.map_or_else(|| NOASSERTION.to_string(), license::and_join)
}

/// Raw non-SPDX license string → its `LicenseRef-` id, for the whole
/// document. Ids come from the sanitized text; when two different strings
/// sanitize to the same id (compared case-insensitively), each of them gets a
/// short hash of its raw text appended, so the result does not depend on
/// which other strings happen to be in the inventory order.
fn license_refs(inv: &Inventory) -> BTreeMap<String, String> {
    let others: BTreeSet<String> = inv
        .components
        .iter()
        .flat_map(|c| license::classified(&c.licenses))
        .filter_map(|class| match class {
            LicenseClass::Other(s) => Some(s),
            _ => None,
        })
        .collect();
    let sanitized =
        |raw: &str| ids::sanitize_idstring(raw.strip_prefix("LicenseRef-").unwrap_or(raw));
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for raw in &others {
        *groups
            .entry(sanitized(raw).to_ascii_lowercase())
            .or_default() += 1;
    }
    others
        .into_iter()
        .map(|raw| {
            let s = sanitized(&raw);
            let id = if groups.get(&s.to_ascii_lowercase()).copied().unwrap_or(0) > 1 {
                format!("LicenseRef-{s}-{}", ids::short_hash(&[&raw]))
            } else {
                format!("LicenseRef-{s}")
            };
            (raw, id)
        })
        .collect()
}

/// "built from source package X version Y; introduced by layer N (diffID D);
/// evidence: /path, /path".
fn source_info(c: &Component) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(src) = &c.source {
        parts.push(format!(
            "built from source package {} version {}",
            src.name, src.version
        ));
    }
    match (c.layer, &c.layer_diff_id) {
        (Some(i), Some(d)) => parts.push(format!("introduced by layer {i} (diffID {d})")),
        (Some(i), None) => parts.push(format!("introduced by layer {i}")),
        (None, Some(d)) => parts.push(format!("introduced by layer with diffID {d}")),
        (None, None) => {}
    }
    if !c.evidence.is_empty() {
        let paths: Vec<String> = c.evidence.iter().map(|p| rooted(p)).collect();
        parts.push(format!("evidence: {}", paths.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn rooted(path: &str) -> String {
    format!("/{}", path.trim_start_matches('/'))
}
