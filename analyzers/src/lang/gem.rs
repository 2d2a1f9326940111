//! Ruby gems: the `specifications/*.gemspec` (and `specifications/default/`)
//! files of every gem directory — `usr/lib/ruby/gems/<ver>/`,
//! `usr/local/lib/ruby/gems/<ver>/`, `var/lib/gems/<ver>/`,
//! `usr/local/bundle/`, `vendor/bundle/ruby/<ver>/`, and Debian's
//! `usr/share/rubygems-integration/{all,<ver>}/` and
//! `usr/lib/<triplet>/rubygems-integration/<ver>/`.
//!
//! Why this file: RubyGems writes one specification per installed gem there
//! and reads nothing else to know what is installed (`gem list`, `require`),
//! so each one is a gem that Ruby will load. Gems in `specifications/default/`
//! are the "default gems" shipped inside Ruby itself (json, openssl, …); they
//! are reported too, marked [`PROP_DEFAULT`], because they are versioned and
//! patched like any other gem. Gems under `rubygems-integration` were
//! installed by Debian packages and are marked [`PROP_OS_MANAGED`].
//!
//! The files are Ruby source (`Gem::Specification#to_ruby`). They are never
//! executed: only the `Gem::Specification.new do |s| … end` block is read,
//! and in it only top-level assignments whose value is a literal — a string
//! (`"x"`, `'x'`, `%q{x}`, optionally `.freeze`), `nil`, or an array of
//! those. A file whose block is not closed (truncated), that is not UTF-8
//! (Ruby would reject it too) or that has no literal name or version is a
//! note naming the file; the other gems are still reported.

use stella_model::{Component, ComponentKind, Purl};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::{FsView, ViewError};

/// The gem directory (the parent of `specifications/`).
pub const PROP_DIR: &str = "stella:gem:dir";
/// `true` for a default gem (`specifications/default/`), part of Ruby itself.
pub const PROP_DEFAULT: &str = "stella:gem:default";
/// `true` for a gem installed by a Debian package (`rubygems-integration`).
pub const PROP_OS_MANAGED: &str = "stella:gem:os-managed";
/// `s.homepage`.
pub const PROP_HOMEPAGE: &str = "stella:gem:homepage";
/// Largest gemspec parsed.
pub const MAX_FILE: usize = 4 * 1024 * 1024;

const SUFFIX: &str = ".gemspec";

pub struct GemAnalyzer;

/// The gem directory of a specification file and whether it is a default gem.
fn spec_location(path: &str) -> Option<(&str, bool)> {
    let (dir, base) = path.rsplit_once('/')?;
    if base.len() <= SUFFIX.len() || !base.ends_with(SUFFIX) {
        return None;
    }
    if let Some(home) = gem_home(dir, "specifications/default") {
        return Some((home, true));
    }
    gem_home(dir, "specifications").map(|home| (home, false))
}

/// `dir` without its trailing `/<tail>` (or `""` when `dir` is `tail`).
fn gem_home<'a>(dir: &'a str, tail: &str) -> Option<&'a str> {
    if dir == tail {
        return Some("");
    }
    dir.strip_suffix(tail)?.strip_suffix('/')
}

impl PackageAnalyzer for GemAnalyzer {
    fn name(&self) -> &'static str {
        "gem"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        path.ends_with(SUFFIX) && spec_location(path).is_some()
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        _ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        for path in view.captured_files() {
            let Some((dir, default)) = spec_location(&path) else {
                continue;
            };
            let file = match view.read(&path) {
                Ok(Some(f)) => f,
                Ok(None) | Err(ViewError::NotCaptured { .. }) => continue,
                Err(e) => {
                    findings.notes.push((path.clone(), e.to_string()));
                    continue;
                }
            };
            if file.bytes.len() > MAX_FILE {
                findings.notes.push((
                    path.clone(),
                    format!("gemspec larger than {MAX_FILE} bytes; skipped"),
                ));
                continue;
            }
            match parse_gemspec(file.bytes) {
                Ok(spec) => findings
                    .components
                    .push(spec.into_component(&path, dir, default)),
                Err(e) => findings
                    .notes
                    .push((path.clone(), format!("gem skipped: {e}"))),
            }
        }
        Ok(findings)
    }
}

