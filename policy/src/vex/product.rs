//! What a VEX statement is about: packages (by purl) and images (by
//! manifest digest), and how each is matched against a finding's component.

use std::collections::BTreeMap;

use stella_model::{pypi_name, Digest, Purl};

/// A product of a statement: one or more identifiers of the same thing,
/// optionally narrowed to subcomponents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexProduct {
    pub ids: Vec<ProductId>,
    /// When not empty, the statement is about these components inside the
    /// product, not about the product as a whole.
    pub subcomponents: Vec<PurlPattern>,
}

/// One identifier of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductId {
    /// A package, matched against the finding's component.
    Package(PurlPattern),
    /// An image, by the digest of its (platform) manifest: matched against
    /// the scanned subject.
    Image(Digest),
}

/// How specific a match was; the more specific statement wins between
/// statements of the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Specificity {
    /// A whole image: every component in it.
    Image = 1,
    /// A package name without a version: every version.
    AnyVersion = 2,
    /// A package at one version.
    Version = 3,
}

/// A purl as a statement names it: the parts a finding's purl must share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlPattern {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    /// Only the qualifiers the statement wrote must agree.
    qualifiers: BTreeMap<String, String>,
    text: String,
}

impl PurlPattern {
    /// `None` when `text` is not a purl.
    pub fn parse(text: &str) -> Option<PurlPattern> {
        let purl = Purl::parse(text.trim()).ok()?;
        Some(PurlPattern::from_purl(&purl, text.trim()))
    }

    fn from_purl(purl: &Purl, text: &str) -> PurlPattern {
        let ty = purl.ty().to_string();
        PurlPattern {
            namespace: purl.namespace().map(|ns| normalize_namespace(&ty, ns)),
            name: normalize_name(&ty, purl.name()),
            version: purl.version().map(str::to_string),
            qualifiers: purl.qualifiers().clone(),
            ty,
            text: text.to_string(),
        }
    }

    /// The purl as the statement wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The version this pattern names, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// This package at `version` (a CycloneDX `affects[].versions[]`
    /// item narrowing a versionless ref).
    pub fn with_version(&self, version: &str) -> PurlPattern {
        // The text gains `@version` before any qualifiers or subpath.
        let cut = self.text.find(['?', '#']).unwrap_or(self.text.len());
        let (head, tail) = self.text.split_at(cut);
        PurlPattern {
            version: Some(version.to_string()),
            text: format!("{head}@{version}{tail}"),
            ..self.clone()
        }
    }

    /// The specificity of a match of this pattern.
    pub fn specificity(&self) -> Specificity {
        if self.version.is_some() {
            Specificity::Version
        } else {
            Specificity::AnyVersion
        }
    }

    /// True when `purl` is the package this pattern names: same type,
    /// namespace and name; the same version unless the pattern has none;
    /// every qualifier the pattern writes present with the same value
    /// (qualifiers the pattern leaves out are ignored).
    pub fn matches(&self, purl: &Purl) -> bool {
        let ty = purl.ty();
        ty == self.ty
            && purl.namespace().map(|ns| normalize_namespace(ty, ns)) == self.namespace
            && normalize_name(ty, purl.name()) == self.name
            && self
                .version
                .as_deref()
                .is_none_or(|v| purl.version() == Some(v))
            && self
                .qualifiers
                .iter()
                .all(|(k, v)| purl.qualifiers().get(k) == Some(v))
    }

    /// For `pkg:oci/…@sha256:…` and `pkg:docker/…@sha256:…`: the image's
    /// manifest digest.
    fn image_digest(&self) -> Option<Digest> {
        if self.ty != "oci" && self.ty != "docker" {
            return None;
        }
        digest_of(self.version.as_deref()?)
    }

    fn is_image_type(&self) -> bool {
        self.ty == "oci" || self.ty == "docker"
    }
}

/// Types whose names purl-spec says are case-insensitive (lowercased), and
/// PyPI's PEP 503 normalization.
fn normalize_name(ty: &str, name: &str) -> String {
    match ty {
        "pypi" => pypi_name(name),
        "deb" | "apk" | "npm" | "github" | "bitbucket" | "composer" | "hex" => {
            name.to_ascii_lowercase()
        }
        _ => name.to_string(),
    }
}

fn normalize_namespace(ty: &str, namespace: &str) -> String {
    match ty {
        "deb" | "apk" | "rpm" | "github" | "bitbucket" | "composer" => {
            namespace.to_ascii_lowercase()
        }
        _ => namespace.to_string(),
    }
}

/// A `sha256:`/`sha512:` digest, tolerating uppercase hex.
pub(crate) fn digest_of(text: &str) -> Option<Digest> {
    text.trim().to_ascii_lowercase().parse().ok()
}

