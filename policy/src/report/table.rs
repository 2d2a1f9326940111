//! The human report: one row per finding, most severe first, then the
//! verdict with every reason. Plain text unless the caller asks for colour
//! (it decides: colour only on a TTY).

use std::fmt::Write as _;

use stella_model::{Finding, Outcome, Rating, VerdictReason};

use super::{layer_label, rating_of, status_str, vex_state_str, FindingsDocument};

/// How the table is laid out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// The terminal width: wide columns (PACKAGE, ID, versions) are cut
    /// with `…` to fit. `None`: never cut.
    pub width: Option<usize>,
    /// ANSI colours for severities and the verdict.
    pub colour: bool,
}

const HEADERS: [&str; 8] = [
    "ID",
    "SEVERITY",
    "PACKAGE",
    "INSTALLED",
    "FIXED",
    "STATUS",
    "LAYER",
    "VEX",
];
/// Columns that may be cut, in the order they give up width.
const SHRINKABLE: [usize; 4] = [2, 0, 3, 4];
/// No column is cut below this many characters.
const MIN_WIDTH: usize = 8;
const GAP: &str = "  ";

/// Renders the findings table and the verdict summary.
pub fn table(doc: &FindingsDocument, opts: &TableOptions) -> String {
    let mut findings = doc.sorted_findings();
    // Most severe first; within a severity, by id (then the sort key, which
    // sorted_findings already applied and the stable sort keeps).
    findings.sort_by(|a, b| {
        rating_of(b)
            .cmp(&rating_of(a))
            .then_with(|| a.id.cmp(&b.id))
    });

    let mut out = String::new();
    if findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        let rows: Vec<[String; 8]> = findings.iter().map(row).collect();
        let widths = column_widths(&rows, opts.width);
        push_row(&mut out, &HEADERS.map(String::from), &widths, None, opts);
        for (r, f) in rows.iter().zip(&findings) {
            push_row(&mut out, r, &widths, Some(rating_of(f)), opts);
        }
        out.push('\n');
        out.push_str(&counts(&findings));
        out.push('\n');
    }
    if let Some(v) = &doc.verdict {
        out.push('\n');
        let outcome = outcome_str(v.outcome);
        let outcome = if opts.colour {
            format!("{}{}{}", outcome_colour(v.outcome), outcome, RESET)
        } else {
            outcome.to_string()
        };
        let _ = writeln!(
            out,
            "Verdict: {outcome} (policy {} {}, feeds {} {}, evaluated at {})",
            clean(&v.policy.name),
            v.policy.digest,
            clean(&v.feeds.name),
            v.feeds.digest,
            clean(&v.evaluated_at)
        );
        let mut reasons = v.reasons.clone();
        reasons.sort();
        for r in &reasons {
            let _ = writeln!(out, "  {:<6} {}", outcome_str(r.action), reason_line(r));
        }
        let mut waived = v.waived.clone();
        waived.sort();
        for r in &waived {
            let _ = writeln!(out, "  waived {}", reason_line(r));
        }
    }
    out
}

fn row(f: &Finding) -> [String; 8] {
    [
        clean(&f.id),
        rating_of(f).as_str().to_string(),
        clean(&f.component.name),
        clean(&f.installed_version),
        f.fixed_version.as_deref().map(clean).unwrap_or_default(),
        status_str(f.status).to_string(),
        layer_label(f).unwrap_or_default(),
        f.vex
            .as_ref()
            .map(|v| vex_state_str(v.state).to_string())
            .unwrap_or_default(),
    ]
}

/// `rule → finding (component): message`, or `rule → component: message`
/// for rules about components, plus the exception for waived findings.
pub(crate) fn reason_line(r: &VerdictReason) -> String {
    let mut line = format!("{} → ", clean(&r.rule));
    match &r.finding {
        Some(id) => {
            let _ = write!(line, "{} ({})", clean(id), clean(&r.component));
        }
        None => line.push_str(&clean(&r.component)),
    }
    let _ = write!(line, ": {}", clean(&r.message));
    if let Some(e) = &r.exception {
        let _ = write!(line, " [exception {}]", clean(e));
    }
    line
}

fn counts(findings: &[Finding]) -> String {
    let active: Vec<&Finding> = findings.iter().filter(|f| f.is_active()).collect();
    let suppressed = findings.len() - active.len();
    let mut parts = Vec::new();
    for rating in [
        Rating::Critical,
        Rating::High,
        Rating::Medium,
        Rating::Low,
        Rating::None,
        Rating::Unknown,
    ] {
        let n = active.iter().filter(|f| rating_of(f) == rating).count();
        if n > 0 {
            parts.push(format!("{n} {}", rating.as_str()));
        }
    }
    let noun = if active.len() == 1 {
        "finding"
    } else {
        "findings"
    };
    let mut line = format!("{} {noun}", active.len());
    if !parts.is_empty() {
        let _ = write!(line, " ({})", parts.join(", "));
    }
    if suppressed > 0 {
        let _ = write!(line, "; {suppressed} suppressed by VEX");
    }
    line
}

fn column_widths(rows: &[[String; 8]], limit: Option<usize>) -> [usize; 8] {
    let mut widths = HEADERS.map(|h| h.chars().count());
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let Some(limit) = limit else {
        return widths;
    };
    let total = |w: &[usize; 8]| w.iter().sum::<usize>() + GAP.len() * (w.len() - 1);
    // Take one character at a time from the widest shrinkable column: the
    // cut is spread instead of emptying one column.
    while total(&widths) > limit {
        let widest = SHRINKABLE
            .iter()
            .copied()
            .filter(|&i| widths[i] > MIN_WIDTH)
            .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    widths
}

fn push_row(
    out: &mut String,
    cells: &[String; 8],
    widths: &[usize; 8],
    rating: Option<Rating>,
    opts: &TableOptions,
) {
    let mut line = String::new();
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate() {
        let text = fit(cell, w);
        let last = i + 1 == cells.len();
        let padded = if last {
            text
        } else {
            let pad = w - text.chars().count();
            format!("{text}{}", " ".repeat(pad))
        };
        let styled = match (opts.colour, rating, i) {
            (true, None, _) => format!("{BOLD}{padded}{RESET}"),
            (true, Some(r), 1) if !rating_colour(r).is_empty() => {
                format!("{}{padded}{RESET}", rating_colour(r))
            }
            _ => padded,
        };
        line.push_str(&styled);
        if !last {
            line.push_str(GAP);
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `s` cut to `width` characters, the last one `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Text from the image or a feed, safe to print: control characters (a
/// terminal escape in a package name) become `?`.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";

fn rating_colour(r: Rating) -> &'static str {
    match r {
        Rating::Critical => "\x1b[1;31m",
        Rating::High => "\x1b[31m",
        Rating::Medium => "\x1b[33m",
        Rating::Low => "\x1b[36m",
        Rating::None | Rating::Unknown => "",
    }
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Warn => "warn",
        Outcome::Fail => "fail",
    }
}

fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "\x1b[1;32m",
        Outcome::Warn => "\x1b[1;33m",
        Outcome::Fail => "\x1b[1;31m",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_ellipsis() {
        assert_eq!(fit("urllib3", 8), "urllib3");
        assert_eq!(fit("python3-urllib3", 8), "python3…");
        assert_eq!(fit("ab", 0), "…");
    }

    #[test]
    fn clean_replaces_escapes() {
        assert_eq!(clean("a\x1b[31mb\n"), "a?[31mb?");
    }
}
