//! The table report: rows most severe first, every finding's columns, the
//! width limit, colour only when asked, and the verdict lines.

mod report_support;

use report_support as support;
use stella_policy::report::{table, TableOptions};

fn plain() -> TableOptions {
    TableOptions {
        width: None,
        colour: false,
    }
}

/// The rows of the table (header first), split on runs of 2+ spaces.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn rows_are_sorted_by_severity_then_id() {
    let findings = support::findings();
    let out = table(&support::document(findings.clone(), true), &plain());
    let rows = rows(&out);
    assert_eq!(
        rows[0],
        [
            "ID",
            "SEVERITY",
            "PACKAGE",
            "INSTALLED",
            "FIXED",
            "STATUS",
            "LAYER",
            "VEX"
        ]
    );
    assert_eq!(rows.len(), findings.len() + 1);
    // Ranks written down from the fixtures' CVSS vectors (smallvec 9.8,
    // protobuf 7.5, …) and the records without a score.
    let order: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let rank = |s: &str| match s {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        "none" => 1,
        _ => 0,
    };
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(
            rank(a.1) > rank(b.1) || (rank(a.1) == rank(b.1) && a.0 <= b.0),
            "{a:?} before {b:?}"
        );
    }
    assert_eq!(order[0], ("RUSTSEC-2019-0009", "critical"));
    assert!(order.contains(&("PYSEC-2021-108", "unknown")));
}

#[test]
fn every_finding_has_its_columns() {
    let findings = support::findings();
    let out = table(&support::document(findings.clone(), false), &plain());
    let rows = rows(&out);
    for f in &findings {
        let fixed = f.fixed_version.clone().unwrap_or_default();
        let layer = match (&f.component.layer_diff_id, f.component.layer) {
            (Some(d), _) => d.hex()[..12].to_string(),
            (None, Some(i)) => format!("#{i}"),
            _ => String::new(),
        };
        let hit = rows.iter().any(|r| {
            r[0] == f.id
                && r[2] == f.component.name
                && r[3] == f.installed_version
                && r[4] == fixed
                && r[5] == "affected"
                && (layer.is_empty() || r.get(6) == Some(&layer))
        });
        assert!(hit, "no row for {} {}:\n{out}", f.id, f.component.name);
    }
    // VEX states appear in the last column.
    assert!(out.contains("not_affected"));
    assert!(out.contains("under_investigation"));
    // Counts: active findings only; requests (not_affected) and hyper
    // (fixed) are suppressed.
    assert!(
        out.contains(&format!(
            "{} findings (1 critical, 1 high, 2 medium, 4 unknown); 2 suppressed by VEX",
            findings.len() - 2
        )),
        "{out}"
    );
}

#[test]
fn width_limit_cuts_wide_columns() {
    let doc = support::document(support::findings(), false);
    let wide = table(&doc, &plain());
    let narrow = table(
        &doc,
        &TableOptions {
            width: Some(100),
            colour: false,
        },
    );
    let longest = |s: &str| {
        s.lines()
            .take_while(|l| !l.is_empty())
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    assert!(
        longest(&wide) > 100,
        "fixture rows should be wider than 100"
    );
    assert!(longest(&narrow) <= 100, "{narrow}");
    assert!(narrow.contains('…'));
}

#[test]
fn colour_only_when_asked() {
    let doc = support::document(support::findings(), true);
    assert!(!table(&doc, &plain()).contains('\x1b'));
    let coloured = table(
        &doc,
        &TableOptions {
            width: None,
            colour: true,
        },
    );
    assert!(coloured.contains("\x1b[1;31mcritical"));
    assert!(coloured.contains("\x1b[0m"));
}

#[test]
fn verdict_lists_every_reason() {
    let out = table(&support::document(support::findings(), true), &plain());
    assert!(
        out.contains("Verdict: fail (policy policy.yaml sha256:"),
        "{out}"
    );
    assert!(out.contains(
        "  fail   no-critical → RUSTSEC-2019-0009 (pkg:cargo/smallvec@0.6.9): severity critical (9.8) ≥ critical"
    ));
    assert!(out.contains(
        "  warn   deny-licenses → pkg:pypi/urllib3@1.26.4: license MIT is not in the allow list"
    ));
    assert!(out.contains("  waived no-high → GHSA-xxxx (pkg:pypi/x@1): severity high [exception EX-1 until 2027-01-01]"));
}

#[test]
fn no_findings_and_hostile_names() {
    let out = table(&support::document(Vec::new(), false), &plain());
    assert_eq!(out, "No findings.\n");
    let mut f = support::findings().remove(0);
    std::sync::Arc::make_mut(&mut f.component).name = "evil\x1b]0;pwned\x07".into();
    let out = table(&support::document(vec![f], false), &plain());
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
}
