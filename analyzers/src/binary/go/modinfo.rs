//! The module info text of a Go binary (what `go version -m` prints): one
//! record a line, fields separated by tabs.
//!
//! ```text
//! path   <main package import path>
//! mod    <main module path> <version> [<sum>]
//! dep    <module path> <version> [<sum>]
//! =>     <replacement path> <version> <sum>   (replaces the line above)
//! build  <key>=<value>                         (Go ≥ 1.18)
//! ```
//!
//! Build keys and values are written as Go string literals when they hold
//! spaces, quotes, `=` or control characters (`-ldflags="-s -w"`).

/// One module, with its replacement when a `=>` line followed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    /// `h1:` hash of the module's content, empty for the main module and for
    /// local directory replacements.
    pub sum: String,
    pub replace: Option<Box<Module>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// Import path of the main package.
    pub path: Option<String>,
    /// Absent for binaries built outside module mode (GOPATH builds).
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` lines in order.
    pub settings: Vec<(String, String)>,
}

impl ModInfo {
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Which record the last `mod`/`dep` line filled, for a following `=>`.
enum Last {
    None,
    Main,
    Dep,
}

/// Parses the text; an error names the first line that does not fit.
pub fn parse(text: &str) -> Result<ModInfo, String> {
    let mut info = ModInfo::default();
    let mut last = Last::None;
    for (index, line) in text.lines().enumerate() {
        let bad = |why: &str| format!("module info line {}: {why}", index + 1);
        if line.is_empty() {
            continue;
        }
        let (kind, rest) = line.split_once('\t').unwrap_or((line, ""));
        match kind {
            "path" => {
                info.path = Some(rest.to_string());
                last = Last::None;
            }
            "mod" => {
                info.main = Some(module(rest).ok_or_else(|| bad("malformed mod"))?);
                last = Last::Main;
            }
            "dep" => {
                info.deps
                    .push(module(rest).ok_or_else(|| bad("malformed dep"))?);
                last = Last::Dep;
            }
            "=>" => {
                let replacement = module(rest).ok_or_else(|| bad("malformed replacement"))?;
                let target = match last {
                    Last::Main => info.main.as_mut(),
                    Last::Dep => info.deps.last_mut(),
                    Last::None => None,
                };
                let target = target.ok_or_else(|| bad("replacement of nothing"))?;
                if target.replace.is_some() {
                    return Err(bad("second replacement"));
                }
                target.replace = Some(Box::new(replacement));
            }
            "build" => {
                info.settings
                    .push(setting(rest).ok_or_else(|| bad("malformed build setting"))?);
                last = Last::None;
            }
            // Records added by later Go releases: skipped, not fatal.
            _ => last = Last::None,
        }
    }
    Ok(info)
}

/// `path<TAB>version[<TAB>sum]`; a local directory replacement may leave
/// version and sum empty.
fn module(fields: &str) -> Option<Module> {
    let mut parts = fields.split('\t');
    let path = parts.next().filter(|p| !p.is_empty())?;
    let version = parts.next().unwrap_or("");
    let sum = parts.next().unwrap_or("");
    if parts.next().is_some() {
        return None;
    }
    Some(Module {
        path: path.to_string(),
        version: version.to_string(),
        sum: sum.to_string(),
        replace: None,
    })
}

/// `key=value`, either side possibly a quoted Go string.
fn setting(text: &str) -> Option<(String, String)> {
    let (key, rest) = if text.starts_with('"') {
        let (key, used) = unquote_prefix(text)?;
        (key, text.get(used..)?.strip_prefix('=')?)
    } else {
        let (key, rest) = text.split_once('=')?;
        (key.to_string(), rest)
    };
    if key.is_empty() {
        return None;
    }
    let value = if rest.starts_with('"') {
        let (value, used) = unquote_prefix(rest)?;
        if used != rest.len() {
            return None;
        }
        value
    } else {
        rest.to_string()
    };
    Some((key, value))
}

/// Decodes the Go double-quoted string literal at the start of `text`;
/// returns it and the bytes it took (both quotes included).
fn unquote_prefix(text: &str) -> Option<(String, usize)> {
    let body = text.strip_prefix('"')?;
    let mut out: Vec<u8> = Vec::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 2)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'a' => out.push(7),
                    'b' => out.push(8),
                    'f' => out.push(12),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(11),
                    '\\' | '"' | '\'' => out.push(e as u8),
                    'x' => out.push(hex_digits(&mut chars, 2)? as u8),
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let c = char::from_u32(hex_digits(&mut chars, n)?)?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.1.to_digit(8)?;
                        }
                        out.push(u8::try_from(v).ok()?);
                    }
                    _ => return None,
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    None
}

fn hex_digits(chars: &mut std::str::CharIndices<'_>, n: usize) -> Option<u32> {
    let mut v: u32 = 0;
    for _ in 0..n {
        v = v.checked_mul(16)? + chars.next()?.1.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modules_replacements_and_settings() {
        let text = "path\texample.com/hello/cmd/hi\n\
                    mod\texample.com/hello\t(devel)\t\n\
                    dep\tgithub.com/a/b\tv1.2.3\th1:abc=\n\
                    dep\tgithub.com/c/d\tv0.1.0\n\
                    =>\tgithub.com/fork/d\tv0.1.1\th1:def=\n\
                    dep\texample.com/local\tv0.0.0-00010101000000-000000000000\n\
                    =>\t../local\t\t\n\
                    build\t-ldflags=\"-s -w -X main.version=1.0\"\n\
                    build\t\"we=ird\"=\"a\\tb\"\n\
                    build\tGOOS=linux\n";
        let info = parse(text).expect("parses");
        assert_eq!(info.path.as_deref(), Some("example.com/hello/cmd/hi"));
        let main = info.main.as_ref().expect("main");
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/hello", "(devel)")
        );
        assert_eq!(info.deps.len(), 3);
        assert_eq!(info.deps[0].sum, "h1:abc=");
        let fork = info.deps[1].replace.as_ref().expect("replaced");
        assert_eq!(
            (fork.path.as_str(), fork.version.as_str()),
            ("github.com/fork/d", "v0.1.1")
        );
        let local = info.deps[2].replace.as_ref().expect("replaced");
        assert_eq!(
            (local.path.as_str(), local.version.as_str()),
            ("../local", "")
        );
        assert_eq!(info.setting("-ldflags"), Some("-s -w -X main.version=1.0"));
        assert_eq!(info.setting("we=ird"), Some("a\tb"));
        assert_eq!(info.setting("GOOS"), Some("linux"));
    }

    #[test]
    fn rejects_broken_lines() {
        assert!(parse("=>\tx\tv1\t\n").is_err(), "replacement of nothing");
        assert!(parse("dep\t\tv1\n").is_err(), "empty path");
        assert!(parse("dep\ta\tv1\th1:x\textra\n").is_err());
        assert!(parse("build\tnoequals\n").is_err());
        assert!(parse("build\t\"unterminated=1\n").is_err());
        assert!(parse("dep\ta\tv1\n=>\tb\tv2\th\n=>\tc\tv3\th\n").is_err());
        assert!(parse("future\trecord\n").is_ok());
    }

    #[test]
    fn unquotes_go_escapes() {
        assert_eq!(
            unquote_prefix(r#""a\x41\101\u00e9\"b" rest"#),
            Some(("aAAé\"b".into(), 20))
        );
        assert_eq!(unquote_prefix(r#""\777""#), None);
        assert_eq!(unquote_prefix(r#""\q""#), None);
    }
}
