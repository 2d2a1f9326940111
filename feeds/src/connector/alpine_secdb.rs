//! Alpine secdb (YAML as in alpinelinux/alpine-secdb, or the JSON that
//! secdb.alpinelinux.org serves) → canonical advisories.
//!
//! A document is one release and repository: `{distroversion: v3.11,
//! reponame: main, packages: [{pkg: {name, secfixes: {version: [ids]}}}]}`
//! where each `version` is the `apk` version (`pkgver-rN`) that fixed the
//! listed issues. Each issue id becomes one advisory; each (package,
//! version) one affected package in ecosystem `Alpine:<distroversion>`
//! (`Alpine:v3.11`, as OSV names it) with status `Fixed` and the rule
//! `lt <version>` in scheme `apk`. The version `0` means the release was
//! never affected: status `NotAffected`, no rule. The package named is an
//! aports origin (source) package, so `source_package` is the name too.
//!
//! Issue entries are free text in practice: `CVE-2017-8904 XSA-214`,
//! `CVE-2018-16227 (802.11)`, `CVE-2019-19451.patch`, `CVE_2019-2426`,
//! `CVE 2018-16859`, `CVE-2017-17434-1`, `CVE-????-?????  XSA-295`,
//! `wnpa-sec-2017-18`. Each word that is an id counts: a CVE written with
//! `_`, a blank or a suffix is read as the bare `CVE-YYYY-N…`; another
//! tracker's `PREFIX-…` id (upper-case prefix, or holding a digit:
//! `XSA-207`, `TALOS-2017-0499`, `wnpa-sec-2017-18`) is kept as written.
//! The first id is the advisory's, later ones its aliases; other words are
//! commentary. An entry naming no id is quarantined.

use std::path::Path;

use serde_json::Value;
use stella_model::{
    Advisory, AffectedPackage, AffectedStatus, Provenance, RangeEvent, RuleKind, VersionRange,
    VersionRule,
};

use super::files::{
    coalesce, document_digest, import_documents, Document, Import, ImportError, Selection,
};
use super::osv::Encoding;

/// The version ordering of Alpine packages (feeds::version's name).
const SCHEME: &str = "apk";

/// Imports secdb documents (a file, a tree of `vX.Y/*.yaml|json`, a zip).
pub fn import(path: &Path, source: &str) -> Result<Import, ImportError> {
    let mut import = import_documents(path, Selection::osv(), &mut |document, import| {
        parse_document(&document, source, import)
    })?;
    import.advisories = coalesce(std::mem::take(&mut import.advisories));
    Ok(import)
}

/// Reads one secdb document, adding one advisory per (issue, package,
/// version) — the caller joins them per issue — and its quarantined parts.
pub fn parse_document(document: &Document<'_>, source: &str, import: &mut Import) {
    let value = match read(document) {
        Ok(value) => value,
        Err(reason) => return import.quarantine(document.path, reason),
    };
    let Some(release) = value.get("distroversion").and_then(Value::as_str) else {
        return import.quarantine(document.path, "no distroversion: not a secdb document");
    };
    if release.trim().is_empty() {
        return import.quarantine(document.path, "empty distroversion");
    }
    let ecosystem = format!("Alpine:{}", release.trim());
    let packages = match value.get("packages") {
        None | Some(Value::Null) => return,
        Some(Value::Array(packages)) => packages,
        Some(_) => return import.quarantine(document.path, "packages is not a list"),
    };
    let digest = document_digest(document.bytes);
    for (i, item) in packages.iter().enumerate() {
        let Some(name) = item
            .get("pkg")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        else {
            import.quarantine(format!("{}#packages[{i}]", document.path), "no pkg.name");
            continue;
        };
        let at = format!("{}#{name}", document.path);
        let secfixes = match item.get("pkg").and_then(|p| p.get("secfixes")) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(secfixes)) => secfixes,
            Some(_) => {
                import.quarantine(at, "secfixes is not a mapping");
                continue;
            }
        };
        let mut secfixes: Vec<_> = secfixes.iter().collect();
        secfixes.sort_by(|a, b| a.0.cmp(b.0));
        for (version, ids) in secfixes {
            let at = format!("{at}/{version}");
            let entries = match ids {
                Value::Null => continue,
                Value::Array(entries) => entries,
                _ => {
                    import.quarantine(at, "not a list of issue ids");
                    continue;
                }
            };
            if version.trim().is_empty() {
                import.quarantine(at, "empty version");
                continue;
            }
            for (j, entry) in entries.iter().enumerate() {
                let at = format!("{at}[{j}]");
                let Some(text) = entry.as_str() else {
                    import.quarantine(at, "issue entry is not text");
                    continue;
                };
                let Some((id, aliases)) = issue_ids(text) else {
                    import.quarantine(at, format!("not an issue id: {text:?}"));
                    continue;
                };
                let package = affected_package(&ecosystem, name, version.trim());
                let mut fields = vec!["affected".to_string(), "id".to_string()];
                if !aliases.is_empty() {
                    fields.insert(0, "aliases".to_string());
                }
                import.advisories.push(Advisory {
                    id,
                    aliases,
                    affected: vec![package],
                    provenance: vec![Provenance {
                        source: source.to_string(),
                        document_digest: digest.clone(),
                        fetched_at: None,
                        fields,
                    }],
                    ..Advisory::default()
                });
            }
        }
    }
}

