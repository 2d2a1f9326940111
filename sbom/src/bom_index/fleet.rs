//! Purl queries across many images' indexes.
//!
//! Two ways to answer, same answers:
//!
//! * without preparation, each query is a binary search in every image's
//!   sorted component table — cheap for a few queries;
//! * [`Fleet::build_dictionary`] merges every table into one sorted
//!   dictionary of distinct identities with a posting list each (the images,
//!   and the row in their table, holding it). Images share most of their
//!   components (base layers, popular packages), so the dictionary is far
//!   smaller than the sum of the tables, and a query then costs a few binary
//!   searches in it, whatever the number of images. Building it costs about
//!   as much as a few hundred per-image queries; [`Fleet::prepare`] decides.
//!
//! The layer bitmaps stay where they are, in each image's index; a
//! [`Match`] points at them.

use std::collections::HashMap;

use super::{BomIndex, ComponentRef, PurlQuery};

/// One image of the fleet: a display name (a file path, a repository
/// reference…) and its index.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetImage {
    pub name: String,
    pub index: BomIndex,
}

/// Many images' indexes, ready for queries.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Sorted by name, then image digest.
    images: Vec<FleetImage>,
    rows: usize,
    dictionary: Option<Dictionary>,
}

/// Every identity of the fleet, once, with where it occurs.
#[derive(Debug, Clone)]
struct Dictionary {
    /// Distinct identities, sorted bytewise.
    identities: Vec<Box<str>>,
    /// `postings[starts[i]..starts[i + 1]]` hold identity `i`, image order.
    starts: Vec<u32>,
    postings: Vec<Posting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    image: u32,
    component: u32,
    /// The component's layers as bits, decoded once when the dictionary is
    /// built, so that answering does not go back to each image's bytes
    /// (valid when the image has at most 64 layers, see `MASK_LAYERS`).
    layers: u64,
}

/// Images with at most this many layers get their layer sets cached as a
/// u64 in the dictionary (Docker's overlay limit is 127 layers; real images
/// rarely pass 30).
const MASK_LAYERS: usize = 64;

/// The answer to one query: every (image, component) that matches, sorted
/// by image, then identity.
#[derive(Debug, Clone)]
pub struct QueryResult<'f> {
    pub query: &'f PurlQuery,
    pub matches: Vec<Match<'f>>,
}

/// One component of one image that matches a query.
#[derive(Debug, Clone, Copy)]
pub struct Match<'f> {
    pub image: &'f FleetImage,
    pub component: ComponentRef<'f>,
    /// The layer set from the dictionary, when it has it.
    layer_mask: Option<u64>,
}

impl<'f> Match<'f> {
    /// `(layer index, layer digest)` of every layer the component is in.
    pub fn layers(&self) -> impl Iterator<Item = (u32, &'f str)> + 'f {
        let table = self.image.index.layers();
        let (mask, bitmap) = match self.layer_mask {
            Some(mask) => (mask, None),
            None => (0, Some(self.component.layers().iter())),
        };
        let from_mask = MaskIter(mask);
        from_mask
            .chain(bitmap.into_iter().flatten())
            .filter_map(move |i| table.get(i as usize).map(|d| (i, d.as_str())))
    }

    /// The entrypoints whose usage closure holds the component.
    pub fn entrypoints(&self) -> impl Iterator<Item = &str> + '_ {
        let table = self.image.index.entrypoints().unwrap_or(&[]);
        self.component
            .entrypoints()
            .iter()
            .filter_map(move |i| table.get(i as usize).map(String::as_str))
    }
}

impl Fleet {
    /// Takes `(name, index)` pairs from any source (files, an OCI layout, a
    /// registry). Cheap: sorts the images, builds no dictionary.
    pub fn new(images: Vec<(String, BomIndex)>) -> Fleet {
        let mut images: Vec<FleetImage> = images
            .into_iter()
            .map(|(name, index)| FleetImage { name, index })
            .collect();
        images.sort_by(|a, b| {
            (a.name.as_str(), a.index.image_digest())
                .cmp(&(b.name.as_str(), b.index.image_digest()))
        });
        let rows = images.iter().map(|i| i.index.component_count()).sum();
        Fleet {
            images,
            rows,
            dictionary: None,
        }
    }

    /// Builds the dictionary when `queries` queries are expected to be
    /// answered faster with it than without. Measured by bench/bomindex
    /// (1k images, 1M rows): per-image search costs ≈ 4 µs per image and
    /// query, the dictionary ≈ 0.2 µs per row once; so it pays from about
    /// one query per 20 rows of an average image (≈ 50 queries).
    pub fn prepare(&mut self, queries: usize) {
        let per_image_cost = queries.saturating_mul(self.images.len()).saturating_mul(20);
        if per_image_cost > self.rows {
            self.build_dictionary();
        }
    }

