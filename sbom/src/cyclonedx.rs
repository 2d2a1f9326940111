//! CycloneDX 1.6 JSON document model (only the parts we emit) and the
//! mapping from an [`Inventory`]. Field order follows the schema's order so
//! the output reads like other CycloneDX producers'.

use std::collections::BTreeSet;

use serde::Serialize;
use stella_model::{Component, Distro, Finding, Inventory};

use crate::ids;
use crate::license::{self, LicenseClass};
use crate::{SbomError, SbomOptions};

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

#[derive(Serialize)]
pub struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<CdxComponent>,
    dependencies: Vec<Dependency>,
    /// Findings (only with `--feeds`): absent otherwise, so an SBOM without
    /// findings keeps its bytes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<crate::vulnerabilities::Vulnerability>,
    /// The scan's warnings, each about the image (a partial SBOM says so).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

#[derive(Serialize)]
struct Annotation {
    subjects: Vec<String>,
    annotator: Annotator,
    timestamp: String,
    text: String,
}

#[derive(Serialize)]
struct Annotator {
    component: CdxComponent,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: CdxComponent,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<CdxComponent>,
}

#[derive(Serialize)]
struct CdxComponent {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

impl CdxComponent {
    fn new(ty: &'static str, name: String) -> CdxComponent {
        CdxComponent {
            ty,
            bom_ref: None,
            supplier: None,
            name,
            version: None,
            description: None,
            licenses: Vec::new(),
            purl: None,
            properties: Vec::new(),
            evidence: None,
        }
    }
}

#[derive(Serialize)]
struct Supplier {
    name: String,
}

/// The schema's `licenseChoice`: either a list of `{license}` objects or a
/// single `{expression}`, never mixed.
#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: License },
    Expression { expression: String },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct Evidence {
    occurrences: Vec<Occurrence>,
}

#[derive(Serialize)]
struct Occurrence {
    location: String,
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn", skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
}

pub fn build(inv: &Inventory, opts: &SbomOptions) -> Bom {
    let mut used = BTreeSet::new();
    let (bom, _) = build_components(inv, opts, &mut used);
    bom
}

/// [`build`] plus a `vulnerabilities` entry per finding.
pub fn build_with_findings(
    inv: &Inventory,
    opts: &SbomOptions,
    findings: &[Finding],
) -> Result<Bom, SbomError> {
    let mut used = BTreeSet::new();
    let (mut bom, refs) = build_components(inv, opts, &mut used);
    bom.vulnerabilities =
        crate::vulnerabilities::build(findings, &inv.components, &refs, &mut used)?;
    Ok(bom)
}

/// The document without vulnerabilities, and the bom-ref of each
/// inventory component (same order as `inv.components`).
fn build_components(
    inv: &Inventory,
    opts: &SbomOptions,
    used: &mut BTreeSet<String>,
) -> (Bom, Vec<String>) {
    let image = image_component(inv);
    let image_ref = image.bom_ref.clone().unwrap_or_default();
    // Every bom-ref handed out so far, so later ones can be made unique.
    used.insert(image_ref.clone());

    let mut components = Vec::with_capacity(inv.components.len() + 1);
    if let Some(distro) = &inv.distro {
        components.push(os_component(distro, used));
    }
    let mut refs = Vec::with_capacity(inv.components.len());
    for c in &inv.components {
        let component = package_component(c, used);
        refs.push(component.bom_ref.clone().unwrap_or_default());
        components.push(component);
    }

    let mut depends_on: Vec<String> = components
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    depends_on.sort();

    let tool = || {
        let mut tool = CdxComponent::new("application", "stella".to_string());
        tool.version = Some(opts.tool_version.clone());
        tool
    };
    let annotations = inv
        .warnings
        .iter()
        .map(|w| Annotation {
            subjects: vec![image_ref.clone()],
            annotator: Annotator { component: tool() },
            timestamp: opts.timestamp.clone(),
            text: crate::warning_text(w),
        })
        .collect();

    let bom = Bom {
        schema: SCHEMA,
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!(
            "urn:uuid:{}",
            ids::document_uuid(inv, &opts.tool_version).hyphenated()
        ),
        version: 1,
        metadata: Metadata {
            timestamp: opts.timestamp.clone(),
            tools: Tools {
                components: vec![tool()],
            },
            component: image,
        },
        components,
        dependencies: vec![Dependency {
            reference: image_ref,
            depends_on,
        }],
        vulnerabilities: Vec::new(),
        annotations,
    };
    (bom, refs)
}

fn image_component(inv: &Inventory) -> CdxComponent {
    let img = &inv.image;
    let name = img.name.clone().unwrap_or_else(|| img.source.clone());
    let mut c = CdxComponent::new("container", name);
    c.bom_ref = Some(format!("image:{}", ids::image_identity(inv)));
    c.version = img.identity_digest().map(ToString::to_string);

    let mut props = vec![prop("stella:image:source", &img.source)];
    let optional = [
        (
            "stella:image:manifestDigest",
            img.manifest_digest.as_ref().map(ToString::to_string),
        ),
        (
            "stella:image:configDigest",
            img.config_digest.as_ref().map(ToString::to_string),
        ),
        ("stella:image:platform", img.platform.clone()),
        ("stella:image:created", img.created.clone()),
    ];
    props.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| prop(k, &v))),
    );
    for layer in &inv.layers {
        if let Some(d) = &layer.diff_id {
            props.push(prop(
                &format!("stella:layer:{}:diffID", layer.index),
                &d.to_string(),
            ));
        }
        if let Some(d) = &layer.digest {
            props.push(prop(
                &format!("stella:layer:{}:digest", layer.index),
                &d.to_string(),
            ));
        }
    }
    c.properties = sorted(props);
    c
}

