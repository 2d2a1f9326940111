//! Purl queries across many images' indexes.
//!
//! [`Fleet::new`] merges every image's component table into one sorted
//! dictionary of distinct identities with a posting list each — the images
//! (and the row in their table) holding it. Images share most of their
//! components (base layers, popular packages), so the dictionary is far
//! smaller than the sum of the tables, and a query costs one or two binary
//! searches in it, whatever the number of images. The layer bitmaps stay
//! where they are, in each image's index; a [`Match`] points at them.

use std::collections::HashMap;

use super::{BomIndex, IndexedComponent, PurlQuery};

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
}

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
    pub component: &'f IndexedComponent,
}

impl Match<'_> {
    /// `(layer index, layer digest)` of every layer the component is in.
    pub fn layers(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        let table = self.image.index.layers();
        self.component
            .layers()
            .iter()
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
    /// registry) and builds the merged dictionary.
    pub fn new(images: Vec<(String, BomIndex)>) -> Fleet {
        let mut images: Vec<FleetImage> = images
            .into_iter()
            .map(|(name, index)| FleetImage { name, index })
            .collect();
        images.sort_by(|a, b| {
            (a.name.as_str(), a.index.image_digest())
                .cmp(&(b.name.as_str(), b.index.image_digest()))
        });

        let total: usize = images.iter().map(|i| i.index.components().len()).sum();
        // First pass: a provisional id per distinct identity, in order of
        // first sight, and the id of every (image, component) row.
        let mut provisional: HashMap<&str, u32> = HashMap::with_capacity(total / 4 + 16);
        let mut row_ids: Vec<u32> = Vec::with_capacity(total);
        for image in &images {
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
                component: 0
            };
            total
        ];
        let mut rows = row_ids.iter();
        for (image_no, image) in images.iter().enumerate() {
            for component_no in 0..image.index.components().len() {
                let Some(id) = rows.next() else { break };
                let slot = &mut fill[rank[*id as usize] as usize];
                postings[*slot as usize] = Posting {
                    image: image_no as u32,
                    component: component_no as u32,
                };
                *slot += 1;
            }
        }
        Fleet {
            images,
            identities,
            starts,
            postings,
        }
    }

    /// The images, sorted by name.
    pub fn images(&self) -> &[FleetImage] {
        &self.images
    }

    /// How many distinct identities the fleet holds.
    pub fn distinct_identities(&self) -> usize {
        self.identities.len()
    }

    /// Every (image, component) matching `query`.
    pub fn query<'f>(&'f self, query: &'f PurlQuery) -> QueryResult<'f> {
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

        let mut hits: Vec<(u32, usize, u32)> = Vec::new();
        for &i in &ids {
            let range = self.starts[i] as usize..self.starts[i + 1] as usize;
            hits.extend(
                self.postings[range]
                    .iter()
                    .map(|p| (p.image, i, p.component)),
            );
        }
        if ids.len() > 1 {
            // Image order first (the images are sorted), then identity order.
            hits.sort_unstable();
        }
        let matches = hits
            .into_iter()
            .map(|(image, _, component)| {
                let image = &self.images[image as usize];
                Match {
                    image,
                    component: &image.index.components()[component as usize],
                }
            })
            .collect();
        QueryResult { query, matches }
    }

    /// Answers each query; results in the order of `queries`.
    pub fn query_all<'f>(&'f self, queries: &'f [PurlQuery]) -> Vec<QueryResult<'f>> {
        queries.iter().map(|q| self.query(q)).collect()
    }
}