    /// Merges every image's table into the dictionary (once).
    pub fn build_dictionary(&mut self) {
        if self.dictionary.is_some() {
            return;
        }
        let images = &self.images;
        // First pass: a provisional id per distinct identity, in order of
        // first sight, and the id of every (image, row).
        let mut provisional: HashMap<&str, u32> = HashMap::with_capacity(self.rows / 4 + 16);
        let mut row_ids: Vec<u32> = Vec::with_capacity(self.rows);
        for image in images {
            for c in image.index.components() {
                let next = provisional.len() as u32;
                row_ids.push(*provisional.entry(c.identity()).or_insert(next));
            }
        }
        // Sort the distinct identities; rank[provisional id] = sorted id.
        let mut distinct: Vec<(&str, u32)> = provisional.into_iter().collect();
        distinct.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut rank = vec![0u32; distinct.len()];
        for (sorted, (_, id)) in distinct.iter().enumerate() {
            rank[*id as usize] = sorted as u32;
        }
        let identities: Vec<Box<str>> = distinct.iter().map(|(s, _)| Box::from(*s)).collect();

        // Second pass: counting sort of the rows by identity; rows are visited
        // in image order, so each posting list comes out in image order.
        let mut starts = vec![0u32; identities.len() + 1];
        for id in &row_ids {
            starts[rank[*id as usize] as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let mut postings = vec![
            Posting {
                image: 0,
                component: 0,
                layers: 0,
            };
            self.rows
        ];
        let mut ids = row_ids.iter();
        for (image_no, image) in images.iter().enumerate() {
            let masked = image.index.layers().len() <= MASK_LAYERS;
            for (component_no, c) in image.index.components().enumerate() {
                let Some(id) = ids.next() else { break };
                let slot = &mut fill[rank[*id as usize] as usize];
                let layers = if masked {
                    c.layers().mask64().unwrap_or(0)
                } else {
                    0
                };
                postings[*slot as usize] = Posting {
                    image: image_no as u32,
                    component: component_no as u32,
                    layers,
                };
                *slot += 1;
            }
        }
        self.dictionary = Some(Dictionary {
            identities,
            starts,
            postings,
        });
    }

    /// The images, sorted by name.
    pub fn images(&self) -> &[FleetImage] {
        &self.images
    }

    /// How many component rows the indexes hold together.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// How many distinct identities the fleet holds (known once the
    /// dictionary is built).
    pub fn distinct_identities(&self) -> Option<usize> {
        self.dictionary.as_ref().map(|d| d.identities.len())
    }

    /// Every (image, component) matching `query`, by image, then identity.
    pub fn query<'f>(&'f self, query: &'f PurlQuery) -> QueryResult<'f> {
        let hits = match &self.dictionary {
            Some(d) => d.hits(query),
            None => self.search_each_image(query),
        };
        let matches = hits
            .into_iter()
            .filter_map(|(image, row, mask)| {
                let image = &self.images[image as usize];
                Some(Match {
                    image,
                    component: image.index.component_at(row as usize)?,
                    layer_mask: mask.filter(|_| image.index.layers().len() <= MASK_LAYERS),
                })
            })
            .collect();
        QueryResult { query, matches }
    }

    /// (image, row) pairs from each image's own sorted table.
    fn search_each_image(&self, query: &PurlQuery) -> Vec<(u32, u32, Option<u64>)> {
        let mut hits = Vec::new();
        for (image_no, image) in self.images.iter().enumerate() {
            for row in image.index.rows_with_prefix(query.stem()) {
                let matches = image
                    .index
                    .component_at(row)
                    .is_some_and(|c| query.matches(c.identity()));
                if matches {
                    hits.push((image_no as u32, row as u32, None));
                }
            }
        }
        hits
    }

    /// Answers each query; results in the order of `queries`.
    pub fn query_all<'f>(&'f self, queries: &'f [PurlQuery]) -> Vec<QueryResult<'f>> {
        queries.iter().map(|q| self.query(q)).collect()
    }
}

impl Dictionary {
    /// (image, row, layer mask) triples, by image, then identity.
    fn hits(&self, query: &PurlQuery) -> Vec<(u32, u32, Option<u64>)> {
        let mut ids: Vec<usize> = Vec::new();
        let stem = query.stem();
        if let Ok(i) = self.identities.binary_search_by(|id| (**id).cmp(stem)) {
            ids.push(i);
        }
        let mut prefix = String::with_capacity(stem.len() + 1);
        for sep in ['?', '@'] {
            if sep == '@' && query.has_version() {
                continue;
            }
            prefix.clear();
            prefix.push_str(stem);
            prefix.push(sep);
            let from = self.identities.partition_point(|id| **id < *prefix);
            ids.extend(
                (from..self.identities.len())
                    .take_while(|&i| self.identities[i].starts_with(prefix.as_str())),
            );
        }
        ids.retain(|&i| query.matches(&self.identities[i]));
        // Identity order, so that after sorting by image the rows of one
        // image come in identity order (its rows are sorted the same way).
        ids.sort_unstable();

        let mut hits: Vec<(u32, u32, Option<u64>)> = Vec::new();
        for &i in &ids {
            let range = self.starts[i] as usize..self.starts[i + 1] as usize;
            hits.extend(
                self.postings[range]
                    .iter()
                    .map(|p| (p.image, p.component, Some(p.layers))),
            );
        }
        if ids.len() > 1 {
            // Within an image, a larger row is a larger identity.
            hits.sort_unstable();
        }
        hits
    }
}

/// The set bits of a u64, lowest first.
struct MaskIter(u64);

impl Iterator for MaskIter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(bit)
    }
}
