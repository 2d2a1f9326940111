//! `bom-index@1`: a small binary index of one image's components, made to
//! answer "which images and layers contain purl X" across a fleet without
//! opening SBOMs (DESIGN.md §3; the byte layout is in `docs/formats.md`).
//!
//! * [`BomIndex::from_inventory`] builds it from a scan's [`Inventory`];
//!   [`BomIndex::to_bytes`] writes it (byte-identical for the same input).
//! * [`BomIndex::from_bytes`] reads it back with strict validation: every
//!   defect is a typed [`BomIndexError`] naming the byte offset and field.
//! * [`Fleet`] answers purl queries over many indexes at once.
//!
//! [`Inventory`]: stella_model::Inventory

mod bitmap;
mod fleet;
mod purl_query;
mod read;
mod write;

pub use fleet::{Fleet, FleetImage, Match, QueryResult};
pub use purl_query::{PurlQuery, PurlQueryError};
pub use roaring::RoaringBitmap;

/// The OCI media type / artifactType of a `bom-index@1` blob.
pub const BOM_INDEX_MEDIA_TYPE: &str = "application/vnd.stellaops.bom-index.v1+binary";
/// The first seven bytes of every index.
pub const MAGIC: &[u8; 7] = b"BOMIDX1";
/// The only version this code reads and writes.
pub const VERSION: u16 = 1;
/// Header flag: the entrypoint table and per-component entrypoint bitmaps follow.
pub const FLAG_ENTRYPOINTS: u16 = 1;

/// One image's index: its layers (base → top) and its components sorted by
/// identity, each with the set of layers it is present in.
///
/// The fields are private so that every `BomIndex` holds the format's
/// invariants (sorted unique identities, bitmap values in range, strings that
/// fit their length prefixes): it is built only by [`BomIndex::from_inventory`]
/// or [`BomIndex::from_bytes`].
#[derive(Debug, Clone, PartialEq)]
pub struct BomIndex {
    image_digest: String,
    generated_at_us: i64,
    layers: Vec<String>,
    components: Vec<IndexedComponent>,
    /// `Some` exactly when the header flag [`FLAG_ENTRYPOINTS`] is set.
    entrypoints: Option<Vec<String>>,
}

/// One row of the component table.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedComponent {
    identity: String,
    layers: RoaringBitmap,
    /// Empty when the index has no entrypoint table.
    entrypoints: RoaringBitmap,
}

impl BomIndex {
    /// The image's manifest digest (else its config digest); empty for a
    /// `dir:` scan, which has neither.
    pub fn image_digest(&self) -> &str {
        &self.image_digest
    }

    /// Microseconds since the Unix epoch.
    pub fn generated_at_us(&self) -> i64 {
        self.generated_at_us
    }

    /// Layer digests, base first; the position is the layer index.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// Components sorted ordinally (bytewise) by identity, identities unique.
    pub fn components(&self) -> &[IndexedComponent] {
        &self.components
    }

    /// The entrypoint table (sorted), when the index has one.
    pub fn entrypoints(&self) -> Option<&[String]> {
        self.entrypoints.as_deref()
    }

    /// The component with exactly this identity.
    pub fn component(&self, identity: &str) -> Option<&IndexedComponent> {
        self.components
            .binary_search_by(|c| c.identity.as_str().cmp(identity))
            .ok()
            .map(|i| &self.components[i])
    }
}

impl IndexedComponent {
    /// The purl, or for a component without one its canonical key
    /// (`nopurl:…`, see `docs/formats.md`).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Indexes of the layers the component is present in. Empty when the
    /// scan could not attribute it to a layer.
    pub fn layers(&self) -> &RoaringBitmap {
        &self.layers
    }

    /// Indexes into [`BomIndex::entrypoints`] of the entrypoints whose usage
    /// closure holds the component.
    pub fn entrypoints(&self) -> &RoaringBitmap {
        &self.entrypoints
    }
}

/// Why an index could not be written or read. Read errors carry the byte
/// offset where the offending field starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BomIndexError {
    #[error(
        "bom-index: truncated at offset {offset}: {field} needs {needed} byte(s), {available} left"
    )]
    Truncated {
        offset: usize,
        field: String,
        needed: usize,
        available: usize,
    },
    #[error("bom-index: bad magic at offset 0 (not a bom-index file)")]
    BadMagic,
    #[error("bom-index: unsupported version {version} at offset 7 (this reader knows version 1)")]
    UnsupportedVersion { version: u16 },
    #[error("bom-index: unknown flag bits {flags:#06x} at offset 9")]
    UnknownFlags { flags: u16 },
    #[error("bom-index: entrypointCount is {count} but the entrypoint flag is not set")]
    EntrypointsWithoutFlag { count: u32 },
    #[error("bom-index: {field} = {count} at offset {offset} cannot fit in the {available} byte(s) left")]
    CountTooLarge {
        offset: usize,
        field: String,
        count: u64,
        available: usize,
    },
    #[error("bom-index: {field} at offset {offset} is not UTF-8")]
    NotUtf8 { offset: usize, field: String },
    #[error("bom-index: {field} at offset {offset} is empty")]
    EmptyIdentity { offset: usize, field: String },
    #[error("bom-index: {field} at offset {offset} ({value:?}) does not sort after the previous entry ({previous:?})")]
    Unsorted {
        offset: usize,
        field: String,
        value: String,
        previous: String,
    },
    #[error("bom-index: {field} at offset {offset} repeats {value:?}")]
    Duplicate {
        offset: usize,
        field: String,
        value: String,
    },
    #[error(
        "bom-index: {field} at offset {offset} is not a valid portable roaring bitmap: {reason}"
    )]
    BadBitmap {
        offset: usize,
        field: String,
        reason: String,
    },
    #[error(
        "bom-index: {field} at offset {offset} holds {value}, but there are only {limit} {what}"
    )]
    BitmapOutOfRange {
        offset: usize,
        field: String,
        value: u32,
        limit: u32,
        what: &'static str,
    },
    #[error("bom-index: {count} unexpected byte(s) after the end of the index at offset {offset}")]
    TrailingBytes { offset: usize, count: usize },
    #[error("bom-index: cannot write {field}: {len} bytes exceed the u16 length prefix")]
    StringTooLong { field: String, len: usize },
    #[error("bom-index: cannot write {field}: {count} entries exceed u32")]
    TooMany { field: String, count: usize },
    #[error("bom-index: inventory component {component:?} names layer {layer}, but the image has {layers} layer(s)")]
    LayerOutOfRange {
        component: String,
        layer: u32,
        layers: usize,
    },
}

#[cfg(test)]
mod tests;
