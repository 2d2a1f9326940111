//! A purl as a query: parsed, normalized to the exact form Stella writes
//! purls in, and matched against index identities.
//!
//! Matching rule: the parts the query gives must be equal, the parts it
//! leaves out match anything.
//!
//! * type, namespace and name always;
//! * version when given — `pkg:npm/lodash` matches every version,
//!   `pkg:npm/lodash@4.17.21` only that one;
//! * qualifiers when given, each one (the component may have more) —
//!   `pkg:deb/debian/libc6@2.36-9` matches `…?arch=amd64&distro=debian-12`,
//!   `…?arch=arm64` does not.
//!
//! Queries are normalized like the analyzers write purls: percent-encoding
//! decoded and re-encoded with the model's encoder (so `@angular` and
//! `%40angular` are the same namespace), type and qualifier keys lowercased,
//! PyPI names normalized per PEP 503 (`Flask_Cors` → `flask-cors`). Subpaths
//! (`#…`) are rejected: components are never indexed by subpath.

use std::fmt;

use stella_model::Purl;

/// A parsed purl query.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PurlQuery {
    /// The canonical rendering (what `Display` prints).
    canonical: String,
    /// `pkg:type/namespace/name`, plus `@version` when the query has one.
    stem: String,
    has_version: bool,
    /// `key=value` pairs, encoded as in `canonical`.
    qualifiers: Vec<String>,
}

/// Why a string is not a usable purl query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid purl {input:?}: {reason}")]
pub struct PurlQueryError {
    pub input: String,
    pub reason: String,
}

impl PurlQuery {
    /// Parses `input` (`pkg:type/[namespace/]name[@version][?qualifiers]`).
    pub fn parse(input: &str) -> Result<PurlQuery, PurlQueryError> {
        let fail = |reason: &str| PurlQueryError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        let rest = s
            .get(..4)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkg:"))
            .map(|_| &s[4..])
            .ok_or_else(|| fail("does not start with pkg:"))?;
        let rest = rest.trim_start_matches('/');
        if rest.contains('#') {
            return Err(fail("subpaths (#…) are not indexed"));
        }
        let (rest, qualifiers) = match rest.rsplit_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (ty, rest) = rest
            .split_once('/')
            .ok_or_else(|| fail("no name after the type"))?;
        let ty = ty.to_ascii_lowercase();
        if ty.is_empty()
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b))
        {
            return Err(fail("bad type"));
        }
        let rest = rest.trim_end_matches('/');
        // The version separator is the last '@' after the last '/': an
        // unencoded npm scope (`@angular/core`) is not a version.
        let last_slash = rest.rfind('/');
        let (path, version) = match rest.rfind('@') {
            Some(at) if last_slash.is_none_or(|sl| at > sl) => (&rest[..at], Some(&rest[at + 1..])),
            _ => (rest, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, name)) => (ns, name),
            None => ("", path),
        };
        let mut name = decode(name).map_err(|r| fail(&r))?;
        if name.is_empty() {
            return Err(fail("empty name"));
        }
        if ty == "pypi" {
            name = stella_model::pypi_name(&name);
        }
        let namespace = namespace
            .split('/')
            .filter(|seg| !seg.is_empty())
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| fail(&r))?
            .join("/");
        let version = version.map(decode).transpose().map_err(|r| fail(&r))?;
        if version.as_deref() == Some("") {
            return Err(fail("empty version after '@'"));
        }

        let mut purl = Purl::new(&ty, &name).with_namespace(&namespace);
        if let Some(v) = &version {
            purl = purl.with_version(v);
        }
        let stem = purl.to_string();
        for pair in qualifiers
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| fail(&format!("qualifier {pair:?} has no '='")))?;
            if k.is_empty() {
                return Err(fail("empty qualifier key"));
            }
            purl = purl.with_qualifier(k, &decode(v).map_err(|r| fail(&r))?);
        }
        let canonical = purl.to_string();
        let qualifiers = canonical
            .split_once('?')
            .map(|(_, q)| q.split('&').map(str::to_string).collect())
            .unwrap_or_default();
        Ok(PurlQuery {
            canonical,
            stem,
            has_version: version.is_some(),
            qualifiers,
        })
    }

    /// The canonical form the query was normalized to.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// `pkg:type/namespace/name[@version]`: every identity it matches
    /// starts with this.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Whether the query names a version (else it matches every version).
    pub fn has_version(&self) -> bool {
        self.has_version
    }

    /// Whether a component identity (a canonical purl) matches the query.
    pub fn matches(&self, identity: &str) -> bool {
        let Some(mut rest) = identity.strip_prefix(self.stem.as_str()) else {
            return false;
        };
        if !self.has_version {
            if let Some(after_at) = rest.strip_prefix('@') {
                rest = after_at.find('?').map_or("", |i| &after_at[i..]);
            }
        }
        if rest.is_empty() {
            return self.qualifiers.is_empty();
        }
        let Some(have) = rest.strip_prefix('?') else {
            return false;
        };
        self.qualifiers
            .iter()
            .all(|q| have.split('&').any(|h| h == q))
    }
}

