//! The Debian security tracker's JSON dump → canonical advisories.
//!
//! The dump (<https://security-tracker.debian.org/tracker/data/json>) is
//! `{source package: {CVE id: {description, scope, debianbug, releases:
//! {codename: {status, repositories, fixed_version, urgency, nodsa,
//! nodsa_reason}}}}}`. Each CVE becomes one advisory (id = the tracker's
//! key, so `TEMP-…` ids stay as they are), each (source package, release)
//! one affected package in ecosystem `Debian:<version>` — `buzz` … `duke`
//! map to their release numbers (`wheezy` → `Debian:7`, `bookworm` →
//! `Debian:12`), `sid` stays `Debian:sid`, an unknown codename is kept as
//! `Debian:<codename>`. The tracker tracks source packages, so `name` and
//! `source_package` are both the tracker's package.
//!
//! Statuses, in the tracker's terms (first match wins):
//!
//! | tracker says | status | versions |
//! |---|---|---|
//! | `resolved`, `fixed_version` `0` (`<not-affected>`) | `NotAffected` | none |
//! | `resolved`, `fixed_version` V | `Fixed` | `lt V` (scheme `deb`) |
//! | `undetermined` (`<undetermined>`) | `UnderInvestigation` | none |
//! | `open`, urgency `end-of-life` (`<end-of-life>`) | `EndOfLife` | all |
//! | `open`, `nodsa_reason` `ignored` (`<ignored>`: will not be fixed in this release) | `WillNotFix` | all |
//! | `open`, `nodsa_reason` `postponed` (`<postponed>`: fix deferred to a later update) | `FixDeferred` | all |
//! | `open`, urgency `unimportant` (no security impact; not fixed as a security issue) | `WillNotFix` | all |
//! | `open` (`<unfixed>`, `<no-dsa>` without a reason) | `Affected` | all |
//!
//! "All" is an unbounded rule: every version of the package in that
//! release is affected. The urgency words (`low`, `medium**`,
//! `unimportant`, …, but not `not yet assigned` or `end-of-life`, which are
//! not severities) become `Other` severities; `debianbug` and the tracker
//! page become references.
//!
//! A part that cannot be read is quarantined at the smallest scope that
//! holds it (the document, a package, a CVE, or one release), the rest of
//! the document is kept.

use std::fmt;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use stella_model::{
    Advisory, AdvisoryReference, AffectedPackage, AffectedStatus, Provenance, RangeEvent, RuleKind,
    Severity, SeverityKind, VersionRange, VersionRule,
};

use super::files::{
    coalesce, document_digest, import_documents, Document, Import, ImportError, Selection,
};
use super::osv::Encoding;

/// The version ordering of Debian packages (feeds::version's name).
const SCHEME: &str = "deb";

