//! Rust executables built with `cargo auditable`: the crates recorded in the
//! `.dep-v0` section (zlib-compressed JSON, `{"packages": [{name, version,
//! source, kind?, dependencies?, root?}], "format": 1}`).
//!
//! Reported (`ComponentKind::Cargo`, `pkg:cargo/NAME@VERSION`): every crate
//! whose code is linked in, the root crate included (`stella:cargo:root`),
//! with `stella:cargo:source` (crates.io, git, local, registry, other) and
//! `stella:cargo:kind`. Build-only crates (`"kind": "build"`: proc-macros,
//! build-script dependencies) run on the build machine and are not in the
//! binary, so they are not components — as syft does; they are listed on
//! the root crate as `stella:cargo:build-deps` (`name@version`, sorted) for
//! supply-chain review.
//!
//! Bounded: the section inflates to at most [`MAX_INFLATED`] bytes; the
//! typed structure is two levels deep, serde_json stops at 128 levels and
//! skips unknown fields without recursing, so nesting cannot exhaust the
//! stack. No `.dep-v0` section: no
//! report. A section that does not decode: a note.

use std::collections::BTreeSet;
use std::io::Read;

use serde::Deserialize;
use stella_model::{Component, ComponentKind, Purl};

use super::elf::{is_elf, ElfImage};
use crate::file_analyzer::{FileAnalyzer, FileReport};

/// The section `cargo auditable` writes.
pub const SECTION: &[u8] = b".dep-v0";
/// Largest inflated dependency list accepted (real ones are kilobytes).
pub const MAX_INFLATED: u64 = 8 * 1024 * 1024;
pub const PROP_SOURCE: &str = "stella:cargo:source";
pub const PROP_KIND: &str = "stella:cargo:kind";
pub const PROP_ROOT: &str = "stella:cargo:root";
pub const PROP_BUILD_DEPS: &str = "stella:cargo:build-deps";

#[derive(Debug, Deserialize)]
struct VersionInfo {
    packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    version: String,
    source: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    dependencies: Vec<u64>,
    #[serde(default)]
    root: bool,
}

pub struct CargoAuditableAnalyzer;

impl FileAnalyzer for CargoAuditableAnalyzer {
    fn name(&self) -> &'static str {
        "cargo-auditable"
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self, _path: &str, _mode: u32, head: &[u8]) -> bool {
        is_elf(head)
    }

    fn analyze_file(
        &self,
        _path: &str,
        data: &[u8],
        report: &mut FileReport,
    ) -> Result<(), String> {
        let Some(elf) = ElfImage::parse(data) else {
            return Ok(());
        };
        let Some(section) = elf.section(SECTION) else {
            return Ok(());
        };
        let json = inflate(elf.section_data(section))?;
        report.components.extend(parse(&json)?);
        Ok(())
    }
}

/// Inflates the zlib stream, refusing more than [`MAX_INFLATED`] bytes.
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: bad zlib data: {e}", show(SECTION)))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(format!(
            "{} inflates past {MAX_INFLATED} bytes",
            show(SECTION)
        ));
    }
    Ok(out)
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The components of one inflated dependency list.
pub fn parse(json: &[u8]) -> Result<Vec<Component>, String> {
    let info: VersionInfo = serde_json::from_slice(json)
        .map_err(|e| format!("{}: bad dependency list: {e}", show(SECTION)))?;
    let count = info.packages.len() as u64;
    let mut build_deps = BTreeSet::new();
    let mut out = Vec::new();
    let mut root_index = None;
    for p in &info.packages {
        if p.name.is_empty() || p.version.is_empty() {
            return Err(format!(
                "{}: package without name or version",
                show(SECTION)
            ));
        }
        if let Some(bad) = p.dependencies.iter().find(|&&d| d >= count) {
            return Err(format!(
                "{}: {} depends on package #{bad} of {count}",
                show(SECTION),
                p.name
            ));
        }
        let kind = p.kind.as_deref().unwrap_or("runtime");
        if kind == "build" {
            build_deps.insert(format!("{}@{}", p.name, p.version));
            continue;
        }
        let mut c = Component::new(ComponentKind::Cargo, &p.name, &p.version);
        c.purl = Some(Purl::new("cargo", &p.name).with_version(&p.version));
        c.properties.insert(PROP_SOURCE.into(), p.source.clone());
        c.properties.insert(PROP_KIND.into(), kind.to_string());
        if p.root {
            c.properties.insert(PROP_ROOT.into(), "true".into());
            root_index = Some(out.len());
        }
        out.push(c);
    }
    if let (Some(i), false) = (root_index, build_deps.is_empty()) {
        if let Some(root) = out.get_mut(i) {
            let list: Vec<String> = build_deps.into_iter().collect();
            root.properties
                .insert(PROP_BUILD_DEPS.into(), list.join(","));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_crates_with_build_deps_on_the_root() {
        let json = br#"{"packages":[
            {"name":"autocfg","version":"1.5.0","source":"crates.io","kind":"build"},
            {"name":"itoa","version":"1.0.19","source":"crates.io"},
            {"name":"app","version":"0.1.0","source":"local","dependencies":[0,1],"root":true},
            {"name":"fork","version":"0.2.0","source":"git","kind":"runtime"}],"format":1}"#;
        let cs = parse(json).expect("parses");
        let names: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["itoa", "app", "fork"]);
        assert_eq!(cs[1].properties[PROP_BUILD_DEPS], "autocfg@1.5.0");
        assert_eq!(cs[1].properties[PROP_SOURCE], "local");
        assert_eq!(cs[2].properties[PROP_SOURCE], "git");
        assert_eq!(
            cs[0].purl.as_ref().map(|p| p.to_string()).as_deref(),
            Some("pkg:cargo/itoa@1.0.19")
        );
    }

    #[test]
    fn rejects_bad_lists() {
        assert!(parse(b"{}").is_err());
        assert!(parse(b"[1,2]").is_err());
        assert!(parse(
            br#"{"packages":[{"name":"a","version":"1","source":"local","dependencies":[1]}]}"#
        )
        .is_err());
        assert!(parse(br#"{"packages":[{"name":"","version":"1","source":"local"}]}"#).is_err());
        let deep = format!(
            r#"{{"packages":[],"extra":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Unknown fields are skipped without recursion: deep nesting costs
        // no stack.
        assert!(parse(deep.as_bytes()).is_ok_and(|c| c.is_empty()));
    }

    #[test]
    fn inflate_is_bounded() {
        use flate2::write::ZlibEncoder;
        use std::io::Write;
        let mut enc = ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..9 {
            enc.write_all(&zeros).expect("compress");
        }
        let bomb = enc.finish().expect("compress");
        assert!(bomb.len() < 64 * 1024);
        assert!(inflate(&bomb).unwrap_err().contains("inflates past"));
        assert!(inflate(b"not zlib").is_err());
    }
}
