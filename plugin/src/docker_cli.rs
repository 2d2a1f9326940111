//! `docker stella`: the stella binary as a docker CLI plugin.
//!
//! The docker CLI finds plugins as `docker-NAME` executables in
//! `~/.docker/cli-plugins` (or `$DOCKER_CONFIG/cli-plugins`) and the system
//! plugin directories. It asks each one for metadata with
//! `docker-NAME docker-cli-plugin-metadata` (a JSON object with
//! `SchemaVersion` "0.1.0" and `Vendor`, nothing else on stdout, exit 0),
//! and runs `docker NAME ARGS` as `docker-NAME [GLOBAL OPTIONS] NAME ARGS`.
//! So when our argv\[0\] is `docker-stella`, [`invocation`] answers the
//! metadata request or strips the docker global options and the plugin
//! name, leaving the arguments of a plain `stella` command line.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The plugin's name: `docker stella`.
pub const PLUGIN_NAME: &str = "stella";
/// The executable name the docker CLI looks for.
pub const PLUGIN_BINARY: &str = "docker-stella";
/// The subcommand every docker CLI plugin must answer.
pub const METADATA_SUBCOMMAND: &str = "docker-cli-plugin-metadata";

/// docker global options that take a value as the next argument when not
/// written `--opt=value` (docker(1); `-v` is not passed to plugins).
const GLOBAL_OPTIONS_WITH_VALUE: &[&str] = &[
    "--config",
    "-c",
    "--context",
    "-H",
    "--host",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
];

/// What a process start means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Print this JSON (the plugin metadata) and exit 0.
    Metadata(String),
    /// Run the stella command line with these arguments (argv\[0\] first).
    Stella(Vec<OsString>),
}

/// Classifies the process arguments: as `docker-stella`, the metadata
/// request or a plugin run (`docker-stella [GLOBAL OPTIONS] stella ARGS` →
/// `docker stella ARGS`); under any other name, unchanged.
///
/// `--config DIR` among the global options names the docker config
/// directory; it is returned so registry credentials come from the same
/// place the docker CLI was told to use.
pub fn invocation(args: Vec<OsString>) -> (Invocation, Option<PathBuf>) {
    let is_plugin = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == OsStr::new(PLUGIN_BINARY));
    if !is_plugin {
        return (Invocation::Stella(args), None);
    }
    let rest = &args[1..];
    if rest.first().is_some_and(|a| a == METADATA_SUBCOMMAND) {
        return (Invocation::Metadata(metadata_json()), None);
    }
    let mut config = None;
    let mut i = 0;
    while let Some(arg) = rest.get(i) {
        if arg == PLUGIN_NAME {
            let mut out = vec![OsString::from(format!("docker {PLUGIN_NAME}"))];
            out.extend(rest[i + 1..].iter().cloned());
            return (Invocation::Stella(out), config);
        }
        let text = arg.to_string_lossy();
        // `docker help stella [CMD]` runs `docker-stella help stella [CMD]`:
        // stella's own `help [CMD]`.
        if text == "help" && rest.get(i + 1).is_some_and(|a| a == PLUGIN_NAME) {
            let mut out = vec![OsString::from(format!("docker {PLUGIN_NAME}")), arg.clone()];
            out.extend(rest[i + 2..].iter().cloned());
            return (Invocation::Stella(out), config);
        }
        if let Some(dir) = text.strip_prefix("--config=") {
            config = Some(PathBuf::from(dir));
        } else if GLOBAL_OPTIONS_WITH_VALUE.contains(&text.as_ref()) {
            if text == "--config" {
                config = rest.get(i + 1).map(PathBuf::from);
            }
            i += 1;
        } else if !text.starts_with('-') {
            // Not a global option and not our name: run it as given, so the
            // user sees stella's own usage error.
            break;
        }
        i += 1;
    }
    let mut out = vec![OsString::from(format!("docker {PLUGIN_NAME}"))];
    out.extend(rest.iter().skip(i).cloned());
    (Invocation::Stella(out), config)
}

/// [`invocation`] of this process's arguments. A `--config DIR` docker
/// global option becomes `DOCKER_CONFIG`, where registry credentials are
/// read. Call it first thing in `main`, before any thread starts (it may
/// set an environment variable).
pub fn from_process() -> Invocation {
    let (invocation, config) = invocation(std::env::args_os().collect());
    if let Some(dir) = config {
        std::env::set_var("DOCKER_CONFIG", dir);
    }
    invocation
}

/// The plugin metadata the docker CLI asks for.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    schema_version: &'static str,
    vendor: &'static str,
    version: &'static str,
    short_description: &'static str,
    #[serde(rename = "URL")]
    url: &'static str,
}

/// The metadata JSON (`SchemaVersion` 0.1.0, vendor, this crate's version).
pub fn metadata_json() -> String {
    let metadata = Metadata {
        schema_version: "0.1.0",
        vendor: "Stella",
        version: env!("CARGO_PKG_VERSION"),
        short_description: "Scan images and write deterministic SBOMs",
        url: crate::PROJECT_URL,
    };
    // A struct of strings always serializes.
    serde_json::to_string(&metadata).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("no plugin directory: set DOCKER_CONFIG or HOME, or pass --dir")]
    NoDirectory,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} exists and is a directory", .0.display())]
    Occupied(PathBuf),
}