/// What the inventory uses from a gemspec.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GemSpec {
    pub name: String,
    pub version: String,
    /// `None` for the pure-Ruby platform (`ruby`).
    pub platform: Option<String>,
    pub licenses: Vec<String>,
    pub authors: Vec<String>,
    pub homepage: Option<String>,
}

impl GemSpec {
    fn into_component(self, path: &str, dir: &str, default: bool) -> Component {
        let mut c = Component::new(ComponentKind::Gem, &self.name, &self.version);
        let mut purl = Purl::new("gem", &self.name).with_version(&self.version);
        if let Some(p) = &self.platform {
            purl = purl.with_qualifier("platform", p);
        }
        c.purl = Some(purl);
        c.arch = self.platform;
        c.licenses = self.licenses;
        if !self.authors.is_empty() {
            c.supplier = Some(self.authors.join(", "));
        }
        c.evidence = vec![path.to_string()];
        c.properties.insert(PROP_DIR.to_string(), dir.to_string());
        if default {
            c.properties
                .insert(PROP_DEFAULT.to_string(), "true".to_string());
        }
        if path.starts_with("usr/") && path.contains("/rubygems-integration/") {
            c.properties
                .insert(PROP_OS_MANAGED.to_string(), "true".to_string());
        }
        if let Some(h) = self.homepage {
            c.properties.insert(PROP_HOMEPAGE.to_string(), h);
        }
        c
    }
}

/// A Ruby literal as it appears on the right of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lit {
    Str(String),
    Nil,
    Array(Vec<Option<String>>),
}

/// Reads the `Gem::Specification.new do |s| … end` block of a generated
/// gemspec without running it.
pub fn parse_gemspec(bytes: &[u8]) -> Result<GemSpec, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 (byte {})", e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let var = lines
        .by_ref()
        .find_map(block_variable)
        .ok_or("no `Gem::Specification.new do |s|` block")?;
    let prefix = format!("{var}.");
    let mut closed = false;
    let (mut name, mut version, mut platform) = (None, None, None);
    let mut spec = GemSpec::default();
    for line in lines {
        if line.starts_with("end") && line[3..].trim().is_empty() {
            closed = true;
            break;
        }
        let Some((field, value)) = line
            .trim_start()
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('='))
            .filter(|(_, v)| !v.starts_with(['=', '~']))
        else {
            continue;
        };
        let field = field.trim_end();
        if !matches!(
            field,
            "name"
                | "version"
                | "platform"
                | "licenses"
                | "license"
                | "authors"
                | "author"
                | "homepage"
        ) {
            continue;
        }
        let lit = match parse_literal(value.trim_start()) {
            Ok(lit) => lit,
            Err(e) if matches!(field, "name" | "version") => {
                return Err(format!("{var}.{field}: {e}"));
            }
            // A field we only describe with: an expression is ignored.
            Err(_) => continue,
        };
        let one = |lit: Lit| match lit {
            Lit::Str(s) => Some(s).filter(|s| !s.trim().is_empty()),
            Lit::Nil => None,
            Lit::Array(items) => items.into_iter().flatten().find(|s| !s.trim().is_empty()),
        };
        let many = |lit: Lit| -> Vec<String> {
            match lit {
                Lit::Str(s) => vec![s],
                Lit::Nil => Vec::new(),
                Lit::Array(items) => items.into_iter().flatten().collect(),
            }
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
        };
        match field {
            "name" => name = one(lit),
            "version" => version = one(lit),
            "platform" => platform = one(lit),
            "licenses" | "license" => spec.licenses = many(lit),
            "authors" | "author" => spec.authors = many(lit),
            _ => spec.homepage = one(lit).map(|h| h.trim().to_string()),
        }
    }
    if !closed {
        return Err("truncated: the Gem::Specification block has no closing `end`".to_string());
    }
    spec.name = name.ok_or("no name")?.trim().to_string();
    spec.version = version
        .ok_or_else(|| format!("{}: no version", spec.name))?
        .trim()
        .to_string();
    spec.platform = platform
        .map(|p| p.trim().to_string())
        .filter(|p| p != "ruby");
    Ok(spec)
}

