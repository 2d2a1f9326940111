//! The github/advisory-database repository layout → canonical advisories.
//!
//! The repository holds one OSV JSON record per advisory under
//! `advisories/github-reviewed/YYYY/MM/GHSA-…/GHSA-….json` (and
//! `github-unreviewed/…`); the records are read by the OSV connector and
//! then given what GHSA says only in `database_specific`:
//!
//! - `database_specific.severity` (`LOW`, `MODERATE`, `HIGH`, `CRITICAL`)
//!   becomes a severity of kind `Other`, the word as written.
//! - `affected[].database_specific.last_known_affected_version_range`
//!   (`<= 1.2.3`, `< 2.0`) is GHSA's own upper bound. A range that never
//!   closes (no `fixed` or `last_affected` after its last `introduced`:
//!   GHSA knows no fixed release, e.g. because the fix was never published
//!   to the registry) would make every later version affected; the bound
//!   caps each such open rule instead (`<` exclusive, `<=` inclusive).
//!   When the range does close, the bound only repeats it and is not used.
//!   A bound in another form (`= 1.0`, `>= 1`) is not an upper bound and
//!   is left alone. The range events stay the source's, unchanged.

use std::path::Path;

use serde_json::Value;
use stella_model::{Advisory, AffectedPackage, RuleKind, Severity, SeverityKind};

use super::files::{import_documents, Import, ImportError, Selection, MAX_DOCUMENT_BYTES};
use super::osv::{self, Encoding};

/// Imports a checkout (or a part, a file, a zip) of the repository.
/// Non-JSON files (README, licence…) are ignored.
pub fn import(path: &Path, source: &str) -> Result<Import, ImportError> {
    import_documents(
        path,
        Selection {
            encoding_of: json_only,
            max_bytes: MAX_DOCUMENT_BYTES,
        },
        &mut |document, import| match parse(document.bytes, source) {
            Ok(advisory) => import.advisories.push(advisory),
            Err(reason) => import.quarantine(document.path, reason),
        },
    )
}

fn json_only(path: &str) -> Option<Encoding> {
    path.to_ascii_lowercase()
        .ends_with(".json")
        .then_some(Encoding::Json)
}

/// Parses one GHSA record.
pub fn parse(bytes: &[u8], source: &str) -> Result<Advisory, String> {
    let mut advisory = osv::parse(bytes, Encoding::Json, source)?;
    // osv::parse has read the same bytes as JSON already.
    let record: Value = serde_json::from_slice(bytes).map_err(|e| format!("JSON: {e}"))?;
    if let Some(word) = record
        .pointer("/database_specific/severity")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        advisory.severities.push(Severity {
            source: source.to_string(),
            kind: SeverityKind::Other,
            vector: word.to_string(),
            base_score: None,
        });
        advisory
            .severities
            .sort_by(|a, b| (a.kind, &a.vector).cmp(&(b.kind, &b.vector)));
        advisory.severities.dedup();
        if let Some(provenance) = advisory.provenance.first_mut() {
            if !provenance.fields.iter().any(|f| f == "severities") {
                provenance.fields.push("severities".into());
                provenance.fields.sort();
            }
        }
    }
    // osv::parse keeps `affected` one to one and in order.
    let items = record.get("affected").and_then(Value::as_array);
    for (item, package) in items.into_iter().flatten().zip(&mut advisory.affected) {
        if let Some(range) = item
            .pointer("/database_specific/last_known_affected_version_range")
            .and_then(Value::as_str)
        {
            cap_open_rules(package, range);
        }
    }
    Ok(advisory)
}

/// `<= V` → (V, inclusive), `< V` → (V, exclusive); anything else `None`.
pub fn upper_bound(range: &str) -> Option<(String, bool)> {
    let range = range.trim();
    let (rest, inclusive) = match range.strip_prefix("<=") {
        Some(rest) => (rest, true),
        None => (range.strip_prefix('<')?, false),
    };
    let version = rest.trim();
    let single = !version.is_empty() && !version.contains([',', ' ', '<', '>', '=']);
    single.then(|| (version.to_string(), inclusive))
}

