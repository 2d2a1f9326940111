//! OpenVEX (v0.2.0 and the earlier draft form the spec's README shows:
//! `"vulnerability": "CVE-…"`, products as plain strings, `version` as a
//! string).

use serde_json::{Map, Value};
use stella_model::{Digest, VexState};

use super::product::{identify, Identified, ProductId, PurlPattern, VexProduct};
use super::{
    kind_of, short, short_str, Timestamp, VexDocument, VexError, VexFormat, VexStatement,
    MAX_PRODUCTS, MAX_STATEMENTS,
};

/// Every OpenVEX context (`https://openvex.dev/ns`, `…/ns/v0.2.0`) starts so.
pub(crate) const CONTEXT_PREFIX: &str = "https://openvex.dev/ns";

/// The justification labels of the VEX working group that OpenVEX adopts.
pub const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

fn invalid(reason: impl Into<String>) -> VexError {
    VexError::Invalid {
        format: VexFormat::OpenVex,
        reason: reason.into(),
    }
}

/// A required non-empty string field of the document.
fn required_string<'a>(root: &'a Map<String, Value>, key: &str) -> Result<&'a str, VexError> {
    match root.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(invalid(format!("{key} is empty"))),
        Some(v) => Err(invalid(format!("{key} is {}, not a string", kind_of(v)))),
        None => Err(invalid(format!("{key} is missing"))),
    }
}

/// An optional string field; `Err` names a field of the wrong type.
fn optional_string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("{key} is {}, not a string", kind_of(v))),
    }
}

fn optional_time(object: &Map<String, Value>, key: &str) -> Result<Option<Timestamp>, String> {
    match optional_string(object, key)? {
        None => Ok(None),
        Some(s) => Timestamp::parse(s)
            .map(Some)
            .ok_or_else(|| format!("{key} {} is not an RFC 3339 date-time", short_str(s))),
    }
}

pub(crate) fn parse(root: &Map<String, Value>, digest: Digest) -> Result<VexDocument, VexError> {
    let id = required_string(root, "@id")?;
    required_string(root, "author")?;
    let timestamp_text = required_string(root, "timestamp")?;
    let timestamp = Timestamp::parse(timestamp_text).ok_or_else(|| {
        invalid(format!(
            "timestamp {} is not an RFC 3339 date-time",
            short_str(timestamp_text)
        ))
    })?;
    match root.get("version") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| v >= 1) => {}
        // The draft form (README example: "version": "1").
        Some(Value::String(s)) if s.parse::<u64>().is_ok_and(|v| v >= 1) => {}
        Some(v) => {
            return Err(invalid(format!(
                "version is {}, not an integer ≥ 1",
                short(v)
            )))
        }
        None => return Err(invalid("version is missing")),
    }
    let statements = match root.get("statements") {
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(invalid("statements is empty (at least one is required)"))
        }
        Some(Value::Array(list)) => list,
        Some(v) => {
            return Err(invalid(format!(
                "statements is {}, not an array",
                kind_of(v)
            )))
        }
        None => return Err(invalid("statements is missing")),
    };
    if statements.len() > MAX_STATEMENTS {
        return Err(invalid(format!(
            "{} statements, over the limit of {MAX_STATEMENTS}",
            statements.len()
        )));
    }
    let mut doc = VexDocument {
        format: VexFormat::OpenVex,
        digest,
        id: Some(id.to_string()),
        timestamp: Some(timestamp.clone()),
        statements: Vec::new(),
        warnings: Vec::new(),
    };
    for (index, value) in statements.iter().enumerate() {
        let mut notes = Vec::new();
        let result = statement(index, value, &timestamp, &mut notes);
        doc.keep(index, result, notes);
    }
    Ok(doc)
}