/// `s` in `Gem::Specification.new do |s|`.
fn block_variable(line: &str) -> Option<&str> {
    let rest = line
        .trim()
        .strip_prefix("Gem::Specification.new")?
        .trim_start();
    let rest = rest.strip_prefix("do")?.trim_start().strip_prefix('|')?;
    let (var, _) = rest.split_once('|')?;
    let var = var.trim();
    let ident = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some(var)
}

/// Parses a literal at the start of `s`; what follows it (`.freeze`, an
/// `if` modifier) is ignored.
fn parse_literal(s: &str) -> Result<Lit, String> {
    if s.starts_with("nil") && !s[3..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return Ok(Lit::Nil);
    }
    if let Some(mut rest) = s.strip_prefix('[') {
        let mut items = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(']') {
                let _ = after;
                return Ok(Lit::Array(items));
            }
            if rest.starts_with("nil") {
                items.push(None);
                rest = &rest[3..];
            } else {
                let (item, after) = parse_string(rest)?;
                items.push(Some(item));
                rest = after;
            }
            rest = rest.trim_start();
            rest = rest.strip_prefix(".freeze").unwrap_or(rest).trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with(']') {
                return Err("unterminated array".to_string());
            }
        }
    }
    parse_string(s).map(|(v, _)| Lit::Str(v))
}

/// A string literal at the start of `s` and the text after it.
fn parse_string(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let (open, interpolating) = match chars.next() {
        Some((_, '"')) => ('"', true),
        Some((_, '\'')) => ('\'', false),
        Some((_, '%')) => {
            let (kind, delim) = match (chars.next(), chars.next()) {
                (Some((_, 'q')), Some((_, d))) => ('q', d),
                (Some((_, 'Q')), Some((_, d))) => ('Q', d),
                (Some((_, d)), _) if !d.is_alphanumeric() => ('Q', d),
                _ => return Err("not a string literal".to_string()),
            };
            let start = s.find(delim).map_or(s.len(), |i| i + delim.len_utf8());
            // `%q(` … `)` nests its bracket pairs.
            let close = match delim {
                '(' => ')',
                '[' => ']',
                '{' => '}',
                '<' => '>',
                d if d.is_alphanumeric() || d.is_whitespace() => {
                    return Err("not a string literal".to_string())
                }
                d => d,
            };
            return delimited(&s[start..], delim, close, kind == 'Q');
        }
        _ => return Err("not a string literal".to_string()),
    };
    delimited(&s[1..], open, open, interpolating)
}

