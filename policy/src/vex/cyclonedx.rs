//! CycloneDX VEX (spec 1.4–1.6): `vulnerabilities[]` with `analysis` and
//! `affects[].ref`.
//!
//! | CycloneDX `analysis.state` | VEX state |
//! |---|---|
//! | `resolved`, `resolved_with_pedigree` | fixed |
//! | `not_affected`, `false_positive` | not_affected |
//! | `exploitable` | affected |
//! | `in_triage` | under_investigation |
//!
//! An `affects[]` item with `versions` applies only to the versions it
//! lists whose `status` agrees with the state (`unaffected` for
//! not_affected/fixed, `affected` — the default — for exploitable,
//! `unknown` for in_triage); `range` items are reported, not applied.
//!
//! `affects[].ref` is resolved through the BOM's own `bom-ref`s
//! (`components`, nested, and `metadata.component`) to a purl; a BOM-Link
//! (`urn:cdx:SERIAL/VERSION#REF`) to another BOM is resolved by its
//! fragment when that is a purl; a ref that is itself a purl or an image
//! digest is taken as is.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use stella_model::{Digest, VexState};

use super::product::{identify, Identified, ProductId, VexProduct};
use super::{
    kind_of, short, short_str, Timestamp, VexDocument, VexError, VexFormat, VexStatement,
    VexWarning, WarningKind, MAX_PRODUCTS, MAX_STATEMENTS,
};

/// `analysis.justification` values (CycloneDX 1.4–1.6 `impactAnalysisJustification`).
pub const JUSTIFICATIONS: [&str; 9] = [
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
];

/// Spec versions that define `vulnerabilities[].analysis`.
const SPEC_VERSIONS: [&str; 3] = ["1.4", "1.5", "1.6"];

/// Nesting of `components` followed when collecting bom-refs.
const MAX_COMPONENT_DEPTH: usize = 32;

fn invalid(reason: impl Into<String>) -> VexError {
    VexError::Invalid {
        format: VexFormat::CycloneDx,
        reason: reason.into(),
    }
}

fn string<'a>(object: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("{key} is {}, not a string", kind_of(v))),
    }
}

fn time(object: &Map<String, Value>, key: &str) -> Result<Option<Timestamp>, String> {
    match string(object, key)? {
        None => Ok(None),
        Some(s) => Timestamp::parse(s)
            .map(Some)
            .ok_or_else(|| format!("{key} {} is not an RFC 3339 date-time", short_str(s))),
    }
}

/// The state a CycloneDX `analysis.state` maps to.
pub fn map_state(state: &str) -> Option<VexState> {
    Some(match state {
        "resolved" | "resolved_with_pedigree" => VexState::Fixed,
        "not_affected" | "false_positive" => VexState::NotAffected,
        "exploitable" => VexState::Affected,
        "in_triage" => VexState::UnderInvestigation,
        _ => return None,
    })
}

pub(crate) fn parse(root: &Map<String, Value>, digest: Digest) -> Result<VexDocument, VexError> {
    match root.get("specVersion") {
        Some(Value::String(v)) if SPEC_VERSIONS.contains(&v.as_str()) => {}
        Some(v) => {
            return Err(invalid(format!(
                "specVersion {} has no VEX (expected {})",
                short(v),
                SPEC_VERSIONS.join(", ")
            )))
        }
        None => return Err(invalid("specVersion is missing")),
    }
    let serial = string(root, "serialNumber").map_err(invalid)?;
    let metadata = match root.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(v) => return Err(invalid(format!("metadata is {}", kind_of(v)))),
    };
    let document_time = match metadata {
        Some(m) => time(m, "timestamp").map_err(|why| invalid(format!("metadata.{why}")))?,
        None => None,
    };
    let vulnerabilities = match root.get("vulnerabilities") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) | None => {
            return Err(invalid(
                "no vulnerabilities: an SBOM without VEX statements",
            ))
        }
        Some(v) => {
            return Err(invalid(format!(
                "vulnerabilities is {}, not an array",
                kind_of(v)
            )))
        }
    };
    if vulnerabilities.len() > MAX_STATEMENTS {
        return Err(invalid(format!(
            "{} vulnerabilities, over the limit of {MAX_STATEMENTS}",
            vulnerabilities.len()
        )));
    }
    let has_analysis = |v: &Value| v.get("analysis").and_then(|a| a.get("state")).is_some();
    if !vulnerabilities.iter().any(has_analysis) {
        return Err(invalid(
            "no vulnerability has analysis.state: a vulnerability report, not VEX",
        ));
    }
    let mut refs = BTreeMap::new();
    if let Some(component) = metadata.and_then(|m| m.get("component")) {
        collect_refs(std::slice::from_ref(component), 0, &mut refs);
    }
    if let Some(Value::Array(components)) = root.get("components") {
        collect_refs(components, 0, &mut refs);
    }
    let resolver = Resolver {
        serial,
        refs: &refs,
    };
    let mut doc = VexDocument {
        format: VexFormat::CycloneDx,
        digest,
        id: serial.map(str::to_string),
        timestamp: document_time.clone(),
        statements: Vec::new(),
        warnings: Vec::new(),
    };
    for (index, value) in vulnerabilities.iter().enumerate() {
        let mut notes = Vec::new();
        if !has_analysis(value) {
            doc.warnings.push(VexWarning {
                statement: Some(index),
                kind: WarningKind::Note,
                message: "no analysis.state: not a VEX statement (ignored)".into(),
            });
            continue;
        }
        let result = statement(index, value, &resolver, document_time.as_ref(), &mut notes);
        doc.keep(index, result, notes);
    }
    Ok(doc)
}