impl fmt::Display for PurlQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl std::str::FromStr for PurlQuery {
    type Err = PurlQueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PurlQuery::parse(s)
    }
}

/// Percent-decoding to UTF-8.
fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> PurlQuery {
        PurlQuery::parse(s).unwrap()
    }

    #[test]
    fn normalizes_to_the_model_encoding() {
        assert_eq!(
            q("pkg:npm/@angular/core@16.2.0").as_str(),
            "pkg:npm/%40angular/core@16.2.0"
        );
        assert_eq!(
            q("pkg:npm/%40angular/core@16.2.0").as_str(),
            "pkg:npm/%40angular/core@16.2.0"
        );
        assert_eq!(q("PKG:NPM/lodash").as_str(), "pkg:npm/lodash");
        assert_eq!(
            q("pkg:pypi/Flask_Cors@4.0.0").as_str(),
            "pkg:pypi/flask-cors@4.0.0"
        );
        assert_eq!(
            q("pkg:deb/debian/libc6@1%3A2.36-9?distro=debian-12&ARCH=amd64").as_str(),
            "pkg:deb/debian/libc6@1:2.36-9?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            q("pkg:maven/org.apache.commons/commons-lang3@3.12.0").stem(),
            "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
        );
        assert!(!q("pkg:npm/@angular/core").has_version());
    }

    #[test]
    fn rejects_what_is_not_a_purl_query() {
        for bad in [
            "npm/lodash",
            "pkg:",
            "pkg:npm",
            "pkg:npm/",
            "pkg:npm/lodash@",
            "pkg:npm/lodash#lib/x.js",
            "pkg:npm/lo%zzdash",
            "pkg:npm/lo%ffdash",
            "pkg:n%pm/x",
            "pkg:npm/x?arch",
        ] {
            assert!(PurlQuery::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn omitted_parts_match_anything() {
        let id = "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12";
        assert!(q("pkg:deb/debian/libc6").matches(id));
        assert!(q("pkg:deb/debian/libc6@2.36-9+deb12u4").matches(id));
        assert!(q("pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64").matches(id));
        assert!(q(id).matches(id));
        assert!(!q("pkg:deb/debian/libc6@2.36-9+deb12u4?arch=arm64").matches(id));
        assert!(!q("pkg:deb/debian/libc6@2.36-9").matches(id));
        assert!(!q("pkg:deb/debian/libc").matches(id));
        assert!(!q("pkg:deb/ubuntu/libc6").matches(id));

        let lodash = "pkg:npm/lodash@4.17.21";
        assert!(q("pkg:npm/lodash").matches(lodash));
        assert!(q("pkg:npm/lodash@4.17.21").matches(lodash));
        assert!(!q("pkg:npm/lodash@4.17.2").matches(lodash));
        assert!(!q("pkg:npm/lodash").matches("pkg:npm/lodash.merge@4.6.2"));
        assert!(!q("pkg:npm/lodash").matches("pkg:npm/lodash-es@4.17.21"));
        assert!(!q("pkg:npm/lodash?arch=x").matches(lodash));
        assert!(!q("pkg:npm/lodash").matches("nopurl:npm/lodash@1"));
    }
}
