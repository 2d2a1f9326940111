//! Package URLs (<https://github.com/package-url/purl-spec>), rendered in the
//! canonical form: lowercase type, qualifiers sorted by key, empty qualifiers
//! dropped, components percent-encoded.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

/// A package URL. Rendered with [`fmt::Display`]; parsed only by consumers.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
