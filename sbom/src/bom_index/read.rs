//! bytes → [`BomIndex`], validating everything.
//!
//! Nothing is allocated from a header count before the bytes that count
//! promises are known to exist: each count is first checked against the
//! smallest encoding its entries could have.

use super::{bitmap, BomIndex, BomIndexError, Row, Span, FLAG_ENTRYPOINTS, MAGIC, VERSION};

/// Smallest encodings: a string is its u16 length; a bitmap its u32 length
/// plus the 8-byte header of an empty portable bitmap.
const MIN_STRING: usize = 2;
const MIN_BITMAP: usize = 4 + 8;

impl BomIndex {
    /// Parses and validates a `bom-index@1` file (copying it once).
    pub fn from_bytes(bytes: &[u8]) -> Result<BomIndex, BomIndexError> {
        BomIndex::from_vec(bytes.to_vec())
    }

    /// Parses and validates a `bom-index@1` file, keeping `bytes`.
    pub fn from_vec(bytes: Vec<u8>) -> Result<BomIndex, BomIndexError> {
        if u32::try_from(bytes.len()).is_err() {
            return Err(BomIndexError::TooLarge { len: bytes.len() });
        }
        let parts = parse(&bytes)?;
        Ok(BomIndex { bytes, ..parts })
    }
}

/// Everything but the bytes themselves.
fn parse(bytes: &[u8]) -> Result<BomIndex, BomIndexError> {
    let mut r = Reader { b: bytes, pos: 0 };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(BomIndexError::BadMagic);
    }
    r.pos = MAGIC.len();
    let version = r.u16(Field::named("version"))?;
    if version != VERSION {
        return Err(BomIndexError::UnsupportedVersion { version });
    }
    let flags = r.u16(Field::named("flags"))?;
    if flags & !FLAG_ENTRYPOINTS != 0 {
        return Err(BomIndexError::UnknownFlags { flags });
    }
    let has_entrypoints = flags & FLAG_ENTRYPOINTS != 0;
    let image_digest = r.string(Field::named("image digest"))?.to_string();
    let generated_at_us = i64::from_le_bytes(r.array::<8>(Field::named("generatedAt"))?);
    let layer_count = r.u32(Field::named("layerCount"))?;
    let component_count = r.u32(Field::named("componentCount"))?;
    let entrypoint_count_at = r.pos;
    let entrypoint_count = r.u32(Field::named("entrypointCount"))?;
    if !has_entrypoints && entrypoint_count != 0 {
        return Err(BomIndexError::EntrypointsWithoutFlag {
            count: entrypoint_count,
        });
    }

    // What the counts promise must fit in what is left.
    let per_component = MIN_STRING + MIN_BITMAP + if has_entrypoints { MIN_BITMAP } else { 0 };
    let promised = [
        ("layerCount", layer_count, MIN_STRING),
        ("componentCount", component_count, per_component),
        ("entrypointCount", entrypoint_count, MIN_STRING),
    ];
    let mut needed: u64 = 0;
    for (i, (field, count, each)) in promised.into_iter().enumerate() {
        needed += u64::from(count) * each as u64;
        if needed > r.left() as u64 {
            return Err(BomIndexError::CountTooLarge {
                offset: entrypoint_count_at - 8 + 4 * i,
                field: field.to_string(),
                count: u64::from(count),
                available: r.left(),
            });
        }
    }

    let mut layers = Vec::with_capacity(layer_count as usize);
    for i in 0..layer_count {
        layers.push(r.string(Field::row("layer", i, "digest"))?.to_string());
    }

    // The identities are copied into one buffer; the rows point into it.
    let mut identities = String::new();
    let mut rows: Vec<Row> = Vec::with_capacity(component_count as usize);
    let empty = (
        Span { start: 0, len: 0 },
        bitmap::Summary { len: 0, max: None },
    );
    let mut previous: Option<&str> = None;
    for i in 0..component_count {
        let at = r.pos;
        let field = Field::row("component", i, "identity");
        let id = r.string(field)?;
        if id.is_empty() {
            return Err(BomIndexError::EmptyIdentity {
                offset: at,
                field: field.to_string(),
            });
        }
        check_order(previous, id, at, field)?;
        previous = Some(id);
        rows.push(Row {
            identity: Span {
                start: identities.len() as u32,
                len: id.len() as u32,
            },
            layers: empty,
            entrypoints: empty,
        });
        identities.push_str(id);
    }

    for (i, row) in rows.iter_mut().enumerate() {
        row.layers = r.bitmap(
            Field::row("component", i as u32, "layer bitmap"),
            layer_count,
            "layers",
        )?;
    }

    let entrypoints = if has_entrypoints {
        let mut names: Vec<String> = Vec::with_capacity(entrypoint_count as usize);
        for i in 0..entrypoint_count {
            let at = r.pos;
            let field = Field::row("entrypoint", i, "");
            let name = r.string(field)?;
            check_order(names.last().map(String::as_str), name, at, field)?;
            names.push(name.to_string());
        }
        Some(names)
    } else {
        None
    };

    if has_entrypoints {
        for (i, row) in rows.iter_mut().enumerate() {
            row.entrypoints = r.bitmap(
                Field::row("component", i as u32, "entrypoint bitmap"),
                entrypoint_count,
                "entrypoints",
            )?;
        }
    }

    if r.left() != 0 {
        return Err(BomIndexError::TrailingBytes {
            offset: r.pos,
            count: r.left(),
        });
    }
    Ok(BomIndex {
        bytes: Vec::new(),
        image_digest,
        generated_at_us,
        layers,
        identities,
        rows,
        entrypoints,
    })
}

