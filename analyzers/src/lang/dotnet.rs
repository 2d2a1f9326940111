//! .NET packages: the `libraries` of every `*.deps.json` (any directory).
//!
//! Why this file: the .NET host reads `<app>.deps.json` at start-up to decide
//! which assemblies it loads, so it lists the NuGet packages a published app
//! really ships (the `.csproj` and `obj/project.assets.json` are build inputs
//! and are usually absent from images).
//!
//! What is reported:
//! - `"type": "package"` entries: NuGet packages, `pkg:nuget/<id>@<version>`
//!   with the id as written (NuGet ids are case-insensitive; the purl spec
//!   keeps the name as is).
//! - `"type": "runtimepack"` entries (self-contained apps): the .NET runtime
//!   the app carries, e.g. `runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0`.
//!   The `runtimepack.` prefix is the SDK's naming, not part of the NuGet id,
//!   so it is dropped and the component is marked [`PROP_RUNTIMEPACK`]: this
//!   is the runtime version that .NET advisories are about.
//!
//! What is not: `project` entries (the app itself and the projects of its
//! solution) and `reference` entries (plain assembly references). They are
//! not NuGet packages: their version is an assembly version, and a
//! `pkg:nuget` purl for them would point at whatever unrelated package holds
//! that id on nuget.org.
//!
//! A package listed in `libraries` whose `targets` entries carry no runtime,
//! native or resource assets (build-time packages such as SourceLink) is
//! still reported, marked [`PROP_RUNTIME_ASSETS`]` = false`.
//!
//! One broken file must not hide the others: malformed or oversized files and
//! entries become notes, never an [`AnalyzerError`].

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use stella_model::{Component, ComponentKind, Purl};

use crate::analyzer::{AnalyzeContext, AnalyzerError, Findings, PackageAnalyzer};
use crate::fs::{FsView, ViewError};

/// The package's `sha512` integrity string from the library entry.
pub const PROP_SHA512: &str = "stella:nuget:sha512";
/// The package's `path` (its directory in the NuGet package cache layout).
pub const PROP_PATH: &str = "stella:nuget:path";
/// `true` on a runtime pack (the .NET runtime of a self-contained app).
pub const PROP_RUNTIMEPACK: &str = "stella:nuget:runtimepack";
/// `false` when no target gives the package any runtime, native or resource asset.
pub const PROP_RUNTIME_ASSETS: &str = "stella:nuget:runtime-assets";
/// Largest `deps.json` parsed.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

const SUFFIX: &str = ".deps.json";
const RUNTIMEPACK_PREFIX: &str = "runtimepack.";

pub struct DotnetAnalyzer;

fn is_deps_json(path: &str) -> bool {
    let base = path.rsplit_once('/').map_or(path, |(_, b)| b);
    base.len() > SUFFIX.len() && base.ends_with(SUFFIX)
}

impl PackageAnalyzer for DotnetAnalyzer {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn version(&self) -> u32 {
        1
    }

    fn wants(&self, path: &str) -> bool {
        is_deps_json(path)
    }

    fn analyze(
        &self,
        view: &dyn FsView,
        _ctx: &AnalyzeContext<'_>,
    ) -> Result<Findings, AnalyzerError> {
        let mut findings = Findings::default();
        let mut seen = BTreeSet::new();
        for path in view.captured_files() {
            if !is_deps_json(&path) {
                continue;
            }
            let file = match view.read(&path) {
                Ok(Some(f)) => f,
                Ok(None) | Err(ViewError::NotCaptured { .. }) => continue,
                Err(e) => {
                    findings.notes.push((path, e.to_string()));
                    continue;
                }
            };
            if !seen.insert(file.path.to_string()) {
                continue;
            }
            match parse_deps_json(file.path, file.bytes) {
                Ok((components, notes)) => {
                    findings.components.extend(components);
                    findings
                        .notes
                        .extend(notes.into_iter().map(|n| (file.path.to_string(), n)));
                }
                Err(n) => findings.notes.push((file.path.to_string(), n)),
            }
        }
        Ok(findings)
    }
}

