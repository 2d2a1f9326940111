//! Package URLs (<https://github.com/package-url/purl-spec>), rendered in the
//! canonical form: lowercase type, qualifiers sorted by key, empty qualifiers
//! dropped, components percent-encoded.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A package URL. Rendered with [`fmt::Display`]; [`Purl::parse`] reads any
/// purl, and reads back what `Display` wrote as the same value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
}

impl Purl {
    pub fn new(ty: &str, name: &str) -> Purl {
        Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: None,
            name: name.to_string(),
            version: None,
            qualifiers: BTreeMap::new(),
        }
    }

    pub fn with_namespace(mut self, namespace: &str) -> Purl {
        if !namespace.is_empty() {
            self.namespace = Some(namespace.to_string());
        }
        self
    }

    pub fn with_version(mut self, version: &str) -> Purl {
        if !version.is_empty() {
            self.version = Some(version.to_string());
        }
        self
    }

    /// Adds a qualifier; empty values are dropped as the spec requires.
    pub fn with_qualifier(mut self, key: &str, value: &str) -> Purl {
        if !value.is_empty() {
            self.qualifiers
                .insert(key.to_ascii_lowercase(), value.to_string());
        }
        self
    }

    pub fn ty(&self) -> &str {
        &self.ty
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Qualifiers, sorted by key (keys lowercase, values never empty).
    pub fn qualifiers(&self) -> &BTreeMap<String, String> {
        &self.qualifiers
    }
}

/// Percent-encodes everything but the unreserved set. `+` and `:` are kept
/// because Debian/RPM versions are full of them and the peers (packageurl-go)
/// leave them as they are; both forms decode to the same purl.
fn encode(out: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'+' | b':') {
            write!(out, "{}", b as char)?;
        } else {
            write!(out, "%{b:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            for segment in ns.split('/').filter(|s| !s.is_empty()) {
                encode(f, segment)?;
                f.write_str("/")?;
            }
        }
        encode(f, &self.name)?;
        if let Some(v) = &self.version {
            f.write_str("@")?;
            encode(f, v)?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(k)?;
            f.write_str("=")?;
            encode(f, v)?;
        }
        Ok(())
    }
}

/// A string that is not a package URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid purl {purl:?}: {reason}")]
pub struct PurlError {
    pub purl: String,
    pub reason: &'static str,
}

impl Purl {
    /// Parses `pkg:type/namespace/name@version?qualifiers#subpath` (the
    /// subpath is not kept: no analyzer emits one). Components are
    /// percent-decoded; the type and qualifier keys are lowercased.
    pub fn parse(s: &str) -> Result<Purl, PurlError> {
        let err = |reason| PurlError {
            purl: s.to_string(),
            reason,
        };
        let rest = s
            .strip_prefix("pkg:")
            .ok_or_else(|| err("does not start with pkg:"))?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(r, _subpath)| r);
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (ty, path) = rest.split_once('/').ok_or_else(|| err("no name"))?;
        if ty.is_empty()
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        {
            return Err(err("invalid type"));
        }
        // An '@' in a name or namespace is always encoded, so the first
        // literal '@' after the last '/' separates the version.
        let last_slash = path.trim_end_matches('/').rfind('/');
        let name_start = last_slash.map_or(0, |i| i + 1);
        let (path, version) = match path[name_start..].find('@') {
            Some(at) => (&path[..name_start + at], Some(&path[name_start + at + 1..])),
            None => (path, None),
        };
        let path = path.trim_end_matches('/');
        let (namespace, name) = match path.rfind('/') {
            Some(i) => (Some(&path[..i]), &path[i + 1..]),
            None => (None, path),
        };
        let name = decode(name).ok_or_else(|| err("bad percent-encoding in the name"))?;
        if name.is_empty() {
            return Err(err("empty name"));
        }
        let mut purl = Purl::new(ty, &name);
        if let Some(ns) = namespace {
            let mut segments = Vec::new();
            for segment in ns.split('/').filter(|seg| !seg.is_empty()) {
                segments.push(
                    decode(segment).ok_or_else(|| err("bad percent-encoding in the namespace"))?,
                );
            }
            purl = purl.with_namespace(&segments.join("/"));
        }
        if let Some(v) = version {
            purl = purl.with_version(
                &decode(v).ok_or_else(|| err("bad percent-encoding in the version"))?,
            );
        }
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| err("qualifier without '='"))?;
            let v = decode(v).ok_or_else(|| err("bad percent-encoding in a qualifier"))?;
            purl = purl.with_qualifier(k, &v);
        }
        Ok(purl)
    }
}

/// Percent-decoding; `None` for a malformed escape or non-UTF-8 result.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl std::str::FromStr for Purl {
    type Err = PurlError;
    fn from_str(s: &str) -> Result<Purl, PurlError> {
        Purl::parse(s)
    }
}