/// Strictly increasing, bytewise.
fn check_order(
    previous: Option<&str>,
    value: &str,
    offset: usize,
    field: Field,
) -> Result<(), BomIndexError> {
    let Some(previous) = previous else {
        return Ok(());
    };
    match previous.as_bytes().cmp(value.as_bytes()) {
        std::cmp::Ordering::Less => Ok(()),
        std::cmp::Ordering::Equal => Err(BomIndexError::Duplicate {
            offset,
            field: field.to_string(),
            value: value.to_string(),
        }),
        std::cmp::Ordering::Greater => Err(BomIndexError::Unsorted {
            offset,
            field: field.to_string(),
            value: value.to_string(),
            previous: previous.to_string(),
        }),
    }
}

/// Names a field in errors; rendered only when one happens (the reader
/// visits millions of fields in a fleet, formatting each would cost).
#[derive(Clone, Copy)]
struct Field {
    table: &'static str,
    index: Option<u32>,
    part: &'static str,
    length: bool,
}

impl Field {
    fn named(part: &'static str) -> Field {
        Field {
            table: "",
            index: None,
            part,
            length: false,
        }
    }

    fn row(table: &'static str, index: u32, part: &'static str) -> Field {
        Field {
            table,
            index: Some(index),
            part,
            length: false,
        }
    }

    fn length(self) -> Field {
        Field {
            length: true,
            ..self
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(i) = self.index {
            write!(f, "{}[{i}]", self.table)?;
            if !self.part.is_empty() {
                f.write_str(" ")?;
            }
        }
        f.write_str(self.part)?;
        if self.length {
            f.write_str(" length")?;
        }
        Ok(())
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, len: usize, field: Field) -> Result<&'a [u8], BomIndexError> {
        if self.left() < len {
            return Err(BomIndexError::Truncated {
                offset: self.pos,
                field: field.to_string(),
                needed: len,
                available: self.left(),
            });
        }
        let s = &self.b[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], BomIndexError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u16(&mut self, field: Field) -> Result<u16, BomIndexError> {
        Ok(u16::from_le_bytes(self.array::<2>(field)?))
    }

    fn u32(&mut self, field: Field) -> Result<u32, BomIndexError> {
        Ok(u32::from_le_bytes(self.array::<4>(field)?))
    }

    /// u16 length + UTF-8.
    fn string(&mut self, field: Field) -> Result<&'a str, BomIndexError> {
        let len = usize::from(self.u16(field.length())?);
        let at = self.pos;
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes).map_err(|_| BomIndexError::NotUtf8 {
            offset: at,
            field: field.to_string(),
        })
    }

    /// u32 length + one portable roaring bitmap whose values are `< limit`:
    /// where it is, and what it holds.
    fn bitmap(
        &mut self,
        field: Field,
        limit: u32,
        what: &'static str,
    ) -> Result<(Span, bitmap::Summary), BomIndexError> {
        let len = self.u32(field.length())? as usize;
        let at = self.pos;
        let bytes = self.take(len, field)?;
        let summary = bitmap::validate(bytes).map_err(|reason| BomIndexError::BadBitmap {
            offset: at,
            field: field.to_string(),
            reason,
        })?;
        if let Some(max) = summary.max.filter(|&m| m >= limit) {
            return Err(BomIndexError::BitmapOutOfRange {
                offset: at,
                field: field.to_string(),
                value: max,
                limit,
                what,
            });
        }
        // Offsets fit u32: the file's length was checked.
        Ok((
            Span {
                start: at as u32,
                len: len as u32,
            },
            summary,
        ))
    }
}