fn read(document: &Document<'_>) -> Result<Value, String> {
    let text = std::str::from_utf8(document.bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let value = match document.encoding {
        Encoding::Json => serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?,
        Encoding::Yaml => super::yaml::to_json(text)?,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("not a secdb document: the top level is not a mapping".into())
    }
}

fn affected_package(ecosystem: &str, name: &str, version: &str) -> AffectedPackage {
    let fixed = version != "0";
    AffectedPackage {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        source_package: Some(name.to_string()),
        purl: None,
        status: if fixed {
            AffectedStatus::Fixed
        } else {
            AffectedStatus::NotAffected
        },
        ranges: if fixed {
            vec![VersionRange {
                scheme: SCHEME.into(),
                repo: None,
                events: vec![
                    RangeEvent::Introduced("0".into()),
                    RangeEvent::Fixed(version.to_string()),
                ],
            }]
        } else {
            Vec::new()
        },
        versions: Vec::new(),
        rules: if fixed {
            vec![VersionRule {
                scheme: SCHEME.into(),
                kind: RuleKind::Lt,
                max: Some(version.to_string()),
                max_inclusive: Some(false),
                ..VersionRule::default()
            }]
        } else {
            Vec::new()
        },
        sources: Vec::new(),
    }
}

/// The id and aliases an entry names, by the rules in the module doc.
pub fn issue_ids(entry: &str) -> Option<(String, Vec<String>)> {
    let mut ids = Vec::new();
    let mut words = entry.split_whitespace().peekable();
    while let Some(word) = words.next() {
        // `CVE 2018-16859`: a CVE written with a blank.
        let joined;
        let word = match words.peek() {
            Some(next)
                if word.eq_ignore_ascii_case("cve")
                    && next.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                joined = format!("CVE-{next}");
                words.next();
                joined.as_str()
            }
            _ => word,
        };
        ids.extend(cve_id(word).or_else(|| other_id(word)));
    }
    let mut ids = ids.into_iter();
    let id = ids.next()?;
    let mut aliases: Vec<String> = ids.filter(|a| *a != id).collect();
    aliases.sort();
    aliases.dedup();
    Some((id, aliases))
}

/// `CVE-YYYY-N…` from a word that starts with one, `-` or `_` separated,
/// whatever follows the number.
fn cve_id(word: &str) -> Option<String> {
    let rest = word
        .get(..3)?
        .eq_ignore_ascii_case("cve")
        .then(|| &word[3..])?;
    let rest = rest.strip_prefix(['-', '_'])?;
    let year: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if year.len() != 4 {
        return None;
    }
    let rest = rest[4..].strip_prefix(['-', '_'])?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (number.len() >= 4).then(|| format!("CVE-{year}-{number}"))
}