/// One statement, or why it is skipped. `notes` collects what was ignored
/// inside a statement that is kept.
fn statement(
    index: usize,
    value: &Value,
    document_time: &Timestamp,
    notes: &mut Vec<String>,
) -> Result<VexStatement, String> {
    let Value::Object(s) = value else {
        return Err(format!("is {}, not an object", kind_of(value)));
    };
    let (vulnerability, aliases) = vulnerability(s.get("vulnerability"))?;
    let at = |why: String| format!("{vulnerability}: {why}");
    let status = match s.get("status") {
        Some(Value::String(status)) => status.as_str(),
        Some(v) => return Err(at(format!("status is {}, not a string", kind_of(v)))),
        None => return Err(at("status is missing".into())),
    };
    let state = match status {
        "not_affected" => VexState::NotAffected,
        "affected" => VexState::Affected,
        "fixed" => VexState::Fixed,
        "under_investigation" => VexState::UnderInvestigation,
        other => {
            return Err(at(format!(
                "unknown status {} (expected not_affected, affected, fixed or under_investigation)",
                short_str(other)
            )))
        }
    };
    let justification = optional_string(s, "justification").map_err(at)?;
    if let Some(j) = justification {
        if !JUSTIFICATIONS.contains(&j) {
            return Err(at(format!(
                "unknown justification {} (expected one of {})",
                short_str(j),
                JUSTIFICATIONS.join(", ")
            )));
        }
    }
    let impact_statement = optional_string(s, "impact_statement").map_err(at)?;
    let action_statement = optional_string(s, "action_statement").map_err(at)?;
    if state == VexState::NotAffected && justification.is_none() && impact_statement.is_none() {
        return Err(at(
            "not_affected needs a justification or an impact_statement".into(),
        ));
    }
    if state == VexState::Affected && action_statement.is_none() {
        // Kept: dropping it could let an older not_affected stand.
        notes.push(at(
            "affected without the action_statement the spec requires".into(),
        ));
    }
    // Inheritance: the statement's own time, else the document's.
    let timestamp = optional_time(s, "last_updated")
        .and_then(|updated| Ok(updated.or(optional_time(s, "timestamp")?)))
        .map_err(at)?
        .unwrap_or_else(|| document_time.clone());
    let products = products(s.get("products"), notes).map_err(at)?;
    Ok(VexStatement {
        index,
        vulnerability: vulnerability.clone(),
        aliases,
        products,
        state,
        justification: justification.map(str::to_string),
        impact_statement: impact_statement.map(str::to_string),
        action_statement: action_statement.map(str::to_string),
        timestamp: Some(timestamp),
    })
}

/// `{"name", "aliases"}` (v0.2.0) or a plain string (the draft form).
fn vulnerability(value: Option<&Value>) -> Result<(String, Vec<String>), String> {
    let nonempty = |s: &str, what: &str| {
        if s.trim().is_empty() {
            Err(format!("{what} is empty"))
        } else {
            Ok(s.trim().to_string())
        }
    };
    match value {
        Some(Value::String(name)) => Ok((nonempty(name, "vulnerability")?, Vec::new())),
        Some(Value::Object(v)) => {
            let name = match v.get("name") {
                Some(Value::String(name)) => nonempty(name, "vulnerability.name")?,
                Some(other) => {
                    return Err(format!(
                        "vulnerability.name is {}, not a string",
                        kind_of(other)
                    ))
                }
                None => return Err("vulnerability.name is missing".into()),
            };
            let aliases = match v.get("aliases") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|a| match a {
                        Value::String(s) => nonempty(s, "an alias"),
                        other => Err(format!("an alias is {}, not a string", kind_of(other))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(format!(
                        "vulnerability.aliases is {}, not an array",
                        kind_of(other)
                    ))
                }
            };
            Ok((name, aliases))
        }
        Some(other) => Err(format!(
            "vulnerability is {}, not an object",
            kind_of(other)
        )),
        None => Err("vulnerability is missing".into()),
    }
}

