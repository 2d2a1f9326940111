//! Package URL patterns of allow and deny lists and `match` scopes.
//!
//! Without `*` a pattern is a purl: type, namespace and name must equal the
//! component's, a version (when the pattern has one) too, and every
//! qualifier the pattern names must be present with that value. Names are
//! compared as the purl spec normalizes them for the type (`pkg:pypi/PyYAML`
//! is `pkg:pypi/pyyaml`). With `*` (any run of characters) the pattern is
//! matched against the component's canonical purl text, without its
//! qualifiers unless the pattern has a `?`.

use stella_model::{pypi_name, Purl};

/// Purl types whose names the purl spec says are case-insensitive.
const CASE_INSENSITIVE_TYPES: &[&str] = &[
    "apk",
    "bitbucket",
    "composer",
    "deb",
    "github",
    "npm",
    "pypi",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlPattern {
    /// The pattern as written.
    pub text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Exact(Purl),
    Glob { with_qualifiers: bool },
}

impl PurlPattern {
    /// Why a pattern is not usable, as a sentence.
    pub fn parse(text: &str) -> Result<PurlPattern, String> {
        let Some(rest) = text.strip_prefix("pkg:") else {
            return Err(format!("purl pattern {text:?} does not start with pkg:"));
        };
        let ty = rest.split('/').next().unwrap_or("");
        if ty.is_empty()
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        {
            return Err(format!(
                "purl pattern {text:?}: the type (pkg:TYPE/…) must be spelled out"
            ));
        }
        if !rest[ty.len()..].starts_with('/') || rest.len() <= ty.len() + 1 {
            return Err(format!("purl pattern {text:?} has no name"));
        }
        if text.contains('*') {
            return Ok(PurlPattern {
                text: text.to_string(),
                kind: Kind::Glob {
                    with_qualifiers: text.contains('?'),
                },
            });
        }
        let purl = Purl::parse(text).map_err(|e| format!("purl pattern: {e}"))?;
        Ok(PurlPattern {
            text: text.to_string(),
            kind: Kind::Exact(purl),
        })
    }

    /// Does the component's purl (as text) match? Text that is not a purl
    /// only matches glob patterns.
    pub fn matches(&self, purl: &str) -> bool {
        let parsed = Purl::parse(purl).ok();
        match (&self.kind, parsed) {
            (Kind::Exact(want), Some(have)) => exact(want, &have),
            (Kind::Exact(_), None) => false,
            (Kind::Glob { with_qualifiers }, parsed) => {
                let text = match parsed {
                    Some(p) if *with_qualifiers => p.to_string(),
                    Some(p) => without_qualifiers(&p),
                    None => purl.to_string(),
                };
                glob(&self.text, &text)
            }
        }
    }
}

fn without_qualifiers(p: &Purl) -> String {
    let mut bare = Purl::new(p.ty(), p.name());
    if let Some(ns) = p.namespace() {
        bare = bare.with_namespace(ns);
    }
    if let Some(v) = p.version() {
        bare = bare.with_version(v);
    }
    bare.to_string()
}

fn exact(want: &Purl, have: &Purl) -> bool {
    let fold = CASE_INSENSITIVE_TYPES.contains(&want.ty());
    let same = |a: &str, b: &str| {
        if want.ty() == "pypi" {
            pypi_name(a) == pypi_name(b)
        } else if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    want.ty() == have.ty()
        && match (want.namespace(), have.namespace()) {
            (None, None) => true,
            (Some(a), Some(b)) => same(a, b),
            _ => false,
        }
        && same(want.name(), have.name())
        && want.version().is_none_or(|v| have.version() == Some(v))
        && want
            .qualifiers()
            .iter()
            .all(|(k, v)| have.qualifiers().get(k) == Some(v))
}

/// `*` matches any run of characters (including none); all else is literal.
/// Greedy with one backtrack point: linear for one star, O(n·m) at worst.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, purl: &str) -> bool {
        PurlPattern::parse(pattern).unwrap().matches(purl)
    }

    #[test]
    fn exact_and_versionless() {
        let c = "pkg:pypi/pyyaml@5.3.1";
        assert!(m("pkg:pypi/pyyaml", c));
        assert!(m("pkg:pypi/PyYAML", c), "pypi names normalize");
        assert!(m("pkg:pypi/pyyaml@5.3.1", c));
        assert!(!m("pkg:pypi/pyyaml@5.4", c));
        assert!(!m("pkg:pypi/pyyaml2", c));
        assert!(!m("pkg:npm/pyyaml", c));
        let deb = "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12";
        assert!(m("pkg:deb/debian/openssl", deb));
        assert!(m("pkg:deb/debian/openssl?arch=amd64", deb));
        assert!(!m("pkg:deb/debian/openssl?arch=arm64", deb));
        assert!(!m("pkg:deb/openssl", deb), "namespace must agree");
        assert!(!m("pkg:maven/org.Foo/bar", "pkg:maven/org.foo/bar@1"));
    }

    #[test]
    fn globs() {
        let deb = "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64";
        assert!(m("pkg:deb/debian/*", deb));
        assert!(m("pkg:deb/*/openssl@*", deb));
        assert!(m("pkg:deb/debian/openssl@3.0.*", deb));
        assert!(!m("pkg:deb/debian/openssl@3.1.*", deb));
        assert!(!m("pkg:deb/debian/*arch=amd64", deb), "qualifiers need a ?");
        assert!(m("pkg:deb/debian/*?arch=amd64", deb));
        assert!(m("pkg:npm/*", "pkg:npm/%40babel/core@7.0.0"));
        assert!(!m("pkg:npm/*", "pkg:pypi/x@1"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("**", ""));
    }

    #[test]
    fn bad_patterns() {
        for bad in ["pypi/x", "pkg:*/x", "pkg:/x", "pkg:pypi", "pkg:pypi/%zz"] {
            assert!(PurlPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
