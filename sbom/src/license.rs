//! Deciding what a recorded license string is. Package databases record
//! licenses free-form ("GPLv2+", "MIT and BSD", "GPL-2.0-only OR MIT"); both
//! formats want a real SPDX id or expression where there is one and a named /
//! referenced license otherwise.

use spdx::{AdditionItem, Expression, LicenseItem};

/// What a license string turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseClass {
    /// Exactly one current (non-deprecated) SPDX license id, e.g. `MIT`.
    Id(String),
    /// A valid SPDX expression made only of SPDX-list ids (no `LicenseRef-`),
    /// e.g. `GPL-2.0-only OR MIT`. Operators are normalized to upper case.
    Expression(String),
    /// Anything else, kept verbatim (trimmed).
    Other(String),
}

impl LicenseClass {
    /// The text as it should appear inside an SPDX expression, or `None` for
    /// [`LicenseClass::Other`], which needs a `LicenseRef-`.
    fn spdx_text(&self) -> Option<&str> {
        match self {
            LicenseClass::Id(s) | LicenseClass::Expression(s) => Some(s),
            LicenseClass::Other(_) => None,
        }
    }
}

/// Classifies one license string with the `spdx` crate (strict mode:
/// case-sensitive ids, no deprecated ids, no imprecise names).
///
/// `LicenseRef-…` expressions count as [`LicenseClass::Other`] because the
/// document would have to define the referenced text, which we do not have.
pub fn classify_license(raw: &str) -> LicenseClass {
    let s = raw.trim();
    if let Some(id) = spdx::license_id(s) {
        // license_id() ignores a trailing '+'; an exact match is required here.
        if id.name == s && !id.is_deprecated() {
            return LicenseClass::Id(s.to_string());
        }
    }
    let normalized = uppercase_operators(s);
    match Expression::parse(&normalized) {
        Ok(expr) if only_listed_ids(&expr) => LicenseClass::Expression(normalized),
        _ => LicenseClass::Other(s.to_string()),
    }
}

/// True when every license and exception in `expr` is on the SPDX list.
fn only_listed_ids(expr: &Expression) -> bool {
    expr.requirements().all(|r| {
        matches!(r.req.license, LicenseItem::Spdx { .. })
            && !matches!(r.req.addition, Some(AdditionItem::Other(_)))
    })
}

/// The spdx crate accepts `and`/`or`/`with` in any case; SPDX 2.3 (Annex D)
/// matches operators case-sensitively, so validators want them upper case.
/// License ids never spell an operator, so a word-level rewrite is safe.
fn uppercase_operators(s: &str) -> String {
    s.split_whitespace()
        .map(|word| {
            let core = word.trim_matches(|c| c == '(' || c == ')');
            if ["and", "or", "with"]
                .iter()
                .any(|op| core.eq_ignore_ascii_case(op))
            {
                word.to_ascii_uppercase()
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The component's license strings, trimmed, empty ones dropped, duplicates
/// removed (first occurrence wins, so the database's order is kept).
pub fn classified(licenses: &[String]) -> Vec<LicenseClass> {
    let mut seen = std::collections::BTreeSet::new();
    licenses
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && seen.insert(*l))
        .map(classify_license)
        .collect()
}

/// Joins SPDX-valid parts into one expression with `AND` (a package whose
/// database lists several licenses carries all of them). Compound parts are
/// parenthesized so precedence is kept.
pub fn and_join<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<&str> = parts.into_iter().collect();
    if parts.len() == 1 {
        return parts[0].to_string();
    }
    parts
        .iter()
        .map(|p| {
            if p.contains(char::is_whitespace) {
                format!("({p})")
            } else {
                (*p).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// When every part is SPDX-valid, the combined expression text.
pub fn combined_expression(classes: &[LicenseClass]) -> Option<String> {
    let texts: Option<Vec<&str>> = classes.iter().map(LicenseClass::spdx_text).collect();
    match texts {
        Some(t) if !t.is_empty() => Some(and_join(t)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> LicenseClass {
        LicenseClass::Id(s.into())
    }
    fn expr(s: &str) -> LicenseClass {
        LicenseClass::Expression(s.into())
    }
    fn other(s: &str) -> LicenseClass {
        LicenseClass::Other(s.into())
    }

    #[test]
    fn single_ids() {
        assert_eq!(classify_license("MIT"), id("MIT"));
        assert_eq!(classify_license(" Apache-2.0 "), id("Apache-2.0"));
        assert_eq!(classify_license("GPL-2.0-only"), id("GPL-2.0-only"));
        assert_eq!(classify_license("GPL-2.0-or-later"), id("GPL-2.0-or-later"));
    }

    #[test]
    fn expressions() {
        assert_eq!(
            classify_license("GPL-2.0-only OR MIT"),
            expr("GPL-2.0-only OR MIT")
        );
        assert_eq!(
            classify_license("(MIT OR Apache-2.0) AND BSD-3-Clause"),
            expr("(MIT OR Apache-2.0) AND BSD-3-Clause")
        );
        assert_eq!(
            classify_license("GPL-2.0-or-later WITH Classpath-exception-2.0"),
            expr("GPL-2.0-or-later WITH Classpath-exception-2.0")
        );
        // Lower-case operators are accepted but written upper case.
        assert_eq!(
            classify_license("MIT and Apache-2.0"),
            expr("MIT AND Apache-2.0")
        );
        // '+' on a non-GNU id is an SPDX or-later expression, not an id.
        assert_eq!(classify_license("Apache-1.0+"), expr("Apache-1.0+"));
    }

    #[test]
    fn everything_else_is_other() {
        // rpm-style and Debian-style names.
        assert_eq!(classify_license("GPLv2+"), other("GPLv2+"));
        assert_eq!(classify_license("MIT and BSD"), other("MIT and BSD"));
        assert_eq!(classify_license("GPL-2"), other("GPL-2"));
        assert_eq!(classify_license("public-domain"), other("public-domain"));
        // Case matters for ids.
        assert_eq!(classify_license("mit"), other("mit"));
        // Deprecated ids are not emitted as ids.
        assert_eq!(classify_license("GPL-2.0"), other("GPL-2.0"));
        assert_eq!(classify_license("GPL-2.0+"), other("GPL-2.0+"));
        // References need a definition we do not have.
        assert_eq!(classify_license("LicenseRef-foo"), other("LicenseRef-foo"));
        assert_eq!(
            classify_license("MIT OR LicenseRef-foo"),
            other("MIT OR LicenseRef-foo")
        );
        // Broken syntax.
        assert_eq!(classify_license("MIT OR"), other("MIT OR"));
        assert_eq!(classify_license("(MIT"), other("(MIT"));
    }

    #[test]
    fn classified_dedups_and_keeps_order() {
        let raw = vec![
            "MIT".to_string(),
            " ".to_string(),
            "GPLv2+".to_string(),
            "MIT ".to_string(),
        ];
        assert_eq!(classified(&raw), vec![id("MIT"), other("GPLv2+")]);
    }

    #[test]
    fn combining() {
        assert_eq!(
            combined_expression(&[id("MIT"), expr("GPL-2.0-only OR BSD-3-Clause")]),
            Some("MIT AND (GPL-2.0-only OR BSD-3-Clause)".to_string())
        );
        assert_eq!(combined_expression(&[id("MIT")]), Some("MIT".to_string()));
        assert_eq!(combined_expression(&[id("MIT"), other("BSD")]), None);
        assert_eq!(combined_expression(&[]), None);
    }
}
