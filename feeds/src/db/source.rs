//! Feed sources on the command line: `KIND:PATH`, imported by the
//! connector of that kind ([`crate::connector::SourceKind`]).

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use super::DbError;
use crate::connector::{import, Import, SourceKind};

/// One source: `KIND:PATH`, e.g. `osv:feeds/osv-go`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub path: PathBuf,
    /// `KIND/<last path component>` (without a `.zip` extension): derived
    /// from the spec alone, so the same directory gives the same name
    /// wherever it lives.
    pub name: String,
}

impl SourceSpec {
    pub fn parse(input: &str) -> Result<SourceSpec, DbError> {
        let bad = |reason: String| DbError::BadSource {
            input: input.to_string(),
            reason,
        };
        let kinds = || {
            SourceKind::ALL
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some((word, path)) = input.split_once(':') else {
            return Err(bad(format!("expected KIND:PATH (kinds: {})", kinds())));
        };
        let kind: SourceKind = word
            .parse()
            .map_err(|_| bad(format!("unknown kind {word:?} (kinds: {})", kinds())))?;
        if path.is_empty() {
            return Err(bad("empty path".into()));
        }
        let path = PathBuf::from(path);
        let base = match path.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            // `.` or `..`: the name of the directory it stands for.
            None => std::fs::canonicalize(&path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| bad("cannot derive a source name from the path".into()))?,
        };
        let base = match base.len().checked_sub(4) {
            Some(cut) if base.is_char_boundary(cut) && base[cut..].eq_ignore_ascii_case(".zip") => {
                base[..cut].to_string()
            }
            _ => base,
        };
        if base.is_empty() {
            return Err(bad("cannot derive a source name from the path".into()));
        }
        Ok(SourceSpec {
            kind,
            name: format!("{kind}/{base}"),
            path,
        })
    }

    /// Imports the source and digests what it read.
    pub fn import(&self) -> Result<ImportedSource, DbError> {
        let import =
            import(self.kind, &self.path, &self.name).map_err(|error| DbError::Import {
                source_name: self.name.clone(),
                error,
            })?;
        let input_digest = input_digest(&import);
        Ok(ImportedSource {
            name: self.name.clone(),
            kind: self.kind,
            import,
            input_digest,
        })
    }
}

/// A source after import.
#[derive(Debug)]
pub struct ImportedSource {
    pub name: String,
    pub kind: SourceKind,
    pub import: Import,
    /// See [`input_digest`].
    pub input_digest: String,
}

/// `sha256:` over the source's documents in the importer's (sorted path)
/// order: each imported document's own digest, each quarantined one as its
/// path and reason — one line each. Paths of imported documents are left
/// out, so moving a tree does not change it; contents and order do.
fn input_digest(import: &Import) -> String {
    let mut hasher = Sha256::new();
    for advisory in &import.advisories {
        for p in &advisory.provenance {
            hasher.update(p.document_digest.as_bytes());
            hasher.update(b"\n");
        }
    }
    for q in &import.quarantined {
        hasher.update(b"quarantined\t");
        hasher.update(q.path.as_bytes());
        hasher.update(b"\t");
        hasher.update(q.reason.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = SourceSpec::parse("osv:/data/osv-go").unwrap();
        assert_eq!((s.kind, s.name.as_str()), (SourceKind::Osv, "osv/osv-go"));
        assert_eq!(
            SourceSpec::parse("osv:a/b/pypi.zip").unwrap().name,
            "osv/pypi"
        );
        assert_eq!(SourceSpec::parse("osv:a/b/").unwrap().name, "osv/b");
        assert!(SourceSpec::parse("nvd:x").is_err());
        assert!(SourceSpec::parse("osv:").is_err());
        assert!(SourceSpec::parse("x").is_err());
        assert!(SourceSpec::parse("osv:.zip").is_err());
    }
}
