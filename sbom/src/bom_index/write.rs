//! Inventory → [`BomIndex`] → bytes.

use std::collections::BTreeMap;

use roaring::RoaringBitmap;
use stella_model::{Component, Inventory, Purl, PROP_USAGE};

use super::{BomIndex, BomIndexError, FLAG_ENTRYPOINTS, MAGIC, VERSION};

/// Prefix of the canonical key of a component that has no purl. Chosen so it
/// can never be mistaken for (or sort among) purls, which start with `pkg:`.
pub const NOPURL_PREFIX: &str = "nopurl:";

impl BomIndex {
    /// Builds the index of a scan (and its bytes: [`BomIndex::as_bytes`]).
    ///
    /// * layer table: each layer's blob digest, else its diffID, else `""`;
    /// * identity: the purl, else `nopurl:<type>/<name>@<version>[?arch=…]`
    ///   (percent-encoded like a purl);
    /// * layer bitmap ("introduce or retain"): a component the scan attributes
    ///   to layer `L` (the lowest layer from which it is continuously present
    ///   up to the top, see `Component::layer`) has bits `L..layerCount`; an
    ///   unattributed component has an empty bitmap. Components sharing an
    ///   identity (the same package installed twice) are merged: union of bits;
    /// * entrypoints: when the scan traced the entrypoint, one entry — the
    ///   config's `Entrypoint + Cmd` as a JSON array string — and bit 0 on
    ///   every component marked `stella:usage=true`.
    ///
    /// `generated_at_us` is the caller's (SOURCE_DATE_EPOCH or the image's
    /// `created`): the writer never reads the clock.
    pub fn from_inventory(
        inv: &Inventory,
        generated_at_us: i64,
    ) -> Result<BomIndex, BomIndexError> {
        let image_digest = inv
            .image
            .identity_digest()
            .map(|d| d.to_string())
            .unwrap_or_default();
        check_len("image digest", &image_digest)?;

        let layers: Vec<String> = inv
            .layers
            .iter()
            .map(|l| {
                l.digest
                    .as_ref()
                    .or(l.diff_id.as_ref())
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            })
            .collect();
        let layer_count = count_u32("layerCount", layers.len())?;
        for (i, l) in layers.iter().enumerate() {
            check_len(&format!("layer[{i}] digest"), l)?;
        }

        let entrypoints = match &inv.entry_trace {
            Some(trace) => {
                // serde_json cannot fail on a Vec<String>.
                let argv = serde_json::to_string(&trace.argv).unwrap_or_default();
                check_len("entrypoint", &argv)?;
                Some(vec![argv])
            }
            None => None,
        };

        let mut merged: BTreeMap<String, (RoaringBitmap, RoaringBitmap)> = BTreeMap::new();
        for c in &inv.components {
            let identity = identity(c);
            let entry = merged.entry(identity).or_default();
            if let Some(layer) = c.layer {
                if layer >= layer_count {
                    return Err(BomIndexError::LayerOutOfRange {
                        component: c
                            .purl
                            .as_ref()
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| c.name.clone()),
                        layer,
                        layers: layers.len(),
                    });
                }
                entry.0.insert_range(layer..layer_count);
            }
            if entrypoints.is_some()
                && c.properties.get(PROP_USAGE).map(String::as_str) == Some("true")
            {
                entry.1.insert(0);
            }
        }
        count_u32("componentCount", merged.len())?;
        for identity in merged.keys() {
            check_len("component identity", identity)?;
        }

        let mut out = Vec::with_capacity(estimated_size(&image_digest, &layers, &merged));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let flags = if entrypoints.is_some() {
            FLAG_ENTRYPOINTS
        } else {
            0
        };
        out.extend_from_slice(&flags.to_le_bytes());
        put_str(&mut out, &image_digest);
        out.extend_from_slice(&generated_at_us.to_le_bytes());
        put_u32(&mut out, layers.len());
        put_u32(&mut out, merged.len());
        put_u32(&mut out, entrypoints.as_ref().map_or(0, Vec::len));
        for l in &layers {
            put_str(&mut out, l);
        }
        for identity in merged.keys() {
            put_str(&mut out, identity);
        }
        for (layer_bits, _) in merged.values() {
            put_bitmap(&mut out, layer_bits);
        }
        if let Some(eps) = &entrypoints {
            for e in eps {
                put_str(&mut out, e);
            }
            for (_, entrypoint_bits) in merged.values() {
                put_bitmap(&mut out, entrypoint_bits);
            }
        }
        // Read back through the validating reader: what we hand out is
        // exactly what any reader will accept.
        BomIndex::from_vec(out)
    }
}

fn estimated_size(
    image_digest: &str,
    layers: &[String],
    merged: &BTreeMap<String, (RoaringBitmap, RoaringBitmap)>,
) -> usize {
    let strings: usize = layers.iter().map(|l| 2 + l.len()).sum::<usize>()
        + merged.keys().map(|id| 2 + id.len()).sum::<usize>();
    // An array container: 4 (length) + 16 (header) + 2 per value.
    let bitmaps: usize = merged
        .values()
        .map(|(l, e)| 40 + 2 * (l.len() + e.len()) as usize)
        .sum();
    40 + image_digest.len() + strings + bitmaps
}

/// The identity of a component in the index.
pub fn identity(c: &Component) -> String {
    match &c.purl {
        Some(p) => p.to_string(),
        None => canonical_key(c),
    }
}

/// `nopurl:<kind>/<name>@<version>[?arch=<arch>]`, encoded like a purl.
fn canonical_key(c: &Component) -> String {
    let mut p = Purl::new(c.kind.as_str(), &c.name).with_version(&c.version);
    if let Some(arch) = &c.arch {
        p = p.with_qualifier("arch", arch);
    }
    let rendered = p.to_string();
    let rest = rendered.strip_prefix("pkg:").unwrap_or(&rendered);
    format!("{NOPURL_PREFIX}{rest}")
}

fn check_len(field: &str, s: &str) -> Result<(), BomIndexError> {
    if s.len() > usize::from(u16::MAX) {
        return Err(BomIndexError::StringTooLong {
            field: field.to_string(),
            len: s.len(),
        });
    }
    Ok(())
}

fn count_u32(field: &str, n: usize) -> Result<u32, BomIndexError> {
    u32::try_from(n).map_err(|_| BomIndexError::TooMany {
        field: field.to_string(),
        count: n,
    })
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// u32 length + the portable serialization, length patched in afterwards.
fn put_bitmap(out: &mut Vec<u8>, bitmap: &RoaringBitmap) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    bitmap
        .serialize_into(&mut *out)
        .expect("writing into a Vec cannot fail");
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}
