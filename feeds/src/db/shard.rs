//! Shards: a source's advisories split by ecosystem family, each a JSON
//! Lines document sorted by id, compressed with zstd.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use sha2::{Digest as _, Sha256};
use stella_model::Advisory;

use super::{DbError, ZSTD_LEVEL};

/// Family of advisories that name no package.
pub(crate) const NO_FAMILY: &str = "_none";

/// The family of an ecosystem: its name up to the first `:` (`Debian:12`
/// → `Debian`), so releases of one distribution share a shard.
pub(crate) fn family(ecosystem: &str) -> &str {
    let f = ecosystem.split(':').next().unwrap_or("").trim();
    if f.is_empty() {
        NO_FAMILY
    } else {
        f
    }
}

/// One shard before compression.
pub(crate) struct PlainShard {
    pub source: String,
    pub family: String,
    pub name: String,
    pub advisories: usize,
    /// Distinct (ecosystem, name) keys of the family in the shard.
    pub packages: usize,
    pub jsonl: Vec<u8>,
}

/// Splits one source's advisories into shards. An advisory about packages
/// of several families goes into each of their shards (a lookup reads
/// only the shard of the ecosystem it asks about).
pub(crate) fn split(source: &str, advisories: &[Advisory]) -> Result<Vec<PlainShard>, DbError> {
    let mut by_family: BTreeMap<&str, Vec<(&str, Vec<u8>)>> = BTreeMap::new();
    let mut keys: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for advisory in advisories {
        let mut line = serde_json::to_vec(advisory)
            .map_err(|e| DbError::Encode(format!("advisory {}: {e}", advisory.id)))?;
        line.push(b'\n');
        let families: BTreeSet<&str> = if advisory.affected.is_empty() {
            [NO_FAMILY].into()
        } else {
            advisory
                .affected
                .iter()
                .map(|a| family(&a.ecosystem))
                .collect()
        };
        for a in &advisory.affected {
            keys.entry(family(&a.ecosystem))
                .or_default()
                .insert((a.ecosystem.as_str(), a.name.as_str()));
        }
        for f in families {
            by_family
                .entry(f)
                .or_default()
                .push((advisory.id.as_str(), line.clone()));
        }
    }
    let mut shards = Vec::with_capacity(by_family.len());
    for (family, mut lines) in by_family {
        // By id, then by bytes: a total order, whatever the import order.
        lines.sort();
        lines.dedup();
        let jsonl: Vec<u8> = lines.iter().flat_map(|(_, l)| l.iter().copied()).collect();
        shards.push(PlainShard {
            source: source.to_string(),
            family: family.to_string(),
            name: String::new(),
            advisories: lines.len(),
            packages: keys.get(family).map_or(0, BTreeSet::len),
            jsonl,
        });
    }
    Ok(shards)
}

/// Gives every shard its file name: `SOURCE.FAMILY.jsonl.zst` with `/` as
/// `.` and anything outside `[A-Za-z0-9._-]` as `_`; names that would then
/// collide get a short hash of (source, family).
pub(crate) fn assign_names(shards: &mut [PlainShard]) {
    let plain: Vec<String> = shards
        .iter()
        .map(|s| format!("{}.{}", safe(&s.source), safe(&s.family)))
        .collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &plain {
        *count.entry(p.as_str()).or_default() += 1;
    }
    let names: Vec<String> = shards
        .iter()
        .zip(&plain)
        .map(|(s, p)| {
            if count[p.as_str()] > 1 {
                let h = Sha256::digest(format!("{}\0{}", s.source, s.family));
                format!("{p}-{}.jsonl.zst", &hex::encode(h)[..8])
            } else {
                format!("{p}.jsonl.zst")
            }
        })
        .collect();
    for (s, n) in shards.iter_mut().zip(names) {
        s.name = n;
    }
}

fn safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '/' => '.',
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') => c,
            _ => '_',
        })
        .collect()
}

/// zstd at [`ZSTD_LEVEL`], one thread, no dictionary: the same bytes in
/// give the same bytes out.
pub(crate) fn compress(data: &[u8]) -> Result<Vec<u8>, DbError> {
    zstd::bulk::compress(data, ZSTD_LEVEL).map_err(|e| DbError::Encode(format!("zstd: {e}")))
}

/// Decompresses a shard, refusing more than `limit` bytes of output.
pub(crate) fn decompress(digest: &str, data: &[u8], limit: u64) -> Result<Vec<u8>, DbError> {
    let decoder = zstd::stream::read::Decoder::new(data)
        .map_err(|e| DbError::bad_blob(digest, format!("zstd: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| DbError::bad_blob(digest, format!("not a zstd stream: {e}")))?;
    if out.len() as u64 > limit {
        return Err(DbError::bad_blob(
            digest,
            format!("decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stella_model::AffectedPackage;

    fn adv(id: &str, ecos: &[(&str, &str)]) -> Advisory {
        Advisory {
            id: id.into(),
            affected: ecos
                .iter()
                .map(|(e, n)| AffectedPackage {
                    ecosystem: e.to_string(),
                    name: n.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn families_and_order() {
        assert_eq!(family("Debian:12"), "Debian");
        assert_eq!(family("PyPI"), "PyPI");
        assert_eq!(family(""), NO_FAMILY);
        let list = vec![
            adv("B", &[("Debian:12", "x"), ("PyPI", "y")]),
            adv("A", &[("Debian:11", "x")]),
            adv("C", &[]),
        ];
        let mut shards = split("osv/t", &list).unwrap();
        assign_names(&mut shards);
        let got: Vec<(&str, usize, usize)> = shards
            .iter()
            .map(|s| (s.name.as_str(), s.advisories, s.packages))
            .collect();
        assert_eq!(
            got,
            [
                ("osv.t.Debian.jsonl.zst", 2, 2),
                ("osv.t.PyPI.jsonl.zst", 1, 1),
                ("osv.t._none.jsonl.zst", 1, 0)
            ]
        );
        let text = String::from_utf8(shards[0].jsonl.clone()).unwrap();
        let ids: Vec<&str> = text
            .lines()
            .map(|l| if l.contains("\"A\"") { "A" } else { "B" })
            .collect();
        assert_eq!(ids, ["A", "B"]);
    }

    #[test]
    fn colliding_names_get_hashes() {
        let list = vec![adv("A", &[("a b", "x"), ("a_b", "y")])];
        let mut shards = split("osv/t", &list).unwrap();
        assign_names(&mut shards);
        assert_eq!(shards.len(), 2);
        assert_ne!(shards[0].name, shards[1].name);
        assert!(shards[0].name.starts_with("osv.t.a_b-"));
    }

    #[test]
    fn decompress_bounds() {
        let data = compress(&[b'x'; 1000]).unwrap();
        assert_eq!(decompress("d", &data, 1000).unwrap().len(), 1000);
        assert!(decompress("d", &data, 999).is_err());
        assert!(decompress("d", b"not zstd", 10).is_err());
    }
}