impl<'de> Deserialize<'de> for Purl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Purl::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Purl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// PEP 503 normalized Python project name (what `pkg:pypi` purls carry):
/// lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(ch.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Whether `name` normalizes (PEP 503, [`pypi_name`]) to `normalized`,
/// without building the normalized string: matchers ask this for every
/// advisory entry of every component.
pub fn pypi_name_is(name: &str, normalized: &str) -> bool {
    let mut want = normalized.chars();
    let mut in_run = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            if !in_run && want.next() != Some('-') {
                return false;
            }
            in_run = true;
        } else {
            if !ch.to_lowercase().all(|lower| want.next() == Some(lower)) {
                return false;
            }
            in_run = false;
        }
    }
    want.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_name_is_agrees_with_pypi_name() {
        let names = [
            "",
            "-",
            "_",
            ".",
            "a",
            "A",
            "a-b",
            "a_b",
            "a.b",
            "a--b",
            "a-_.b",
            "A.B_C",
            "-a-",
            "__a__",
            "zope.interface",
            "Zope-Interface",
            "zope-interface",
            "zopeinterface",
            "İstanbul",
            "ǅemo",
            "straße",
            "STRASSE",
            "a-",
            "a-b-",
            "PyYAML",
            "pyyaml",
            "py-yaml",
            "ab",
            "abc",
        ];
        for name in names {
            for other in names {
                let normalized = pypi_name(other);
                assert_eq!(
                    pypi_name_is(name, &normalized),
                    pypi_name(name) == normalized,
                    "{name:?} vs {other:?} ({normalized:?})"
                );
            }
        }
    }

    #[test]
    fn renders_spec_examples() {
        // Examples from the purl-spec README.
        let deb = Purl::new("deb", "curl")
            .with_namespace("debian")
            .with_version("7.50.3-1")
            .with_qualifier("distro", "jessie")
            .with_qualifier("arch", "i386");
        assert_eq!(
            deb.to_string(),
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"
        );
        let npm = Purl::new("npm", "foobar")
            .with_namespace("@angular")
            .with_version("12.3.1");
        assert_eq!(npm.to_string(), "pkg:npm/%40angular/foobar@12.3.1");
    }

    #[test]
    fn epochs_and_empty_qualifiers() {
        let p = Purl::new("deb", "libc6")
            .with_namespace("debian")
            .with_version("1:2.36-9+deb12u4")
            .with_qualifier("epoch", "");
        assert_eq!(p.to_string(), "pkg:deb/debian/libc6@1:2.36-9+deb12u4");
        let spaced = Purl::new("generic", "a b").with_version("1/2");
        assert_eq!(spaced.to_string(), "pkg:generic/a%20b@1%2F2");
    }

    #[test]
    fn parses_spec_examples() {
        // Examples from the purl-spec README, read component by component.
        let p = Purl::parse("pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie").unwrap();
        assert_eq!(
            (p.ty(), p.namespace(), p.name()),
            ("deb", Some("debian"), "curl")
        );
        assert_eq!(p.version(), Some("7.50.3-1"));
        assert_eq!(p.qualifiers().get("arch").map(String::as_str), Some("i386"));
        let p = Purl::parse("pkg:npm/%40angular/animation@12.3.1").unwrap();
        assert_eq!((p.namespace(), p.name()), (Some("@angular"), "animation"));
        let p = Purl::parse("pkg:golang/google.golang.org/genproto#googleapis/api/annotations")
            .unwrap();
        assert_eq!(
            (p.namespace(), p.name(), p.version()),
            (Some("google.golang.org"), "genproto", None)
        );
        let p = Purl::parse(
            "pkg:docker/customer/dockerimage@sha256%3A244fd47e07d10?repository_url=gcr.io",
        )
        .unwrap();
        assert_eq!(p.version(), Some("sha256:244fd47e07d10"));
        assert_eq!(
            p.qualifiers().get("repository_url").map(String::as_str),
            Some("gcr.io")
        );
        let p = Purl::parse("pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?packaging=sources")
            .unwrap();
        assert_eq!(
            (p.namespace(), p.name()),
            (Some("org.apache.xmlgraphics"), "batik-anim")
        );
        let p = Purl::parse("pkg:GOLANG/github.com/a/b/c@v1.2.3").unwrap();
        assert_eq!(
            (p.ty(), p.namespace(), p.name()),
            ("golang", Some("github.com/a/b"), "c")
        );
    }

    #[test]
    fn display_round_trips_through_parse() {
        let samples = [
            Purl::new("deb", "libc6")
                .with_namespace("debian")
                .with_version("1:2.36-9+deb12u4")
                .with_qualifier("arch", "amd64")
                .with_qualifier("distro", "debian-12"),
            Purl::new("generic", "a b@c?d#e").with_version("1/2@3"),
            Purl::new("npm", "core").with_namespace("@babel/x y"),
            Purl::new("pypi", "zope-interface").with_version("5.4.0"),
            Purl::new("maven", "x").with_qualifier("q", "a&b=c"),
        ];
        for p in samples {
            assert_eq!(Purl::parse(&p.to_string()).as_ref(), Ok(&p), "{p}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_purl() {
        for bad in [
            "",
            "deb/debian/curl",
            "pkg:",
            "pkg:deb",
            "pkg:deb/",
            "pkg:d%62/x",
            "pkg:deb/debian/cu%2",
            "pkg:deb/debian/cu%zz",
            "pkg:deb/x?arch",
            "pkg:deb/%ff%fe",
        ] {
            assert!(Purl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
