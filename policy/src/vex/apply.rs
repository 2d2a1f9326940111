//! Statements onto findings: which statements are about a finding, and
//! which of them decides it.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, HashMap};

use stella_model::{Digest, Finding, Purl, VexDecision};

use super::product::Specificity;
use super::{vulnerability_key, VexDocument, VexStatement};

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Findings a statement decided (their `vex` is set).
    pub decided: usize,
    /// The documents that decided at least one finding, sorted.
    pub documents: Vec<Digest>,
    /// Things the caller should know (image statements without a subject).
    pub notes: Vec<String>,
}

/// A statement that is about a finding, with what ranks it.
struct Candidate<'a> {
    document: &'a VexDocument,
    statement: &'a VexStatement,
    specificity: Specificity,
}

impl Candidate<'_> {
    /// Greater wins: later time, then more specific product, then the
    /// document whose digest sorts first, then the later statement.
    fn rank(&self, other: &Self) -> Ordering {
        self.statement
            .timestamp
            .cmp(&other.statement.timestamp)
            .then(self.specificity.cmp(&other.specificity))
            .then_with(|| Reverse(&self.document.digest).cmp(&Reverse(&other.document.digest)))
            .then(self.statement.index.cmp(&other.statement.index))
    }
}

/// Sets [`Finding::vex`] on every finding a statement of `docs` is about,
/// to the deciding statement's state and justification. `subject` is the
/// scanned image's manifest digest: statements about an image apply only
/// to that image. Findings no statement is about are left as they are.
pub fn apply(
    findings: &mut [Finding],
    docs: &[VexDocument],
    subject: Option<&Digest>,
) -> ApplyReport {
    let image: Vec<Digest> = subject.into_iter().cloned().collect();
    apply_to_image(findings, docs, &image)
}

/// [`apply`] where the scanned image has several digests that VEX authors
/// may name: the platform manifest and the multi-platform index it was
/// picked from (`pkg:oci/app@sha256:INDEX` names every platform).
pub fn apply_to_image(
    findings: &mut [Finding],
    docs: &[VexDocument],
    image: &[Digest],
) -> ApplyReport {
    let mut by_vulnerability: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (d, doc) in docs.iter().enumerate() {
        for (s, statement) in doc.statements.iter().enumerate() {
            let names: BTreeSet<String> = std::iter::once(&statement.vulnerability)
                .chain(&statement.aliases)
                .map(|n| vulnerability_key(n))
                .collect();
            for name in names {
                by_vulnerability.entry(name).or_default().push((d, s));
            }
        }
    }
    let mut report = ApplyReport::default();
    if image.is_empty() {
        let image_statements = docs
            .iter()
            .flat_map(|d| &d.statements)
            .filter(|s| {
                s.products.iter().any(|p| {
                    p.ids
                        .iter()
                        .any(|id| matches!(id, super::ProductId::Image(_)))
                })
            })
            .count();
        if image_statements > 0 {
            report.notes.push(format!(
                "{image_statements} statement(s) name an image by digest; without a scanned image they apply to nothing"
            ));
        }
    }
    let mut used: BTreeSet<Digest> = BTreeSet::new();
    for finding in findings.iter_mut() {
        let purl = finding
            .component
            .purl
            .as_deref()
            .and_then(|p| Purl::parse(p).ok());
        let mut about: BTreeSet<(usize, usize)> = BTreeSet::new();
        for name in std::iter::once(&finding.id).chain(&finding.aliases) {
            if let Some(list) = by_vulnerability.get(&vulnerability_key(name)) {
                about.extend(list.iter().copied());
            }
        }
        let winner = about
            .into_iter()
            .filter_map(|(d, s)| {
                let document = &docs[d];
                let statement = &document.statements[s];
                let specificity = statement
                    .products
                    .iter()
                    .filter_map(|p| p.matches(purl.as_ref(), image))
                    .max()?;
                Some(Candidate {
                    document,
                    statement,
                    specificity,
                })
            })
            .max_by(Candidate::rank);
        if let Some(c) = winner {
            finding.vex = Some(VexDecision {
                state: c.statement.state,
                justification: c.statement.justification.clone(),
                impact_statement: c.statement.impact_statement.clone(),
                document: c.document.digest.to_string(),
                format: c.document.format.as_str().to_string(),
            });
            report.decided += 1;
            used.insert(c.document.digest.clone());
        }
    }
    report.documents = used.into_iter().collect();
    report
}