fn products(value: Option<&Value>, notes: &mut Vec<String>) -> Result<Vec<VexProduct>, String> {
    let list = match value {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err("names no product".into()),
        Some(v) => return Err(format!("products is {}, not an array", kind_of(v))),
    };
    if list.len() > MAX_PRODUCTS {
        return Err(format!(
            "{} products, over the limit of {MAX_PRODUCTS}",
            list.len()
        ));
    }
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        match product(p, notes) {
            Ok(Some(product)) => out.push(product),
            Ok(None) => {}
            Err(why) => notes.push(format!("product {i} ignored: {why}")),
        }
    }
    // Empty: a valid statement Stella cannot match (the caller notes it).
    Ok(out)
}

/// The identifiers written in a component: `@id`, `identifiers.purl` and,
/// for the product itself, `hashes.sha-256`/`sha-512` (a manifest digest
/// when the product is an image).
fn component_ids(c: &Map<String, Value>, with_hashes: bool) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    if let Some(id) = optional_string(c, "@id")? {
        ids.push(id.to_string());
    }
    match c.get("identifiers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(identifiers)) => {
            if let Some(purl) = optional_string(identifiers, "purl")? {
                ids.push(purl.to_string());
            }
        }
        Some(v) => return Err(format!("identifiers is {}, not an object", kind_of(v))),
    }
    if with_hashes {
        match c.get("hashes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(hashes)) => {
                for (key, algorithm) in [("sha-256", "sha256"), ("sha-512", "sha512")] {
                    if let Some(hex) = optional_string(hashes, key)? {
                        ids.push(format!("{algorithm}:{hex}"));
                    }
                }
            }
            Some(v) => return Err(format!("hashes is {}, not an object", kind_of(v))),
        }
    }
    Ok(ids)
}

/// A product, `Ok(None)` when it has no identifier we can match.
fn product(value: &Value, notes: &mut Vec<String>) -> Result<Option<VexProduct>, String> {
    let (texts, subcomponents) = match value {
        // The draft form: products as plain identifiers.
        Value::String(s) => (vec![s.clone()], Vec::new()),
        Value::Object(p) => {
            let subcomponents = match p.get("subcomponents") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) if list.len() > MAX_PRODUCTS => {
                    return Err(format!(
                        "{} subcomponents, over the limit of {MAX_PRODUCTS}",
                        list.len()
                    ))
                }
                Some(Value::Array(list)) => list.iter().collect(),
                Some(v) => return Err(format!("subcomponents is {}, not an array", kind_of(v))),
            };
            (component_ids(p, true)?, subcomponents)
        }
        other => return Err(format!("is {}, not an object", kind_of(other))),
    };
    let mut ids: Vec<ProductId> = Vec::new();
    let mut unusable = Vec::new();
    for text in &texts {
        match identify(text) {
            Identified::Id(id) if !ids.contains(&id) => ids.push(id),
            Identified::Id(_) => {}
            Identified::Unusable(why) => unusable.push(why),
        }
    }
    if ids.is_empty() {
        return Err(if unusable.is_empty() {
            "no identifier (@id, identifiers.purl)".into()
        } else {
            unusable.join("; ")
        });
    }
    let mut patterns = Vec::new();
    for (i, sub) in subcomponents.iter().enumerate() {
        let texts = match sub {
            Value::String(s) => vec![s.clone()],
            Value::Object(c) => {
                component_ids(c, false).map_err(|why| format!("subcomponent {i}: {why}"))?
            }
            other => return Err(format!("subcomponent {i} is {}", kind_of(other))),
        };
        let found: Vec<PurlPattern> = texts.iter().filter_map(|t| PurlPattern::parse(t)).collect();
        if found.is_empty() {
            notes.push(format!(
                "subcomponent {i} ignored: no purl ({})",
                texts.join(", ")
            ));
        }
        patterns.extend(found);
    }
    if !subcomponents.is_empty() && patterns.is_empty() {
        // Never widen a statement about some components to the whole product.
        return Err("none of its subcomponents has a purl".into());
    }
    Ok(Some(VexProduct {
        ids,
        subcomponents: patterns,
    }))
}