/// What an identifier string of a statement (an `@id`, `identifiers.purl`)
/// names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identified {
    Id(ProductId),
    /// Something we cannot match (a CPE, an IRI, an image without digest),
    /// with why.
    Unusable(String),
}

/// Reads a product identifier: a purl (`pkg:oci/…@sha256:…` is an image),
/// a bare manifest digest, or an image reference pinned by digest
/// (`registry/repo@sha256:…`).
pub(crate) fn identify(text: &str) -> Identified {
    let t = text.trim();
    if t.starts_with("pkg:") {
        return match PurlPattern::parse(t) {
            Some(p) => match p.image_digest() {
                Some(d) => Identified::Id(ProductId::Image(d)),
                None if p.is_image_type() => Identified::Unusable(format!(
                    "{t:?} names an image without its manifest digest (pkg:oci/NAME@sha256:…)"
                )),
                None => Identified::Id(ProductId::Package(p)),
            },
            None => Identified::Unusable(format!("{t:?} is not a valid purl")),
        };
    }
    if let Some(d) = digest_of(t) {
        return Identified::Id(ProductId::Image(d));
    }
    // An image reference pinned by digest: NAME@sha256:HEX (no scheme).
    if !t.contains("://") {
        if let Some((_, digest)) = t.rsplit_once('@') {
            if let Some(d) = digest_of(digest) {
                return Identified::Id(ProductId::Image(d));
            }
        }
    }
    Identified::Unusable(format!(
        "{t:?} is neither a purl nor an image digest (NAME@sha256:…)"
    ))
}

impl VexProduct {
    /// How specifically this product names a finding's component (by its
    /// purl), or
    /// `None` when it does not. `image` are the scanned image's digests
    /// (its platform manifest, and the index it was picked from); with
    /// none, image products match nothing.
    pub fn matches(&self, component_purl: Option<&Purl>, image: &[Digest]) -> Option<Specificity> {
        let is_subject = |id: &ProductId| matches!(id, ProductId::Image(d) if image.contains(d));
        let in_subcomponents = || {
            self.subcomponents
                .iter()
                .filter(|p| component_purl.is_some_and(|c| p.matches(c)))
                .map(PurlPattern::specificity)
                .max()
        };
        if self.ids.iter().any(is_subject) {
            return if self.subcomponents.is_empty() {
                Some(Specificity::Image)
            } else {
                in_subcomponents()
            };
        }
        let package_match = self
            .ids
            .iter()
            .filter_map(|id| match id {
                ProductId::Package(p) => Some(p),
                ProductId::Image(_) => None,
            })
            .filter(|p| component_purl.is_some_and(|c| p.matches(c)))
            .map(PurlPattern::specificity)
            .max();
        if self.subcomponents.is_empty() {
            return package_match;
        }
        // A package product with subcomponents: the statement is about the
        // subcomponents as shipped in that package. Findings carry no
        // dependency graph, so containment cannot be checked; the finding's
        // component must be one of the subcomponents, and the product must
        // be a package (a product that is some other image never matches).
        if self
            .ids
            .iter()
            .any(|id| matches!(id, ProductId::Package(_)))
        {
            in_subcomponents()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purl(s: &str) -> Purl {
        Purl::parse(s).unwrap()
    }

    #[test]
    fn qualifiers_only_when_the_pattern_has_them() {
        let bare = PurlPattern::parse("pkg:deb/debian/openssl@3.0.11-1~deb12u2").unwrap();
        let arch =
            PurlPattern::parse("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=arm64").unwrap();
        let found = purl("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12");
        assert!(bare.matches(&found));
        assert!(!arch.matches(&found));
    }

    #[test]
    fn pypi_names_normalize() {
        let p = PurlPattern::parse("pkg:pypi/Jinja2@2.11.2").unwrap();
        assert!(p.matches(&purl("pkg:pypi/jinja2@2.11.2")));
        assert!(!p.matches(&purl("pkg:pypi/jinja2@2.11.3")));
    }

    #[test]
    fn identifiers() {
        let hex = "a".repeat(64);
        assert!(matches!(
            identify(&format!(
                "pkg:oci/app@sha256%3A{hex}?repository_url=r.example/app"
            )),
            Identified::Id(ProductId::Image(_))
        ));
        assert!(matches!(
            identify(&format!(
                "registry.example:5000/app@sha256:{}",
                hex.to_uppercase()
            )),
            Identified::Id(ProductId::Image(_))
        ));
        assert!(matches!(identify("pkg:oci/app"), Identified::Unusable(_)));
        assert!(matches!(
            identify("cpe:2.3:a:apache:log4j:2.4"),
            Identified::Unusable(_)
        ));
        assert!(matches!(
            identify("https://example.com/x@sha256:abc"),
            Identified::Unusable(_)
        ));
    }
}
