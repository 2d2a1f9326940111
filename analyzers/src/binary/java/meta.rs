//! The metadata files inside a Java archive that name it: Maven's
//! `pom.properties` (a `java.util.Properties` file), the jar manifest
//! (`META-INF/MANIFEST.MF`, RFC 822-like with 1-space continuation lines) and,
//! as a last resort, the archive's own file name (`commons-io-2.11.0.jar`).
//!
//! Formats as specified by the JDK: `java.util.Properties#load(InputStream)`
//! (ISO-8859-1, `#`/`!` comments, `=`/`:`/blank separators, backslash escapes
//! and continuations) and the JAR File Specification's manifest grammar.

use std::collections::BTreeMap;

/// Parses a properties file the way `Properties.load(InputStream)` does. Later
/// keys win, as in Java. Never fails: malformed escapes are kept literally.
pub fn parse_properties(bytes: &[u8]) -> BTreeMap<String, String> {
    // ISO-8859-1: every byte is the code point of the same value.
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n').flat_map(|l| l.split('\r'));
    while let Some(first) = lines.next() {
        let mut logical = String::new();
        let mut line = trim_start_blank(first);
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // A line ending in an odd number of backslashes continues on the next
        // natural line, whose leading blanks are dropped.
        loop {
            let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
            if trailing % 2 == 1 {
                logical.push_str(&line[..line.len() - 1]);
                match lines.next() {
                    Some(next) => line = trim_start_blank(next),
                    None => break,
                }
            } else {
                logical.push_str(line);
                break;
            }
        }
        if logical.is_empty() {
            continue;
        }
        let (key, value) = split_key_value(&logical);
        out.insert(unescape(key), unescape(value));
    }
    out
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

fn trim_start_blank(s: &str) -> &str {
    s.trim_start_matches(is_blank)
}

/// Splits at the first unescaped `=`, `:` or blank; the separator and the
/// blanks around it are dropped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            end = i;
            break;
        }
    }
    let key = &line[..end];
    let mut rest = trim_start_blank(&line[end..]);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = trim_start_blank(r);
    }
    (key, rest)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                {
                    Some(code) => {
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    None => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The main section of a manifest (the headers before the first blank
/// line), continuation lines joined. Header names are case-insensitive in the
/// spec; keys are kept as written and looked up with [`manifest_get`].
pub fn parse_manifest(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut headers: Vec<(String, String)> = Vec::new();
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        if line.is_empty() {
            break;
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(more);
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            headers.push((name.trim().to_string(), value.to_string()));
        }
    }
    headers
}

/// The first non-blank value of header `name` (ASCII case-insensitive), trimmed.
pub fn manifest_get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .find(|v| !v.is_empty())
}

/// Name and version read from an archive's file name (`NAME-VERSION.jar`).
///
/// When another source already gave the version and the stem ends with
/// `-VERSION`, the rest is the name (`log4j-1.2-api-2.19.0`). Otherwise the
/// version starts at the first `-` followed by a digit, Maven's
/// `artifactId-version` convention (`guava-31.1-jre`); a stem without one
/// is all name.
pub fn split_file_name(file_name: &str, known_version: Option<&str>) -> (String, Option<String>) {
    let stem = match file_name.rfind('.') {
        Some(dot) if dot > 0 => &file_name[..dot],
        _ => file_name,
    };
    if let Some(v) = known_version.filter(|v| !v.is_empty()) {
        if let Some(name) = stem
            .strip_suffix(v)
            .and_then(|s| s.strip_suffix('-'))
            .filter(|n| !n.is_empty())
        {
            return (name.to_string(), Some(v.to_string()));
        }
    }
    let bytes = stem.as_bytes();
    let split = bytes
        .windows(2)
        .position(|w| w[0] == b'-' && w[1].is_ascii_digit())
        .filter(|&i| i > 0);
    match split {
        // `-` is ASCII, so `i` and `i + 1` are char boundaries.
        Some(i) => (stem[..i].to_string(), Some(stem[i + 1..].to_string())),
        None => (stem.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_follow_the_jdk_grammar() {
        let text = b"#Generated by Maven\n#Tue Nov 02 00:00:00 UTC 2021\n\
            groupId=commons-io\r\n  artifactId : commons-io\nversion 2.11.0\n\
            ! bang comment\nlong=a\\\n    b\\\\\nesc\\=key=\\u0041\\t\\x\nempty\nbad=\\u00zz\nlatin=\xe9\n";
        let p = parse_properties(text);
        assert_eq!(p["groupId"], "commons-io");
        assert_eq!(p["artifactId"], "commons-io");
        assert_eq!(p["version"], "2.11.0");
        assert_eq!(p["long"], "ab\\");
        assert_eq!(p["esc=key"], "A\tx");
        assert_eq!(p["empty"], "");
        assert_eq!(p["bad"], "u00zz");
        assert_eq!(p["latin"], "é");
        assert_eq!(p.len(), 8, "{p:?}");
    }

    #[test]
    fn properties_never_panic_on_odd_input() {
        for input in [
            &b"\\"[..],
            b"a=\\u12",
            b"\\\n\\",
            b"=",
            b"k\\",
            b"\xff\xfe\\u\xff",
        ] {
            let _ = parse_properties(input);
        }
    }

    #[test]
    fn manifest_main_section_with_continuations() {
        let text = b"Manifest-Version: 1.0\r\nImplementation-Title: Apache Commons IO\r\n\
            Bundle-SymbolicName: org.apache.commons.io;singleton:=tr\r\n ue\r\n\
            implementation-version:2.11.0\r\n\r\nName: org/x/\r\nImplementation-Version: 9\r\n";
        let m = parse_manifest(text);
        assert_eq!(
            manifest_get(&m, "Implementation-Title"),
            Some("Apache Commons IO")
        );
        assert_eq!(
            manifest_get(&m, "Bundle-SymbolicName"),
            Some("org.apache.commons.io;singleton:=true")
        );
        assert_eq!(manifest_get(&m, "Implementation-Version"), Some("2.11.0"));
        assert_eq!(manifest_get(&m, "Name"), None);
    }

    #[test]
    fn file_names() {
        let split = |f, v| split_file_name(f, v);
        assert_eq!(
            split("commons-io-2.11.0.jar", None),
            ("commons-io".into(), Some("2.11.0".into()))
        );
        assert_eq!(
            split("guava-31.1-jre.jar", None),
            ("guava".into(), Some("31.1-jre".into()))
        );
        assert_eq!(
            split("log4j-1.2-api-2.19.0.jar", Some("2.19.0")),
            ("log4j-1.2-api".into(), Some("2.19.0".into()))
        );
        assert_eq!(split("junit4.jar", None), ("junit4".into(), None));
        assert_eq!(split("junit4.jar", Some("4.13.2")), ("junit4".into(), None));
        assert_eq!(split("-1.jar", None), ("-1".into(), None));
        assert_eq!(split(".jar", None), (".jar".into(), None));
        assert_eq!(split("é-1.jar", None), ("é".into(), Some("1".into())));
    }
}