/// bom-ref → the component's identifier (its purl), over nested components.
fn collect_refs(components: &[Value], depth: usize, refs: &mut BTreeMap<String, Option<String>>) {
    if depth > MAX_COMPONENT_DEPTH {
        return;
    }
    for c in components {
        let Value::Object(c) = c else { continue };
        if let Some(Value::String(bom_ref)) = c.get("bom-ref") {
            let purl = c.get("purl").and_then(Value::as_str).map(str::to_string);
            refs.entry(bom_ref.clone()).or_insert(purl);
        }
        if let Some(Value::Array(children)) = c.get("components") {
            collect_refs(children, depth + 1, refs);
        }
    }
}

/// The `affects[].versions` status that agrees with a statement's state:
/// a `not_affected` analysis applies to the versions listed `unaffected`,
/// an `exploitable` one to those listed `affected` (the default status),
/// `in_triage` to `unknown` ones.
fn status_for(state: VexState) -> &'static str {
    match state {
        VexState::NotAffected | VexState::Fixed => "unaffected",
        VexState::Affected => "affected",
        VexState::UnderInvestigation => "unknown",
    }
}

/// A product narrowed by `affects[].versions`: one product per listed
/// `version` whose status agrees with the statement's state, and why each
/// other item was not applied. Version ranges (`range`, in `vers:` syntax)
/// are not evaluated: such items are reported and skipped, so a statement
/// never reaches versions it may not mean.
fn narrow_to_versions(
    id: &ProductId,
    versions: &Value,
    state: VexState,
) -> (Vec<ProductId>, Vec<String>) {
    let mut products = Vec::new();
    let mut notes = Vec::new();
    let Value::Array(items) = versions else {
        notes.push(format!(
            "versions is {}, not an array: ignored",
            kind_of(versions)
        ));
        return (products, notes);
    };
    let ProductId::Package(pattern) = id else {
        notes.push("versions of an image ref are not applied".to_string());
        return (products, notes);
    };
    if items.len() > MAX_PRODUCTS {
        notes.push(format!(
            "versions: {} items, over the limit of {MAX_PRODUCTS}: ignored",
            items.len()
        ));
        return (products, notes);
    }
    let wanted = status_for(state);
    for (j, item) in items.iter().enumerate() {
        let status = item
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("affected");
        let version = item.get("version").and_then(Value::as_str);
        if version.is_none() {
            let what = if item.get("range").is_some() {
                "a version range (vers ranges are not evaluated)"
            } else {
                "neither a version nor a range"
            };
            notes.push(format!("versions[{j}] not applied: {what}"));
            continue;
        }
        let version = version.unwrap_or_default();
        if status != wanted {
            notes.push(format!(
                "versions[{j}] not applied: {} is {}, the analysis speaks of {wanted} versions",
                short_str(version),
                short_str(status)
            ));
            continue;
        }
        match pattern.version() {
            Some(named) if named != version => notes.push(format!(
                "versions[{j}] not applied: {} is not the ref's version {}",
                short_str(version),
                short_str(named)
            )),
            Some(_) => products.push(id.clone()),
            None => products.push(ProductId::Package(pattern.with_version(version))),
        }
    }
    (products, notes)
}

struct Resolver<'a> {
    serial: Option<&'a str>,
    refs: &'a BTreeMap<String, Option<String>>,
}