/// Another tracker's id: a prefix other than `CVE` (letters, then letters
/// or digits), `-`, then letters, digits, `-` or `.`; the prefix upper
/// case (`XSA-207`, `TALOS-2017-0499`) or the word holding a digit
/// (`wnpa-sec-2017-18`).
fn other_id(word: &str) -> Option<String> {
    let (prefix, rest) = word.split_once('-')?;
    // A CVE that `cve_id` could not read is malformed, not another kind.
    let prefix_ok = !prefix.eq_ignore_ascii_case("cve")
        && prefix
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && prefix.chars().all(|c| c.is_ascii_alphanumeric());
    let rest_ok = rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let marked =
        prefix.chars().all(|c| !c.is_ascii_lowercase()) || word.chars().any(|c| c.is_ascii_digit());
    (prefix_ok && rest_ok && marked).then(|| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(entry: &str) -> Option<(String, Vec<String>)> {
        issue_ids(entry)
    }

    #[test]
    fn free_text_entries_name_their_ids() {
        let one = |id: &str| Some((id.to_string(), vec![]));
        assert_eq!(ids("CVE-2019-14904"), one("CVE-2019-14904"));
        assert_eq!(ids("  CVE-2016-6263"), one("CVE-2016-6263"));
        assert_eq!(ids("CVE-2017-11610  "), one("CVE-2017-11610"));
        assert_eq!(ids("CVE_2019-2426"), one("CVE-2019-2426"));
        assert_eq!(ids("CVE-2019-19451.patch"), one("CVE-2019-19451"));
        assert_eq!(ids("CVE-2017-17434-1"), one("CVE-2017-17434"));
        assert_eq!(ids("CVE-2018-16227 (802.11)"), one("CVE-2018-16227"));
        assert_eq!(ids("XSA-207"), one("XSA-207"));
        assert_eq!(
            ids("CVE-2017-8904 XSA-214"),
            Some(("CVE-2017-8904".into(), vec!["XSA-214".into()]))
        );
        assert_eq!(
            ids("CVE-2017-14450 TALOS-2017-0499"),
            Some(("CVE-2017-14450".into(), vec!["TALOS-2017-0499".into()]))
        );
        assert_eq!(ids("CVE 2018-16859"), one("CVE-2018-16859"));
        assert_eq!(ids("CVE XSA-1"), one("XSA-1"));
        assert_eq!(ids("wnpa-sec-2017-18"), one("wnpa-sec-2017-18"));
        assert_eq!(ids("CVE-????-?????  XSA-295"), one("XSA-295"));
        for bad in [
            "",
            "   ",
            "fixed in 1.2",
            "(BGP)",
            "CVE-19-1",
            "cve",
            "see-also",
        ] {
            assert_eq!(ids(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn documents_give_fixed_and_not_affected_packages() {
        let yaml = "distroversion: v3.8\nreponame: main\npackages:\n  - pkg:\n      name: db\n      secfixes:\n        \"0\":\n          - CVE-2016-0682\n        5.3.28-r1:\n          - CVE-2016-0682\n          - nonsense here\n  - pkg:\n      secfixes: {}\n  - pkg:\n      name: zlib\n      secfixes:\n        1.2.11-r0: CVE-1\n";
        let mut import = Import::default();
        parse_document(
            &Document {
                path: "v3.8/main.yaml",
                bytes: yaml.as_bytes(),
                encoding: Encoding::Yaml,
            },
            "alpine",
            &mut import,
        );
        let quarantined: Vec<_> = import.quarantined.iter().map(|q| q.path.as_str()).collect();
        assert_eq!(
            quarantined,
            [
                "v3.8/main.yaml#db/5.3.28-r1[1]",
                "v3.8/main.yaml#packages[1]",
                "v3.8/main.yaml#zlib/1.2.11-r0"
            ]
        );
        let advisories = coalesce(import.advisories);
        let [advisory] = advisories.as_slice() else {
            panic!("{advisories:?}")
        };
        let statuses: Vec<_> = advisory.affected.iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            [AffectedStatus::Fixed, AffectedStatus::NotAffected]
        );
        assert_eq!(advisory.affected[0].ecosystem, "Alpine:v3.8");
        assert_eq!(
            advisory.affected[0].rules[0].max.as_deref(),
            Some("5.3.28-r1")
        );
    }
}