/// Debian codenames and the release numbers OSV's `Debian:` ecosystems use.
const RELEASES: &[(&str, &str)] = &[
    ("buzz", "1.1"),
    ("rex", "1.2"),
    ("bo", "1.3"),
    ("hamm", "2.0"),
    ("slink", "2.1"),
    ("potato", "2.2"),
    ("woody", "3.0"),
    ("sarge", "3.1"),
    ("etch", "4.0"),
    ("lenny", "5.0"),
    ("squeeze", "6.0"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The ecosystem of a release codename: `Debian:12`, `Debian:sid`.
pub fn ecosystem(codename: &str) -> String {
    let version = RELEASES
        .iter()
        .find(|(name, _)| *name == codename)
        .map_or(codename, |(_, number)| number);
    format!("Debian:{version}")
}

/// The dump is one large document (about 100 MB in 2025); it is read one
/// source package at a time, never as one JSON tree.
pub const MAX_DUMP_BYTES: u64 = 1024 * 1024 * 1024;

/// Imports tracker JSON dumps (a file, a directory of them, or a zip).
pub fn import(path: &Path, source: &str) -> Result<Import, ImportError> {
    let select = Selection {
        encoding_of: json_only,
        max_bytes: MAX_DUMP_BYTES,
    };
    let mut import = import_documents(path, select, &mut |document, import| {
        parse_document(&document, source, import)
    })?;
    import.advisories = coalesce(std::mem::take(&mut import.advisories));
    Ok(import)
}

fn json_only(path: &str) -> Option<Encoding> {
    path.to_ascii_lowercase()
        .ends_with(".json")
        .then_some(Encoding::Json)
}

/// Reads one dump, adding its advisories (one per package and CVE; the
/// caller joins them per CVE) and quarantined parts to `import`. A dump
/// that is not JSON throughout gives nothing but its quarantine entry.
pub fn parse_document(document: &Document<'_>, source: &str, import: &mut Import) {
    let digest = document_digest(document.bytes);
    let mut parts = Parts {
        path: document.path,
        source,
        digest: &digest,
        advisories: Vec::new(),
        quarantined: Import::default(),
    };
    let mut reader = serde_json::Deserializer::from_slice(document.bytes);
    let read = PackagesSeed(&mut parts)
        .deserialize(&mut reader)
        .and_then(|()| reader.end());
    if let Err(e) = read {
        return import.quarantine(document.path, format!("JSON: {e}"));
    }
    // Package order, whatever the file's: "first description met" and the
    // quarantine order must not depend on how the dump was written.
    parts.advisories.sort_by(|a, b| a.0.cmp(&b.0));
    import
        .advisories
        .extend(parts.advisories.into_iter().map(|(_, a)| a));
    let mut quarantined = parts.quarantined.quarantined;
    quarantined.sort();
    import.quarantined.extend(quarantined);
}

/// What one dump gave so far.
struct Parts<'a> {
    path: &'a str,
    source: &'a str,
    digest: &'a str,
    /// (source package, advisory), in file order.
    advisories: Vec<(String, Advisory)>,
    quarantined: Import,
}

impl Parts<'_> {
    fn package(&mut self, package: &str, cves: &Value) {
        let at = format!("{}#{package}", self.path);
        if package.trim().is_empty() {
            return self.quarantined.quarantine(at, "empty source package name");
        }
        let Value::Object(cves) = cves else {
            return self
                .quarantined
                .quarantine(at, "package entry is not an object of CVEs");
        };
        for (id, entry) in sorted(cves) {
            let at = format!("{at}/{id}");
            let read = advisory(
                package,
                id,
                entry,
                self.source,
                self.digest,
                &at,
                &mut self.quarantined,
            );
            match read {
                Ok(advisory) => self.advisories.push((package.to_string(), advisory)),
                Err(reason) => self.quarantined.quarantine(at, reason),
            }
        }
    }
}

/// The top-level object, one package entry at a time.
struct PackagesSeed<'p, 'a>(&'p mut Parts<'a>);

impl<'de> DeserializeSeed<'de> for PackagesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PackagesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the top level to be an object of source packages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(package) = map.next_key::<String>()? {
            let cves: Value = map.next_value()?;
            self.0.package(&package, &cves);
        }
        Ok(())
    }
}

fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// One package's view of one CVE. Releases that cannot be read are
/// quarantined one by one; an unreadable CVE entry is an error.
fn advisory(
    package: &str,
    id: &str,
    entry: &Value,
    source: &str,
    digest: &str,
    at: &str,
    import: &mut Import,
) -> Result<Advisory, String> {
    if id.trim().is_empty() {
        return Err("empty CVE id".into());
    }
    let Value::Object(entry) = entry else {
        return Err("CVE entry is not an object".into());
    };
    let details = match entry.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err("description is not a string".into()),
    };
    let releases: Vec<(&String, &Value)> = match entry.get("releases") {
        Some(Value::Object(releases)) => sorted(releases),
        // PHP-style encoders write an empty object as `[]`.
        Some(Value::Array(items)) if items.is_empty() => Vec::new(),
        None => return Err("no releases".into()),
        Some(_) => return Err("releases is not an object".into()),
    };
    let mut affected = Vec::new();
    let mut urgencies = Vec::new();
    for (codename, release) in releases {
        match affected_package(package, codename, release) {
            Ok((package, urgency)) => {
                affected.push(package);
                urgencies.extend(urgency);
            }
            Err(reason) => import.quarantine(format!("{at}/{codename}"), reason),
        }
    }
    let mut references = vec![AdvisoryReference {
        kind: "ADVISORY".into(),
        url: format!("https://security-tracker.debian.org/tracker/{id}"),
    }];
    if let Some(bug) = entry.get("debianbug").and_then(bug_number) {
        references.push(AdvisoryReference {
            kind: "REPORT".into(),
            url: format!("https://bugs.debian.org/{bug}"),
        });
    }
    let severities: Vec<Severity> = urgencies
        .into_iter()
        .map(|word| Severity {
            source: source.to_string(),
            kind: SeverityKind::Other,
            vector: word,
            base_score: None,
        })
        .collect();
    let mut fields = vec!["id", "references"];
    if details.is_some() {
        fields.push("details");
    }
    if !affected.is_empty() {
        fields.push("affected");
    }
    if !severities.is_empty() {
        fields.push("severities");
    }
    fields.sort_unstable();
    Ok(Advisory {
        id: id.to_string(),
        details,
        severities,
        references,
        affected,
        provenance: vec![Provenance {
            source: source.to_string(),
            document_digest: digest.to_string(),
            fetched_at: None,
            fields: fields.into_iter().map(str::to_string).collect(),
        }],
        ..Advisory::default()
    })
}