/// Applies a last-known-affected bound to the package's open rules (see
/// the module doc). Returns whether there were any.
fn cap_open_rules(package: &mut AffectedPackage, range: &str) -> bool {
    let Some((version, inclusive)) = upper_bound(range) else {
        return false;
    };
    let mut capped = false;
    for rule in package.rules.iter_mut().filter(|r| r.max.is_none()) {
        rule.kind = match (rule.min.is_some(), inclusive) {
            (true, _) => RuleKind::Range,
            (false, true) => RuleKind::Lte,
            (false, false) => RuleKind::Lt,
        };
        rule.max = Some(version.clone());
        rule.max_inclusive = Some(inclusive);
        capped = true;
    }
    capped
}

#[cfg(test)]
mod tests {
    use stella_model::AffectedStatus;

    use super::*;

    #[test]
    fn bounds_read_only_upper_bounds() {
        assert_eq!(upper_bound("<= 1.2.3"), Some(("1.2.3".into(), true)));
        assert_eq!(upper_bound("< 2.0"), Some(("2.0".into(), false)));
        assert_eq!(upper_bound("<0.57"), Some(("0.57".into(), false)));
        for other in ["= 1.0", ">= 1.0", "", "<", "<= ", ">= 1.0, < 2.0", "< 1 2"] {
            assert_eq!(upper_bound(other), None, "{other:?}");
        }
    }

    /// A record shaped like GHSA's for an unpublished fix (introduced only,
    /// the bound in `database_specific`); written here, as the stored
    /// corpus has no such record (see tests/fixtures/ghsa/SOURCE.md).
    #[test]
    fn an_open_range_is_capped_by_the_last_known_affected_bound() {
        let record = br#"{"id": "GHSA-test-open-rnge", "affected": [
            {"package": {"ecosystem": "npm", "name": "a"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
             "database_specific": {"last_known_affected_version_range": "< 4.1.3"}},
            {"package": {"ecosystem": "GitHub Actions", "name": "b"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.26.11"}]}],
             "database_specific": {"last_known_affected_version_range": "<= 3.28.2"}},
            {"package": {"ecosystem": "npm", "name": "c"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.6.26"}]}],
             "database_specific": {"last_known_affected_version_range": "<= 1.6.25"}},
            {"package": {"ecosystem": "npm", "name": "d"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}]}],
             "database_specific": {"last_known_affected_version_range": ">= 1.0"}}
          ], "database_specific": {"severity": "HIGH"}}"#;
        let a = parse(record, "ghsa").unwrap();
        let rule = |p: usize| a.affected[p].rules.clone();
        let first = &rule(0)[0];
        assert_eq!(
            (
                first.kind,
                first.min.as_deref(),
                first.max.as_deref(),
                first.max_inclusive
            ),
            (RuleKind::Lt, None, Some("4.1.3"), Some(false))
        );
        let b = &rule(1)[0];
        assert_eq!(
            (b.kind, b.min.as_deref(), b.max.as_deref(), b.max_inclusive),
            (RuleKind::Range, Some("2.26.11"), Some("3.28.2"), Some(true))
        );
        let c = &rule(2)[0];
        assert_eq!(
            (c.kind, c.max.as_deref(), c.max_inclusive),
            (RuleKind::Lt, Some("1.6.26"), Some(false)),
            "a closed range keeps its own bound"
        );
        assert_eq!(rule(3)[0].max, None, "not an upper bound");
        assert!(a
            .affected
            .iter()
            .all(|p| p.status == AffectedStatus::Affected));
        assert_eq!(a.severities.len(), 1);
        assert_eq!(a.severities[0].vector, "HIGH");
        assert_eq!(a.severities[0].kind, SeverityKind::Other);
        assert!(a.provenance[0].fields.contains(&"severities".to_string()));
    }

    #[test]
    fn broken_records_say_why() {
        assert!(parse(b"{", "ghsa").unwrap_err().contains("JSON"));
        assert!(parse(br#"{"summary": 1}"#, "ghsa").is_err());
    }
}
