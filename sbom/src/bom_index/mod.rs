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

pub use bitmap::{Bitmap, BitmapIter};
pub use fleet::{Fleet, FleetImage, Match, QueryResult};
pub use purl_query::{PurlQuery, PurlQueryError};
pub use roaring::RoaringBitmap;
pub use write::NOPURL_PREFIX;

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
/// It keeps the validated file bytes and reads the bitmaps in place (see
/// [`Bitmap`]): parsing allocates a handful of buffers per index, not per
/// component. Every `BomIndex` went through [`BomIndex::from_bytes`] (the
/// writer validates its own output too), so it always holds the format's
/// invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BomIndex {
    /// The whole file.
    bytes: Vec<u8>,
    image_digest: String,
    generated_at_us: i64,
    layers: Vec<String>,
    /// Every component identity, concatenated (one allocation).
    identities: String,
    rows: Vec<Row>,
    /// `Some` exactly when the header flag [`FLAG_ENTRYPOINTS`] is set.
    entrypoints: Option<Vec<String>>,
}

/// Where one component's parts are: `identity` in `identities`, the
/// bitmaps in `bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    identity: Span,
    layers: (Span, bitmap::Summary),
    /// A zero-length span when the index has no entrypoint table.
    entrypoints: (Span, bitmap::Summary),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// One row of the component table, borrowed from its index.
#[derive(Debug, Clone, Copy)]
pub struct ComponentRef<'a> {
    index: &'a BomIndex,
    row: &'a Row,
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

    /// The entrypoint table (sorted), when the index has one.
    pub fn entrypoints(&self) -> Option<&[String]> {
        self.entrypoints.as_deref()
    }

    /// The `bom-index@1` bytes (exactly the bytes read, or written).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, owned.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    pub fn component_count(&self) -> usize {
        self.rows.len()
    }

    /// Components sorted ordinally (bytewise) by identity, identities unique.
    pub fn components(&self) -> impl ExactSizeIterator<Item = ComponentRef<'_>> + '_ {
        self.rows
            .iter()
            .map(move |row| ComponentRef { index: self, row })
    }

    /// The component in row `i`.
    pub fn component_at(&self, i: usize) -> Option<ComponentRef<'_>> {
        self.rows
            .get(i)
            .map(|row| ComponentRef { index: self, row })
    }

    /// The component with exactly this identity.
    pub fn component(&self, identity: &str) -> Option<ComponentRef<'_>> {
        self.rows
            .binary_search_by(|r| self.identity_of(r).cmp(identity))
            .ok()
            .and_then(|i| self.component_at(i))
    }

    /// Rows whose identity starts with `prefix` (contiguous: the table is sorted).
    pub fn rows_with_prefix(&self, prefix: &str) -> std::ops::Range<usize> {
        let from = self.rows.partition_point(|r| self.identity_of(r) < prefix);
        let len = self.rows[from..]
            .iter()
            .take_while(|r| self.identity_of(r).starts_with(prefix))
            .count();
        from..from + len
    }

    fn identity_of(&self, row: &Row) -> &str {
        self.identities.get(row.identity.range()).unwrap_or("")
    }

    fn bitmap(&self, (span, summary): (Span, bitmap::Summary)) -> Bitmap<'_> {
        Bitmap::new(self.bytes.get(span.range()).unwrap_or(&[]), summary)
    }
}

impl<'a> ComponentRef<'a> {
    /// The purl, or for a component without one its canonical key
    /// (`nopurl:…`, see `docs/formats.md`).
    pub fn identity(&self) -> &'a str {
        self.index.identity_of(self.row)
    }

    /// Indexes of the layers the component is present in. Empty when the
    /// scan could not attribute it to a layer.
    pub fn layers(&self) -> Bitmap<'a> {
        self.index.bitmap(self.row.layers)
    }

    /// Indexes into [`BomIndex::entrypoints`] of the entrypoints whose usage
    /// closure holds the component (empty without an entrypoint table).
    pub fn entrypoints(&self) -> Bitmap<'a> {
        if self.row.entrypoints.0.len == 0 {
            return Bitmap::new(&[], bitmap::Summary { len: 0, max: None });
        }
        self.index.bitmap(self.row.entrypoints)
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
    #[error("bom-index: {len} bytes is past the 4 GiB this format can address")]
    TooLarge { len: usize },
    #[error("bom-index: inventory component {component:?} names layer {layer}, but the image has {layers} layer(s)")]
    LayerOutOfRange {
        component: String,
        layer: u32,
        layers: usize,
    },
}

#[cfg(test)]
mod tests;