/// `debianbug` as a bug number (the dump writes an integer).
fn bug_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One release of one package, and its urgency word when it is a severity.
fn affected_package(
    package: &str,
    codename: &str,
    release: &Value,
) -> Result<(AffectedPackage, Option<String>), String> {
    if codename.trim().is_empty() {
        return Err("empty release codename".into());
    }
    let Value::Object(release) = release else {
        return Err("release entry is not an object".into());
    };
    let status = text(release, "status")?.ok_or("release without status")?;
    let urgency = text(release, "urgency")?.unwrap_or_default();
    let fixed = text(release, "fixed_version")?.unwrap_or_default();
    let nodsa_reason = text(release, "nodsa_reason")?.unwrap_or_default();
    let (status, fixed) = match status {
        "resolved" => match fixed.trim() {
            "" => return Err("resolved without a fixed_version".into()),
            "0" => (AffectedStatus::NotAffected, None),
            version => (AffectedStatus::Fixed, Some(version.to_string())),
        },
        "undetermined" => (AffectedStatus::UnderInvestigation, None),
        "open" => (open_status(urgency, nodsa_reason), None),
        other => return Err(format!("unknown status {other:?}")),
    };
    let (ranges, rules) = match (&fixed, status) {
        (Some(version), _) => (
            vec![VersionRange {
                scheme: SCHEME.into(),
                repo: None,
                events: vec![
                    RangeEvent::Introduced("0".into()),
                    RangeEvent::Fixed(version.clone()),
                ],
            }],
            vec![VersionRule {
                scheme: SCHEME.into(),
                kind: RuleKind::Lt,
                max: Some(version.clone()),
                max_inclusive: Some(false),
                ..VersionRule::default()
            }],
        ),
        (None, AffectedStatus::NotAffected | AffectedStatus::UnderInvestigation) => {
            (Vec::new(), Vec::new())
        }
        // Open in some way: every version in the release.
        (None, _) => (
            vec![VersionRange {
                scheme: SCHEME.into(),
                repo: None,
                events: vec![RangeEvent::Introduced("0".into())],
            }],
            vec![VersionRule {
                scheme: SCHEME.into(),
                kind: RuleKind::Range,
                ..VersionRule::default()
            }],
        ),
    };
    let severity = match urgency.trim() {
        "" | "not yet assigned" | "end-of-life" => None,
        word => Some(word.to_string()),
    };
    Ok((
        AffectedPackage {
            ecosystem: ecosystem(codename),
            name: package.to_string(),
            source_package: Some(package.to_string()),
            purl: None,
            status,
            ranges,
            versions: Vec::new(),
            rules,
            sources: Vec::new(),
        },
        severity,
    ))
}

/// What an `open` release is, by the module's table.
fn open_status(urgency: &str, nodsa_reason: &str) -> AffectedStatus {
    match (urgency.trim(), nodsa_reason.trim()) {
        ("end-of-life", _) => AffectedStatus::EndOfLife,
        (_, "ignored") => AffectedStatus::WillNotFix,
        (_, "postponed") => AffectedStatus::FixDeferred,
        ("unimportant", _) => AffectedStatus::WillNotFix,
        _ => AffectedStatus::Affected,
    }
}