/// The body of a string up to the unescaped `close`, with its escapes
/// resolved (`double`: double-quote escapes, else single-quote ones).
fn delimited(s: &str, open: char, close: char, double: bool) -> Result<(String, &str), String> {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut depth = 0usize;
    let mut iter = s.char_indices().peekable();
    let push = |out: &mut Vec<u8>, c: char| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    while let Some((i, c)) = iter.next() {
        if c == close && depth == 0 {
            let text = String::from_utf8_lossy(&out).into_owned();
            return Ok((text, &s[i + c.len_utf8()..]));
        }
        if open != close && c == open {
            depth += 1;
        } else if open != close && c == close {
            depth -= 1;
        }
        if c != '\\' {
            push(&mut out, c);
            continue;
        }
        let Some((_, e)) = iter.next() else {
            break;
        };
        if !double {
            // Single-quoted: only the backslash and the delimiters escape.
            if e != '\\' && e != close && e != open {
                push(&mut out, '\\');
            }
            push(&mut out, e);
            continue;
        }
        match e {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            's' => out.push(b' '),
            'e' => out.push(0x1b),
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0c),
            'v' => out.push(0x0b),
            'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match iter.peek().and_then(|(_, d)| d.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            iter.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut n = 1;
                while n < 3 {
                    match iter.peek().and_then(|(_, d)| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            iter.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            'u' => {
                let mut codes = Vec::new();
                if iter.peek().map(|(_, c)| *c) == Some('{') {
                    iter.next();
                    let mut cur = String::new();
                    for (_, d) in iter.by_ref() {
                        if d == '}' || d == ' ' {
                            if !cur.is_empty() {
                                codes.push(std::mem::take(&mut cur));
                            }
                            if d == '}' {
                                break;
                            }
                        } else {
                            cur.push(d);
                        }
                    }
                } else {
                    let mut cur = String::new();
                    while cur.len() < 4 {
                        match iter.peek() {
                            Some((_, d)) if d.is_ascii_hexdigit() => {
                                cur.push(*d);
                                iter.next();
                            }
                            _ => break,
                        }
                    }
                    codes.push(cur);
                }
                for code in codes {
                    let c = u32::from_str_radix(&code, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("bad \\u escape {code:?}"))?;
                    push(&mut out, c);
                }
            }
            other => push(&mut out, other),
        }
    }
    Err("unterminated string".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn run(fs: &MemFs) -> Findings {
        match GemAnalyzer.analyze(fs, &AnalyzeContext::default()) {
            Ok(f) => f,
            Err(e) => panic!("analyzer failed: {e}"),
        }
    }

    /// Written by RubyGems 3.3 (`gem install` of a platform gem).
    const PLATFORM_GEM: &str = r#"# -*- encoding: utf-8 -*-
# stub: nokogiri 1.15.4 x86_64-linux lib

Gem::Specification.new do |s|
  s.name = "nokogiri".freeze
  s.version = "1.15.4"
  s.platform = "x86_64-linux".freeze

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.metadata = { "bug_tracker_uri" => "https://github.com/sparklemotion/nokogiri/issues" } if s.respond_to? :metadata=
  s.require_paths = ["lib".freeze]
  s.authors = ["Mike Dalessio".freeze, "Aaron Patterson".freeze, nil]
  s.description = "Nokogiri (\u92F8) makes it easy \"and\" painless\nto work with XML.\#{x}".freeze
  s.email = ["nokogiri-talk@googlegroups.com".freeze]
  s.homepage = "https://nokogiri.org".freeze
  s.licenses = ["MIT".freeze]
  s.summary = "Nokogiri (\u92F8) makes it easy and painless to work with XML and HTML from Ruby.".freeze

  s.installed_by_version = "3.3.15" if s.respond_to? :installed_by_version

  if s.respond_to? :specification_version then
    s.specification_version = 4
  end

  if s.respond_to? :add_runtime_dependency then
    s.add_runtime_dependency(%q<racc>.freeze, ["~> 1.4"])
  else
    s.add_dependency(%q<racc>.freeze, ["~> 1.4"])
  end
end
"#;

    /// The RubyGems 1.x style: `%q{}` strings and a singular `license`.
    const OLD_STYLE: &str = "# -*- encoding: utf-8 -*-\n\nGem::Specification.new do |spec|\n  spec.name = %q{json_pure}\n  spec.version = \"1.4.6\"\n\n  spec.required_rubygems_version = Gem::Requirement.new(\">= 0\") if spec.respond_to? :required_rubygems_version=\n  spec.authors = [%q{Florian Frank}]\n  spec.homepage = %q{http://flori.github.com/json}\n  spec.license = 'Ruby\\'s'\n  spec.platform = %q(ruby)\nend\n";

    #[test]
    fn platform_gem_and_literals() {
        let spec = parse_gemspec(PLATFORM_GEM.as_bytes()).expect("parses");
        assert_eq!(
            spec,
            GemSpec {
                name: "nokogiri".to_string(),
                version: "1.15.4".to_string(),
                platform: Some("x86_64-linux".to_string()),
                licenses: vec!["MIT".to_string()],
                authors: vec!["Mike Dalessio".to_string(), "Aaron Patterson".to_string()],
                homepage: Some("https://nokogiri.org".to_string()),
            }
        );
        let old = parse_gemspec(OLD_STYLE.as_bytes()).expect("parses");
        assert_eq!(old.name, "json_pure");
        assert_eq!(old.version, "1.4.6");
        assert_eq!(old.platform, None);
        assert_eq!(old.licenses, vec!["Ruby's"]);
        assert_eq!(old.authors, vec!["Florian Frank"]);
        assert_eq!(
            old.homepage.as_deref(),
            Some("http://flori.github.com/json")
        );
    }

    #[test]
    fn string_escapes() {
        let s = |lit: &str| match parse_literal(lit) {
            Ok(Lit::Str(s)) => s,
            other => panic!("{lit}: {other:?}"),
        };
        assert_eq!(
            s(r#""a\"b\\c\n\u00e9\u{1F600 41}\x41\101\#{x}".freeze"#),
            "a\"b\\c\n\u{e9}\u{1F600}AAA#{x}"
        );
        assert_eq!(s(r"'it\'s \n'"), "it's \\n");
        assert_eq!(s("%q<a<b>c>.freeze"), "a<b>c");
        assert_eq!(s("%Q{x\\ty}"), "x\ty");
        assert_eq!(s("%(x)"), "x");
        assert_eq!(
            parse_literal(r#"["a".freeze, nil, 'b' ]"#),
            Ok(Lit::Array(vec![
                Some("a".to_string()),
                None,
                Some("b".to_string())
            ]))
        );
        assert_eq!(parse_literal("nil"), Ok(Lit::Nil));
        assert!(parse_literal("Foo::VERSION").is_err());
        assert!(parse_literal("\"open").is_err());
        assert!(parse_literal("[\"a\" \"b\"]").is_err());
    }

    #[test]
    fn gem_directories_and_properties() {
        let spec = |n: &str, v: &str| {
            format!("Gem::Specification.new do |s|\n  s.name = \"{n}\".freeze\n  s.version = \"{v}\"\n  s.licenses = [\"MIT\".freeze]\nend\n")
        };
        let fs = MemFs::new()
            .with_file(
                "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
                spec("rake", "13.0.6"),
            )
            .with_file(
                "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
                spec("json", "2.6.1"),
            )
            .with_file(
                "usr/share/rubygems-integration/all/specifications/webrick-1.8.1.gemspec",
                spec("webrick", "1.8.1"),
            )
            .with_file(
                "usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec",
                PLATFORM_GEM,
            )
            .with_file(
                "usr/local/bundle/gems/rack-3.0.0/rack.gemspec",
                spec("rack", "3.0.0"),
            );
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        type Row<'a> = (
            &'a str,
            String,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let got: Vec<Row> = f
            .components
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                    c.properties.get(PROP_DIR).map(String::as_str),
                    c.properties.get(PROP_DEFAULT).map(String::as_str),
                    c.properties.get(PROP_OS_MANAGED).map(String::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "json",
                    "pkg:gem/json@2.6.1".to_string(),
                    Some("usr/lib/ruby/gems/3.1.0"),
                    Some("true"),
                    None
                ),
                (
                    "rake",
                    "pkg:gem/rake@13.0.6".to_string(),
                    Some("usr/lib/ruby/gems/3.1.0"),
                    None,
                    None
                ),
                (
                    "nokogiri",
                    "pkg:gem/nokogiri@1.15.4?platform=x86_64-linux".to_string(),
                    Some("usr/local/bundle"),
                    None,
                    None
                ),
                (
                    "webrick",
                    "pkg:gem/webrick@1.8.1".to_string(),
                    Some("usr/share/rubygems-integration/all"),
                    None,
                    Some("true")
                ),
            ]
        );
        let nokogiri = &f.components[2];
        assert_eq!(nokogiri.kind, ComponentKind::Gem);
        assert_eq!(nokogiri.arch.as_deref(), Some("x86_64-linux"));
        assert_eq!(
            nokogiri.supplier.as_deref(),
            Some("Mike Dalessio, Aaron Patterson")
        );
        assert_eq!(
            nokogiri.properties.get(PROP_HOMEPAGE).map(String::as_str),
            Some("https://nokogiri.org")
        );
        assert_eq!(
            nokogiri.evidence,
            vec!["usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec"]
        );
    }

    #[test]
    fn malformed_gemspecs_become_notes() {
        let dir = "var/lib/gems/3.1.0/specifications";
        let truncated = &PLATFORM_GEM[..PLATFORM_GEM.find("s.licenses").unwrap_or(0)];
        let fs = MemFs::new()
            .with_file(&format!("{dir}/a-truncated-1.gemspec"), truncated)
            .with_file(
                &format!("{dir}/b-nover-1.gemspec"),
                "Gem::Specification.new do |s|\n  s.name = \"b\"\nend\n",
            )
            .with_file(
                &format!("{dir}/c-expr-1.gemspec"),
                "Gem::Specification.new do |s|\n  s.name = \"c\"\n  s.version = C::VERSION\nend\n",
            )
            .with_file(&format!("{dir}/d-notruby-1.gemspec"), "{\"name\": \"d\"}")
            .with_file(
                &format!("{dir}/e-latin1-1.gemspec"),
                b"Gem::Specification.new do |s|\n  s.name = \"caf\xe9\"\n  s.version = \"1\"\nend\n".to_vec(),
            )
            .with_file(
                &format!("{dir}/f-good-1.gemspec"),
                "Gem::Specification.new do |s|\n  s.name = \"f\"\n  s.version = \"1\"\nend\n",
            )
            .with_file(&format!("{dir}/g-empty-1.gemspec"), "");
        let f = run(&fs);
        let names: Vec<&str> = f.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["f"]);
        let noted: Vec<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
        let expected: Vec<String> = [
            "a-truncated",
            "b-nover",
            "c-expr",
            "d-notruby",
            "e-latin1",
            "g-empty",
        ]
        .iter()
        .map(|n| format!("{dir}/{n}-1.gemspec"))
        .collect();
        assert_eq!(noted, expected);
        assert!(f.notes[0].1.contains("truncated"), "{:?}", f.notes);
        assert!(f.notes[1].1.contains("b: no version"), "{:?}", f.notes);
    }

    #[test]
    fn wants_is_precise() {
        let a = GemAnalyzer;
        for p in [
            "usr/lib/ruby/gems/3.1.0/specifications/x-1.2.gemspec",
            "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
            "var/lib/gems/3.1.0/specifications/x-1.gemspec",
            "usr/local/bundle/specifications/x-1.gemspec",
            "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec",
            "usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/specifications/ffi-1.15.5.gemspec",
            "specifications/x-1.gemspec",
        ] {
            assert!(a.wants(p), "{p}");
        }
        for p in [
            "usr/local/bundle/gems/rack-3.0.0/rack.gemspec",
            "app/x.gemspec",
            "usr/local/bundle/specifications/.gemspec",
            "usr/local/bundle/specifications/x/y-1.gemspec",
            "usr/local/bundle/myspecifications/x-1.gemspec",
            "usr/local/bundle/specifications/x-1.gemspec.bak",
        ] {
            assert!(!a.wants(p), "{p}");
        }
    }
}