fn os_component(distro: &Distro, used: &mut BTreeSet<String>) -> CdxComponent {
    let mut c = CdxComponent::new("operating-system", distro.id.clone());
    let base = match &distro.version_id {
        Some(v) => format!("os:{}@{}", distro.id, v),
        None => format!("os:{}", distro.id),
    };
    c.bom_ref = Some(unique_ref(base, used));
    c.version = distro.version_id.clone();
    c.description = distro.pretty_name.clone();
    let mut props = Vec::new();
    if let Some(code) = &distro.version_codename {
        props.push(prop("stella:distro:versionCodename", code));
    }
    if !distro.id_like.is_empty() {
        props.push(prop("stella:distro:idLike", &distro.id_like.join(" ")));
    }
    c.properties = sorted(props);
    c.evidence = evidence(std::slice::from_ref(&distro.evidence));
    c
}

fn package_component(comp: &Component, used: &mut BTreeSet<String>) -> CdxComponent {
    let mut c = CdxComponent::new("library", comp.name.clone());
    let purl = comp.purl.as_ref().map(ToString::to_string);
    let base = purl.clone().unwrap_or_else(|| {
        let mut r = format!(
            "component:{}:{}@{}",
            comp.kind.as_str(),
            comp.name,
            comp.version
        );
        if let Some(arch) = &comp.arch {
            r.push(':');
            r.push_str(arch);
        }
        r
    });
    c.bom_ref = Some(unique_ref(base, used));
    c.supplier = comp
        .supplier
        .as_ref()
        .map(|name| Supplier { name: name.clone() });
    c.version = Some(comp.version.clone());
    c.licenses = licenses(&comp.licenses);
    c.purl = purl;

    let mut props = vec![prop("stella:package:type", comp.kind.as_str())];
    if let Some(arch) = &comp.arch {
        props.push(prop("stella:package:arch", arch));
    }
    if let Some(src) = &comp.source {
        props.push(prop("stella:source:name", &src.name));
        props.push(prop("stella:source:version", &src.version));
    }
    if let Some(layer) = comp.layer {
        props.push(prop("stella:layer:index", &layer.to_string()));
    }
    if let Some(d) = &comp.layer_diff_id {
        props.push(prop("stella:layer:diffID", &d.to_string()));
    }
    props.extend(comp.properties.iter().map(|(k, v)| prop(k, v)));
    c.properties = sorted(props);
    c.evidence = evidence(&comp.evidence);
    c
}

