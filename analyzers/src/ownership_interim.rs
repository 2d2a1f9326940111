//! INTERIM — branch wt-entry only, to be replaced at merge.
//!
//! The usage view needs `owner_of(path) -> Option<component index>`. The
//! real file-ownership index (`crate::ownership`: dpkg, apk and rpm file
//! lists) is being written on main; until it is wired into
//! `scan::mark_usage`, this minimal stand-in reads dpkg's
//! `var/lib/dpkg/info/<package>[:<arch>].list` files only, so the real-image
//! tests can check the usage view of Debian images.
//!
//! What the real one must also do (this one does): key files by their
//! physical path — dpkg records `/lib/x86_64-linux-gnu/libc.so.6`, which on
//! a merged-/usr image lives at `usr/lib/x86_64-linux-gnu/libc.so.6` — by
//! resolving each listed path's *directory* through the squashed view (not
//! the file itself: `/usr/bin/python3` is python3-minimal's symlink, the
//! file behind it is python3.11-minimal's).

use std::collections::BTreeMap;

use stella_model::{Component, ComponentKind};

use crate::fs::FsView;
use crate::squash::SquashedFs;

const INFO_DIR: &str = "var/lib/dpkg/info/";

/// The dpkg file lists.
pub fn wants(path: &str) -> bool {
    path.starts_with(INFO_DIR) && path.ends_with(".list")
}

/// Physical path → index into `components` of the deb that ships it.
pub fn dpkg_owners(view: &SquashedFs<'_>, components: &[Component]) -> BTreeMap<String, usize> {
    let mut by_name: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
    for (i, c) in components.iter().enumerate() {
        if c.kind == ComponentKind::Deb {
            by_name.entry((c.name.as_str(), None)).or_insert(i);
            by_name.insert((c.name.as_str(), c.arch.as_deref()), i);
        }
    }
    let mut owners = BTreeMap::new();
    let mut resolved_dirs: BTreeMap<String, String> = BTreeMap::new();
    for list in view.captured_files() {
        let Some(stem) = list
            .strip_prefix(INFO_DIR)
            .and_then(|n| n.strip_suffix(".list"))
        else {
            continue;
        };
        let (name, arch) = match stem.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (stem, None),
        };
        let Some(&index) = by_name.get(&(name, arch)).or(by_name.get(&(name, None))) else {
            continue;
        };
        let Ok(Some(file)) = view.read(&list) else {
            continue;
        };
        for line in String::from_utf8_lossy(file.bytes).lines() {
            let path = line.trim().trim_start_matches('/');
            let Some((dir, base)) = path.rsplit_once('/') else {
                continue;
            };
            let physical_dir = resolved_dirs
                .entry(dir.to_string())
                .or_insert_with(|| view.resolve(dir).unwrap_or_else(|_| dir.to_string()));
            owners
                .entry(format!("{physical_dir}/{base}"))
                .or_insert(index);
        }
    }
    owners
}
