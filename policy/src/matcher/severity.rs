//! Which of an advisory's severities a finding is rated by.
//!
//! Every severity is kept in `severities` (sorted by source, kind, vector);
//! the one the finding is rated by is the first rated one in this order:
//!
//! 1. OS packages only: the distro's own (a severity stated by a source of
//!    the matching entry), any kind: CVSS v3, v4, v2, then its words;
//! 2. CVSS v3 or v4 from a source of the matching entry (GHSA, the
//!    ecosystem's database), v3 first: most policies' thresholds are
//!    written against v3 scores;
//! 3. CVSS v3 or v4 from any source;
//! 4. CVSS v2 from a source of the entry, then from any source;
//! 5. words (GHSA's `database_specific.severity`, distro urgencies), the
//!    entry's sources first.
//!
//! Ties go to the first in sorted order. A CVSS vector whose score could
//! not be computed is kept but never chosen.
//!
//! Words ([`rating_of_word`], case-insensitive; Debian's trailing `*`,
//! which marks an urgency not yet confirmed, is ignored): `critical` →
//! critical; `high`, `important` → high; `medium`, `moderate` → medium;
//! `low` → low; `unimportant`, `negligible` → none (Debian: no security
//! impact); anything else → unknown.

use stella_model::{FindingSeverity, Rating, Severity, SeverityKind};

/// The rating a severity word stands for.
pub fn rating_of_word(word: &str) -> Rating {
    let word = word
        .trim()
        .trim_end_matches('*')
        .trim()
        .to_ascii_lowercase();
    match word.as_str() {
        "critical" => Rating::Critical,
        "high" | "important" => Rating::High,
        "medium" | "moderate" => Rating::Medium,
        "low" => Rating::Low,
        "unimportant" | "negligible" => Rating::None,
        _ => Rating::Unknown,
    }
}

fn to_finding(s: &Severity) -> FindingSeverity {
    let rating = match (s.kind, s.base_score) {
        (SeverityKind::Other, _) => rating_of_word(&s.vector),
        (_, Some(score)) => Rating::from_score(score),
        (_, None) => Rating::Unknown,
    };
    FindingSeverity {
        source: s.source.clone(),
        kind: s.kind,
        vector: s.vector.clone(),
        base_score: s.base_score,
        rating,
    }
}

fn kind_rank(kind: SeverityKind) -> u8 {
    match kind {
        SeverityKind::CvssV3 => 0,
        SeverityKind::CvssV4 => 1,
        SeverityKind::CvssV2 => 2,
        SeverityKind::Other => 3,
    }
}

/// The severity to rate by, and all of them sorted. `own` are the sources
/// of the matching entry; `os` is true for OS package findings.
pub fn choose(
    severities: &[Severity],
    own: &[String],
    os: bool,
) -> (Option<FindingSeverity>, Vec<FindingSeverity>) {
    let mut all: Vec<FindingSeverity> = severities.iter().map(to_finding).collect();
    all.sort_by(|a, b| {
        (&a.source, a.kind, &a.vector)
            .cmp(&(&b.source, b.kind, &b.vector))
            .then_with(|| {
                a.base_score
                    .partial_cmp(&b.base_score)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    });
    all.dedup();
    let tier = |s: &FindingSeverity| -> u8 {
        let is_own = own.contains(&s.source);
        match (os && is_own, s.kind, is_own) {
            (true, _, _) => 0,
            (_, SeverityKind::CvssV3 | SeverityKind::CvssV4, true) => 1,
            (_, SeverityKind::CvssV3 | SeverityKind::CvssV4, false) => 2,
            (_, SeverityKind::CvssV2, true) => 3,
            (_, SeverityKind::CvssV2, false) => 4,
            (_, SeverityKind::Other, true) => 5,
            (_, SeverityKind::Other, false) => 6,
        }
    };
    let chosen = all
        .iter()
        .filter(|s| s.rating != Rating::Unknown)
        .min_by_key(|s| (tier(s), kind_rank(s.kind)))
        .cloned();
    (chosen, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(source: &str, kind: SeverityKind, vector: &str, score: Option<f64>) -> Severity {
        Severity {
            source: source.into(),
            kind,
            vector: vector.into(),
            base_score: score,
        }
    }

    #[test]
    fn words_map_to_ratings() {
        assert_eq!(rating_of_word("low**"), Rating::Low);
        assert_eq!(rating_of_word("MODERATE"), Rating::Medium);
        assert_eq!(rating_of_word("unimportant"), Rating::None);
        assert_eq!(rating_of_word("not yet assigned"), Rating::Unknown);
        assert_eq!(rating_of_word("Important"), Rating::High);
    }

    #[test]
    fn precedence_distro_then_own_cvss_then_any() {
        let severities = vec![
            sev("nvd", SeverityKind::CvssV3, "CVSS:3.1/nvd", Some(9.8)),
            sev("debian-tracker", SeverityKind::Other, "low", None),
            sev("ghsa", SeverityKind::CvssV3, "CVSS:3.1/ghsa", Some(5.3)),
            sev("ghsa", SeverityKind::CvssV4, "CVSS:4.0/ghsa", Some(6.9)),
            sev("ghsa", SeverityKind::Other, "MODERATE", None),
            sev("osv:pypa", SeverityKind::CvssV2, "AV:N/x", Some(7.5)),
            sev("broken", SeverityKind::CvssV3, "CVSS:3.1/???", None),
        ];
        let own_os = vec!["debian-tracker".to_string()];
        let (os, all) = choose(&severities, &own_os, true);
        let os = os.unwrap();
        assert_eq!(
            (os.source.as_str(), os.rating),
            ("debian-tracker", Rating::Low)
        );
        assert_eq!(all.len(), 7);
        assert_eq!(all[0].source, "broken", "sorted by source");

        let (lang, _) = choose(&severities, &["ghsa".to_string()], false);
        let lang = lang.unwrap();
        assert_eq!(
            (lang.vector.as_str(), lang.rating),
            ("CVSS:3.1/ghsa", Rating::Medium),
            "own v3 before anyone's, v3 before v4"
        );
        // An OS finding whose distro states nothing falls back like a language one.
        let (fallback, _) = choose(&severities, &["osv:almalinux".to_string()], true);
        assert_eq!(fallback.unwrap().source, "ghsa");
        let (by_other, _) = choose(&severities, &["osv:pypa".to_string()], false);
        assert_eq!(by_other.unwrap().source, "ghsa", "any v3 before own v2");
        let (none, all) = choose(&severities[6..], &[], false);
        assert!(none.is_none(), "an unscored vector is not a rating");
        assert_eq!(all[0].rating, Rating::Unknown);
    }
}
