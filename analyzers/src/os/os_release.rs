//! `os-release(5)`: which distribution and release the image is. Package
//! purls and, later, advisory matching depend on it.

use stella_model::Distro;

use crate::fs::{FsView, ViewError};

/// Where os-release lives, in the order systemd documents.
pub const OS_RELEASE_PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

pub fn wants(path: &str) -> bool {
    OS_RELEASE_PATHS.contains(&path)
}

/// Finds and parses os-release; `Ok(None)` when there is none (scratch images).
pub fn detect(view: &dyn FsView) -> Result<Option<Distro>, ViewError> {
    for path in OS_RELEASE_PATHS {
        if let Some(file) = view.read(path)? {
            let mut distro = parse(&String::from_utf8_lossy(file.bytes));
            if distro.id.is_empty() {
                continue;
            }
            distro.evidence = file.path.to_string();
            return Ok(Some(distro));
        }
    }
    Ok(None)
}

/// Parses the shell-like `KEY=value` lines; unknown keys and junk lines are ignored.
pub fn parse(text: &str) -> Distro {
    let mut d = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => d.id = value.to_ascii_lowercase(),
            "VERSION_ID" => d.version_id = Some(value).filter(|v| !v.is_empty()),
            "VERSION_CODENAME" => d.version_codename = Some(value).filter(|v| !v.is_empty()),
            "PRETTY_NAME" => d.pretty_name = Some(value).filter(|v| !v.is_empty()),
            "ID_LIKE" => d.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    d
}

fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        let inner = &raw[1..raw.len() - 1];
        if bytes[0] == b'"' {
            // Double quotes allow backslash escapes of `"`, `\`, `$` and backtick.
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
        return inner.to_string();
    }
    raw.to_string()
}

/// The purl `distro` qualifier: `debian-12`, `alpine-3.19.1`, `ubuntu-22.04`.
pub fn purl_distro(distro: Option<&Distro>) -> String {
    match distro {
        Some(d) => match (&d.version_id, &d.version_codename) {
            (Some(v), _) => format!("{}-{v}", d.id),
            (None, Some(c)) => format!("{}-{c}", d.id),
            (None, None) => d.id.clone(),
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_bookworm() {
        // /etc/os-release of Debian 12 as shipped by base-files 12.4+deb12u*.
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\n";
        let d = parse(text);
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id.as_deref(), Some("12"));
        assert_eq!(d.version_codename.as_deref(), Some("bookworm"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(purl_distro(Some(&d)), "debian-12");
    }

    #[test]
    fn tolerates_junk_and_quotes() {
        let d = parse("garbage line\nID='rhel'\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.\\\"3\"\n=\n");
        assert_eq!(d.id, "rhel");
        assert_eq!(d.id_like, vec!["fedora"]);
        assert_eq!(d.version_id.as_deref(), Some("9.\"3"));
    }
}