/// `$DOCKER_CONFIG/cli-plugins`, else `$HOME/.docker/cli-plugins`.
pub fn default_plugin_dir() -> Option<PathBuf> {
    plugin_dir_from(
        std::env::var_os("DOCKER_CONFIG").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

fn plugin_dir_from(docker_config: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let config = match docker_config.filter(|c| !c.is_empty()) {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".docker"),
    };
    Some(config.join("cli-plugins"))
}

/// Makes `DIR/docker-stella` a symlink to `target` (the stella binary),
/// creating `DIR` when missing and replacing an earlier file or symlink
/// atomically. Returns the link's path.
pub fn install(dir: &Path, target: &Path) -> Result<PathBuf, InstallError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let link = dir.join(PLUGIN_BINARY);
    if fs::symlink_metadata(&link).is_ok_and(|m| m.is_dir()) {
        return Err(InstallError::Occupied(link));
    }
    // A new link under a temporary name, renamed over the old one: the
    // docker CLI never sees a missing or half-written plugin.
    let staging = dir.join(format!(".{PLUGIN_BINARY}.{}", std::process::id()));
    let _ = fs::remove_file(&staging);
    symlink(target, &staging).map_err(io(&staging))?;
    if let Err(e) = fs::rename(&staging, &link) {
        let _ = fs::remove_file(&staging);
        return Err(io(&link)(e));
    }
    Ok(link)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    fs::copy(target, link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn plain_stella_is_untouched() {
        let args = os(&["/usr/bin/stella", "scan", "x"]);
        assert_eq!(invocation(args.clone()), (Invocation::Stella(args), None));
        // Only the exact plugin name counts.
        let args = os(&["docker-stellar", "stella", "scan"]);
        assert_eq!(invocation(args.clone()), (Invocation::Stella(args), None));
    }

    #[test]
    fn metadata_request() {
        let (inv, _) = invocation(os(&["/x/docker-stella", METADATA_SUBCOMMAND]));
        let Invocation::Metadata(json) = inv else {
            panic!("not metadata: {inv:?}");
        };
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["SchemaVersion"], "0.1.0");
        assert_eq!(v["Vendor"], "Stella");
        assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
        assert!(v["ShortDescription"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
        assert!(v["URL"].as_str().is_some_and(|s| s.starts_with("https://")));
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn plugin_name_and_global_options_are_stripped() {
        let (inv, config) = invocation(os(&["docker-stella", "stella", "scan", "img"]));
        assert_eq!(
            inv,
            Invocation::Stella(os(&["docker stella", "scan", "img"]))
        );
        assert_eq!(config, None);
        let (inv, config) = invocation(os(&[
            "docker-stella",
            "--debug",
            "--config",
            "/cfg",
            "-H",
            "unix:///x.sock",
            "--log-level=info",
            "stella",
            "scan",
            "stella",
        ]));
        assert_eq!(
            inv,
            Invocation::Stella(os(&["docker stella", "scan", "stella"]))
        );
        assert_eq!(config, Some(PathBuf::from("/cfg")));
        let (_, config) = invocation(os(&["docker-stella", "--config=/c2", "stella"]));
        assert_eq!(config, Some(PathBuf::from("/c2")));
    }

    #[test]
    fn docker_help_of_the_plugin_is_stella_help() {
        let (inv, _) = invocation(os(&["docker-stella", "help", "stella"]));
        assert_eq!(inv, Invocation::Stella(os(&["docker stella", "help"])));
        let (inv, _) = invocation(os(&["docker-stella", "help", "stella", "scan"]));
        assert_eq!(
            inv,
            Invocation::Stella(os(&["docker stella", "help", "scan"]))
        );
    }

    #[test]
    fn unexpected_plugin_arguments_reach_the_parser() {
        let (inv, _) = invocation(os(&["docker-stella", "scan", "img"]));
        assert_eq!(
            inv,
            Invocation::Stella(os(&["docker stella", "scan", "img"]))
        );
        let (inv, _) = invocation(os(&["docker-stella"]));
        assert_eq!(inv, Invocation::Stella(os(&["docker stella"])));
    }

    #[test]
    fn plugin_dir() {
        let d = plugin_dir_from(Some(OsStr::new("/cfg")), Some(OsStr::new("/home/u")));
        assert_eq!(d, Some(PathBuf::from("/cfg/cli-plugins")));
        let d = plugin_dir_from(None, Some(OsStr::new("/home/u")));
        assert_eq!(d, Some(PathBuf::from("/home/u/.docker/cli-plugins")));
        let d = plugin_dir_from(Some(OsStr::new("")), Some(OsStr::new("/h")));
        assert_eq!(d, Some(PathBuf::from("/h/.docker/cli-plugins")));
        assert_eq!(plugin_dir_from(None, None), None);
    }

    #[test]
    fn install_links_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/cli-plugins");
        let first = tmp.path().join("stella-1");
        let second = tmp.path().join("stella-2");
        let link = install(&dir, &first).unwrap();
        assert_eq!(link, dir.join(PLUGIN_BINARY));
        assert_eq!(fs::read_link(&link).unwrap(), first);
        install(&dir, &second).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), second);
        // Nothing else is left in the directory.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_file(&link).unwrap();
        fs::create_dir(&link).unwrap();
        assert!(matches!(
            install(&dir, &first),
            Err(InstallError::Occupied(_))
        ));
    }
}