/// True when any target lists runtime, native or resource assets for `key`.
fn has_runtime_assets(targets: Option<&Map<String, Value>>, key: &str) -> bool {
    let Some(targets) = targets else {
        // No targets section: nothing says the package is unused.
        return true;
    };
    targets.values().any(|target| {
        target
            .get(key)
            .and_then(Value::as_object)
            .is_some_and(|entry| {
                ["runtime", "native", "runtimeTargets", "resources"]
                    .iter()
                    .any(|k| {
                        entry
                            .get(*k)
                            .and_then(Value::as_object)
                            .is_some_and(|m| !m.is_empty())
                    })
            })
    })
}

/// The components of one deps.json (sorted by name, version) and notes
/// about entries that were skipped; `Err` when the file gives nothing.
pub fn parse_deps_json(path: &str, bytes: &[u8]) -> Result<(Vec<Component>, Vec<String>), String> {
    if bytes.len() > MAX_FILE {
        return Err(format!("deps.json larger than {MAX_FILE} bytes; skipped"));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed deps.json: {e}"))?;
    let Some(doc) = doc.as_object() else {
        return Err("malformed deps.json: not a JSON object".to_string());
    };
    let Some(libraries) = doc.get("libraries").and_then(Value::as_object) else {
        return Err("malformed deps.json: no \"libraries\" object".to_string());
    };
    let targets = doc.get("targets").and_then(Value::as_object);
    let mut components = Vec::new();
    let mut notes = Vec::new();
    for (key, entry) in libraries {
        let ty = entry
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let runtimepack = match ty {
            "package" => false,
            "runtimepack" => true,
            // The app and its projects, assembly references, unknown kinds.
            _ => continue,
        };
        let Some((id, version)) = key
            .split_once('/')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty() && !v.contains('/'))
        else {
            notes.push(format!(
                "library {key:?} is not \"<id>/<version>\"; skipped"
            ));
            continue;
        };
        let id = if runtimepack {
            id.strip_prefix(RUNTIMEPACK_PREFIX).unwrap_or(id)
        } else {
            id
        };
        let mut c = Component::new(ComponentKind::Nuget, id, version);
        c.purl = Some(Purl::new("nuget", id).with_version(version));
        c.evidence = vec![path.to_string()];
        let text = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        if let Some(sha) = text("sha512") {
            c.properties
                .insert(PROP_SHA512.to_string(), sha.to_string());
        }
        if let Some(p) = text("path") {
            c.properties.insert(PROP_PATH.to_string(), p.to_string());
        }
        if runtimepack {
            c.properties
                .insert(PROP_RUNTIMEPACK.to_string(), "true".to_string());
        } else if !has_runtime_assets(targets, key) {
            c.properties
                .insert(PROP_RUNTIME_ASSETS.to_string(), "false".to_string());
        }
        components.push(c);
    }
    components.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok((components, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn run(fs: &MemFs) -> Findings {
        match DotnetAnalyzer.analyze(fs, &AnalyzeContext::default()) {
            Ok(f) => f,
            Err(e) => panic!("analyzer failed: {e}"),
        }
    }

    const SELF_CONTAINED: &str = r#"{
      "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64", "signature": ""},
      "targets": {
        ".NETCoreApp,Version=v8.0": {},
        ".NETCoreApp,Version=v8.0/linux-x64": {
          "MyApp/1.0.0": {"dependencies": {"Serilog": "3.1.1"}, "runtime": {"MyApp.dll": {}}},
          "Serilog/3.1.1": {"runtime": {"lib/net7.0/Serilog.dll": {"assemblyVersion": "2.0.0.0"}}},
          "Microsoft.SourceLink.GitHub/8.0.0": {"dependencies": {}},
          "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"runtime": {"System.Private.CoreLib.dll": {}}},
          "Shared.Lib/2.0.0": {"runtime": {"Shared.Lib.dll": {}}}
        }
      },
      "libraries": {
        "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
        "Serilog/3.1.1": {"type": "package", "serviceable": true, "sha512": "sha512-abc==", "path": "serilog/3.1.1", "hashPath": "serilog.3.1.1.nupkg.sha512"},
        "Microsoft.SourceLink.GitHub/8.0.0": {"type": "package", "serviceable": true, "sha512": "sha512-def==", "path": "microsoft.sourcelink.github/8.0.0"},
        "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"type": "runtimepack", "serviceable": false, "sha512": ""},
        "Shared.Lib/2.0.0": {"type": "project"},
        "PdfSharp/6.2.4.0": {"type": "reference"}
      }
    }"#;

    #[test]
    fn packages_and_runtime_pack_not_projects() {
        let fs = MemFs::new().with_file("app/MyApp.deps.json", SELF_CONTAINED);
        let f = run(&fs);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let got: Vec<(String, String, String)> = f
            .components
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.version.clone(),
                    c.purl.as_ref().map(ToString::to_string).unwrap_or_default(),
                )
            })
            .collect();
        let t = |n: &str, v: &str, p: &str| (n.to_string(), v.to_string(), p.to_string());
        assert_eq!(
            got,
            vec![
                t(
                    "Microsoft.NETCore.App.Runtime.linux-x64",
                    "8.0.0",
                    "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@8.0.0"
                ),
                t(
                    "Microsoft.SourceLink.GitHub",
                    "8.0.0",
                    "pkg:nuget/Microsoft.SourceLink.GitHub@8.0.0"
                ),
                t("Serilog", "3.1.1", "pkg:nuget/Serilog@3.1.1"),
            ]
        );
        let runtime = &f.components[0];
        assert_eq!(runtime.kind, ComponentKind::Nuget);
        assert_eq!(
            runtime.properties.get(PROP_RUNTIMEPACK).map(String::as_str),
            Some("true")
        );
        assert!(!runtime.properties.contains_key(PROP_SHA512));
        let sourcelink = &f.components[1];
        assert_eq!(
            sourcelink
                .properties
                .get(PROP_RUNTIME_ASSETS)
                .map(String::as_str),
            Some("false")
        );
        let serilog = &f.components[2];
        assert_eq!(serilog.evidence, vec!["app/MyApp.deps.json"]);
        assert_eq!(
            serilog.properties.get(PROP_SHA512).map(String::as_str),
            Some("sha512-abc==")
        );
        assert_eq!(
            serilog.properties.get(PROP_PATH).map(String::as_str),
            Some("serilog/3.1.1")
        );
        assert!(!serilog.properties.contains_key(PROP_RUNTIME_ASSETS));
        assert!(!serilog.properties.contains_key(PROP_RUNTIMEPACK));
    }

    #[test]
    fn malformed_files_and_entries_become_notes() {
        let fs = MemFs::new()
            .with_file("a/Bad.deps.json", "{\"libraries\": {")
            .with_file("a/Array.deps.json", "[]")
            .with_file("a/NoLibs.deps.json", "{\"targets\": {}}")
            .with_file(
                "b/Mixed.deps.json",
                r#"{"libraries": {"NoVersion": {"type": "package"}, "Empty/": {"type": "package"}, "Good/1.0.0": {"type": "package"}}}"#,
            )
            .with_file("c/Other.deps.json", "\u{feff}{\"libraries\": {\"X/2.0\": {\"type\": \"package\"}}}")
            .with_file("c/deps.json", "not wanted: no app name");
        let f = run(&fs);
        let names: Vec<&str> = f.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["Good", "X"]);
        let noted: Vec<&str> = f.notes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            noted,
            vec![
                "a/Array.deps.json",
                "a/Bad.deps.json",
                "a/NoLibs.deps.json",
                "b/Mixed.deps.json",
                "b/Mixed.deps.json",
            ]
        );
        assert!(
            f.notes[1].1.contains("malformed deps.json"),
            "{:?}",
            f.notes
        );
        assert!(f.notes[4].1.contains("NoVersion"), "{:?}", f.notes);
    }

    #[test]
    fn wants_only_deps_json() {
        let a = DotnetAnalyzer;
        assert!(a.wants("app/MyApp.deps.json"));
        assert!(a.wants("MyApp.deps.json"));
        assert!(a.wants(
            "usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json"
        ));
        assert!(!a.wants("app/deps.json"));
        assert!(!a.wants("app/.deps.json"));
        assert!(!a.wants("app/MyApp.runtimeconfig.json"));
        assert!(!a.wants("app/MyApp.deps.json.bak"));
    }
}