/// See `docs/formats.md` ("Licenses") for the rules.
fn licenses(raw: &[String]) -> Vec<LicenseChoice> {
    let classes = license::classified(raw);
    let all_ids = classes.iter().all(|c| matches!(c, LicenseClass::Id(_)));
    if !all_ids {
        // One expression item is the only way to carry a compound expression.
        if let Some(expression) = license::combined_expression(&classes) {
            return vec![LicenseChoice::Expression { expression }];
        }
    }
    classes
        .into_iter()
        .map(|class| {
            let license = match class {
                LicenseClass::Id(id) => License {
                    id: Some(id),
                    name: None,
                },
                LicenseClass::Expression(s) | LicenseClass::Other(s) => License {
                    id: None,
                    name: Some(s),
                },
            };
            LicenseChoice::License { license }
        })
        .collect()
}

/// `base`, or `base#2`, `base#3`, … — the first one not yet used. Inputs
/// arrive in canonical order, so the suffixes are stable.
pub(crate) fn unique_ref(base: String, used: &mut BTreeSet<String>) -> String {
    let mut candidate = base.clone();
    let mut n = 2u32;
    while used.contains(&candidate) {
        candidate = format!("{base}#{n}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

fn evidence(paths: &[String]) -> Option<Evidence> {
    let mut seen = BTreeSet::new();
    let occurrences: Vec<Occurrence> = paths
        .iter()
        .map(|p| format!("/{}", p.trim_start_matches('/')))
        .filter(|loc| loc.len() > 1 && seen.insert(loc.clone()))
        .map(|location| Occurrence { location })
        .collect();
    (!occurrences.is_empty()).then_some(Evidence { occurrences })
}

pub(crate) fn prop(name: &str, value: &str) -> Property {
    Property {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Sorted by name (then value), exact duplicates dropped.
fn sorted(mut props: Vec<Property>) -> Vec<Property> {
    props.sort();
    props.dedup();
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(choices: &[LicenseChoice]) -> String {
        serde_json::to_string(choices).unwrap_or_default()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn license_choices() {
        assert_eq!(
            json(&licenses(&strings(&["MIT"]))),
            r#"[{"license":{"id":"MIT"}}]"#
        );
        assert_eq!(
            json(&licenses(&strings(&["MIT", "Zlib"]))),
            r#"[{"license":{"id":"MIT"}},{"license":{"id":"Zlib"}}]"#
        );
        assert_eq!(
            json(&licenses(&strings(&["GPL-2.0-only OR MIT"]))),
            r#"[{"expression":"GPL-2.0-only OR MIT"}]"#
        );
        assert_eq!(
            json(&licenses(&strings(&["Zlib", "GPL-2.0-only OR MIT"]))),
            r#"[{"expression":"Zlib AND (GPL-2.0-only OR MIT)"}]"#
        );
        assert_eq!(
            json(&licenses(&strings(&["GPLv2+"]))),
            r#"[{"license":{"name":"GPLv2+"}}]"#
        );
        assert_eq!(
            json(&licenses(&strings(&[
                "MIT",
                "MIT and BSD",
                "GPL-2.0-only OR MIT"
            ]))),
            r#"[{"license":{"id":"MIT"}},{"license":{"name":"MIT and BSD"}},{"license":{"name":"GPL-2.0-only OR MIT"}}]"#
        );
        assert_eq!(json(&licenses(&[])), "[]");
    }

    #[test]
    fn refs_are_made_unique() {
        let mut used = BTreeSet::new();
        assert_eq!(unique_ref("a".into(), &mut used), "a");
        assert_eq!(unique_ref("a".into(), &mut used), "a#2");
        assert_eq!(unique_ref("a".into(), &mut used), "a#3");
        assert_eq!(unique_ref("b".into(), &mut used), "b");
    }
}
