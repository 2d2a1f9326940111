//! Alias closure: records that share an id (their own, an alias or an
//! upstream id) belong together, transitively — union-find over records.
//!
//! Transitive alias links can chain unrelated vulnerabilities into one
//! giant group (one bad alias is enough), so a group never grows beyond a
//! cap: a link that would make it larger is not followed, and reported.
//! Records are linked in the order given, so the same input (in the same
//! order) always gives the same groups — callers sort first.

use std::collections::BTreeMap;

/// A link the cap kept from being followed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CappedLink {
    /// The id both sides share.
    pub shared_id: String,
    /// Indices of the records already grouped on each side (sorted).
    pub left: Vec<usize>,
    pub right: Vec<usize>,
}

/// Records grouped by alias closure.
#[derive(Debug, Default)]
pub struct Closure {
    /// Each group's record indices, ascending; groups ordered by their
    /// first index.
    pub groups: Vec<Vec<usize>>,
    pub capped: Vec<CappedLink>,
}

struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            // Path halving keeps the trees flat without recursion.
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins two roots; the smaller index stays root, so the structure does
    /// not depend on anything but the order of calls.
    fn join(&mut self, a: usize, b: usize) {
        let (root, child) = if a < b { (a, b) } else { (b, a) };
        self.parent[child] = root;
        self.size[root] += self.size[child];
    }
}

/// Groups records; `ids[i]` are record i's ids (own id, aliases, upstream).
/// A group holds at most `cap` records (a cap below 1 counts as 1).
pub fn closure<S: AsRef<str>>(ids: &[Vec<S>], cap: usize) -> Closure {
    let cap = cap.max(1);
    let mut sets = UnionFind::new(ids.len());
    // Which record first claimed each id.
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut capped = Vec::new();
    for (record, record_ids) in ids.iter().enumerate() {
        for id in record_ids {
            let id = id.as_ref().trim();
            if id.is_empty() {
                continue;
            }
            let Some(&other) = owner.get(id) else {
                owner.insert(id, record);
                continue;
            };
            let (a, b) = (sets.find(record), sets.find(other));
            if a == b {
                continue;
            }
            if sets.size[a] + sets.size[b] > cap {
                capped.push((id.to_string(), a, b));
                continue;
            }
            sets.join(a, b);
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for record in 0..ids.len() {
        let root = sets.find(record);
        by_root.entry(root).or_default().push(record);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    // Name the capped links by the final groups of their two sides.
    let mut group_of = vec![0usize; ids.len()];
    for (g, members) in groups.iter().enumerate() {
        for &m in members {
            group_of[m] = g;
        }
    }
    let mut capped: Vec<CappedLink> = capped
        .into_iter()
        .map(|(shared_id, a, b)| CappedLink {
            shared_id,
            left: groups[group_of[b]].clone(),
            right: groups[group_of[a]].clone(),
        })
        .collect();
    capped.sort();
    capped.dedup();
    Closure { groups, capped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn links_are_transitive() {
        // 0–1 share CVE-1, 1–2 share GHSA-a, 3 stands alone.
        let c = closure(
            &ids(&[
                &["PYSEC-1", "CVE-1"],
                &["GHSA-a", "CVE-1"],
                &["GO-1", "GHSA-a"],
                &["RUSTSEC-1"],
            ]),
            10,
        );
        assert_eq!(c.groups, vec![vec![0, 1, 2], vec![3]]);
        assert!(c.capped.is_empty());
    }

    #[test]
    fn a_group_stops_growing_at_the_cap() {
        let c = closure(
            &ids(&[&["A", "X"], &["B", "X"], &["C", "X"], &["D", "C"]]),
            2,
        );
        // 0+1 fill the cap; 2 cannot join, and takes 3 along through C.
        assert_eq!(c.groups, vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(
            c.capped,
            vec![CappedLink {
                shared_id: "X".into(),
                left: vec![0, 1],
                right: vec![2, 3],
            }]
        );
    }

    #[test]
    fn blank_ids_link_nothing() {
        let c = closure(&ids(&[&["A", " "], &["B", " "]]), 5);
        assert_eq!(c.groups, vec![vec![0], vec![1]]);
    }
}