/// An optional string field; present but not a string is an error.
fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Import {
        let mut import = Import::default();
        parse_document(
            &Document {
                path: "t.json",
                bytes: json.as_bytes(),
                encoding: Encoding::Json,
            },
            "debian-tracker",
            &mut import,
        );
        import.advisories = coalesce(std::mem::take(&mut import.advisories));
        import
    }

    #[test]
    fn codenames_map_to_release_numbers() {
        assert_eq!(ecosystem("bookworm"), "Debian:12");
        assert_eq!(ecosystem("wheezy"), "Debian:7");
        assert_eq!(ecosystem("buzz"), "Debian:1.1");
        assert_eq!(ecosystem("sid"), "Debian:sid");
        assert_eq!(ecosystem("experimental"), "Debian:experimental");
    }

    #[test]
    fn open_statuses_follow_the_table() {
        use AffectedStatus::*;
        assert_eq!(open_status("end-of-life", "postponed"), EndOfLife);
        assert_eq!(open_status("unimportant", "postponed"), FixDeferred);
        assert_eq!(open_status("low", "ignored"), WillNotFix);
        assert_eq!(open_status("unimportant", ""), WillNotFix);
        assert_eq!(open_status("low**", ""), Affected);
        assert_eq!(open_status("not yet assigned", ""), Affected);
    }

    #[test]
    fn bad_parts_are_quarantined_at_their_own_scope() {
        let import = parse(
            r#"{"a": {"CVE-1": {"releases": {
                    "bookworm": {"status": "resolved", "fixed_version": "1.0-1"},
                    "trixie": {"status": "resolved"},
                    "sid": {"status": "gone"},
                    "forky": "open",
                    "duke": {"status": 3}}},
                  "CVE-2": [],
                  "CVE-3": {"description": "x"}},
                "b": "nope"}"#,
        );
        let mut reasons: Vec<(&str, &str)> = import
            .quarantined
            .iter()
            .map(|q| (q.path.as_str(), q.reason.as_str()))
            .collect();
        reasons.sort();
        assert_eq!(
            reasons,
            vec![
                ("t.json#a/CVE-1/duke", "status is not a string"),
                ("t.json#a/CVE-1/forky", "release entry is not an object"),
                ("t.json#a/CVE-1/sid", "unknown status \"gone\""),
                ("t.json#a/CVE-1/trixie", "resolved without a fixed_version"),
                ("t.json#a/CVE-2", "CVE entry is not an object"),
                ("t.json#a/CVE-3", "no releases"),
                ("t.json#b", "package entry is not an object of CVEs"),
            ]
        );
        assert_eq!(import.advisories.len(), 1);
        assert_eq!(import.advisories[0].affected.len(), 1);
        for bad in ["[1, 2]", "{", "\"x\""] {
            let import = parse(bad);
            assert!(import.advisories.is_empty());
            assert_eq!(import.quarantined.len(), 1, "{bad}");
        }
    }

    #[test]
    fn one_cve_under_two_packages_is_one_advisory() {
        let import = parse(
            r#"{"b": {"CVE-9": {"debianbug": 7, "releases": {"bookworm": {"status": "open", "urgency": "low"}}}},
                "a": {"CVE-9": {"description": "d", "releases": {"bookworm": {"status": "resolved", "fixed_version": "2", "urgency": "medium"}}}}}"#,
        );
        let [advisory] = import.advisories.as_slice() else {
            panic!("{:?}", import.advisories)
        };
        assert_eq!(advisory.details.as_deref(), Some("d"));
        let names: Vec<_> = advisory.affected.iter().map(|p| &p.name).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(advisory.affected[0].status, AffectedStatus::Fixed);
        assert_eq!(advisory.affected[1].status, AffectedStatus::Affected);
        let words: Vec<_> = advisory.severities.iter().map(|s| &s.vector).collect();
        assert_eq!(words, ["low", "medium"]);
        assert_eq!(advisory.provenance.len(), 1, "one document");
        assert!(advisory
            .references
            .iter()
            .any(|r| r.url == "https://bugs.debian.org/7"));
    }
}