impl Resolver<'_> {
    /// The identifier an `affects[].ref` stands for, or why it has none.
    fn resolve(&self, reference: &str) -> Result<String, String> {
        if let Some(found) = self.refs.get(reference) {
            return found.clone().ok_or_else(|| {
                format!(
                    "ref {} names a component without a purl",
                    short_str(reference)
                )
            });
        }
        if let Some(link) = reference.strip_prefix("urn:cdx:") {
            let Some((bom, fragment)) = link.split_once('#') else {
                return Err(format!(
                    "BOM-Link {} names a whole BOM, not a component",
                    short_str(reference)
                ));
            };
            let fragment = percent_decode(fragment).unwrap_or_else(|| fragment.to_string());
            let same_bom = self
                .serial
                .and_then(|s| s.strip_prefix("urn:uuid:"))
                .is_some_and(|uuid| bom.split('/').next() == Some(uuid));
            if same_bom {
                if let Some(found) = self.refs.get(&fragment) {
                    return found.clone().ok_or_else(|| {
                        format!(
                            "ref {} names a component without a purl",
                            short_str(reference)
                        )
                    });
                }
            }
            // Another BOM: usable when its bom-refs are purls (Stella's, syft's).
            return Ok(fragment);
        }
        Ok(reference.to_string())
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn statement(
    index: usize,
    value: &Value,
    resolver: &Resolver<'_>,
    document_time: Option<&Timestamp>,
    notes: &mut Vec<String>,
) -> Result<VexStatement, String> {
    let Value::Object(v) = value else {
        return Err(format!("is {}, not an object", kind_of(value)));
    };
    let id = match string(v, "id")? {
        Some(id) => id.trim().to_string(),
        None => return Err("id is missing".into()),
    };
    let at = |why: String| format!("{id}: {why}");
    let aliases = match v.get("references") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_str))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(other) => {
            return Err(at(format!(
                "references is {}, not an array",
                kind_of(other)
            )))
        }
    };
    let Some(Value::Object(analysis)) = v.get("analysis") else {
        return Err(at("analysis is not an object".into()));
    };
    let state_text = string(analysis, "state").map_err(at)?.unwrap_or_default();
    let state = map_state(state_text).ok_or_else(|| {
        at(format!(
            "unknown analysis.state {} (expected resolved, resolved_with_pedigree, exploitable, in_triage, false_positive or not_affected)",
            short_str(state_text)
        ))
    })?;
    let justification = string(analysis, "justification").map_err(at)?;
    if let Some(j) = justification {
        if !JUSTIFICATIONS.contains(&j) {
            return Err(at(format!(
                "unknown analysis.justification {} (expected one of {})",
                short_str(j),
                JUSTIFICATIONS.join(", ")
            )));
        }
    }
    let detail = string(analysis, "detail").map_err(at)?;
    let recommendation = string(v, "recommendation").map_err(at)?;
    // The analysis's own time, else the vulnerability's, else the BOM's.
    let timestamp = [
        time(analysis, "lastUpdated"),
        time(analysis, "firstIssued"),
        time(v, "updated"),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(at)?
    .into_iter()
    .flatten()
    .next()
    .or_else(|| document_time.cloned());
    let affects = match v.get("affects") {
        Some(Value::Array(list)) if list.len() > MAX_PRODUCTS => {
            return Err(at(format!(
                "{} affects, over the limit of {MAX_PRODUCTS}",
                list.len()
            )))
        }
        Some(Value::Array(list)) => list.as_slice(),
        None | Some(Value::Null) => &[],
        Some(other) => return Err(at(format!("affects is {}, not an array", kind_of(other)))),
    };
    let mut products = Vec::new();
    for (i, a) in affects.iter().enumerate() {
        let Some(reference) = a.get("ref").and_then(Value::as_str) else {
            notes.push(at(format!("affects[{i}] ignored: no ref")));
            continue;
        };
        let resolved = match resolver.resolve(reference) {
            Ok(r) => r,
            Err(why) => {
                notes.push(at(format!("affects[{i}] ignored: {why}")));
                continue;
            }
        };
        match identify(&resolved) {
            Identified::Id(id) => match a.get("versions") {
                None | Some(Value::Null) => products.push(VexProduct {
                    ids: vec![id],
                    subcomponents: Vec::new(),
                }),
                Some(versions) => {
                    let (narrowed, why_not) = narrow_to_versions(&id, versions, state);
                    products.extend(narrowed.into_iter().map(|id| VexProduct {
                        ids: vec![id],
                        subcomponents: Vec::new(),
                    }));
                    notes.extend(
                        why_not
                            .into_iter()
                            .map(|why| at(format!("affects[{i}].{why}"))),
                    );
                }
            },
            Identified::Unusable(why) => notes.push(at(format!("affects[{i}] ignored: {why}"))),
        }
    }
    // Empty: nothing Stella can match (the caller notes it).
    products.dedup();
    Ok(VexStatement {
        index,
        vulnerability: id.clone(),
        aliases,
        products,
        state,
        justification: justification.map(str::to_string),
        impact_statement: detail.map(str::to_string),
        action_statement: recommendation.map(str::to_string),
        timestamp,
    })
}
