//! RFC 6962 Merkle tree hashing and proof verification.
//!
//! Leaves are hashed as `SHA-256(0x00 || data)` and interior nodes as
//! `SHA-256(0x01 || left || right)`, so a leaf can never be passed off as a
//! node (second-preimage protection). Inclusion and consistency proofs are
//! checked with the iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2,
//! which need no tree, only the proof's sibling hashes.

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a Merkle proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not inside a tree of size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    #[error("proof has {got} hashes, a proof for this position needs {want}")]
    WrongProofLength { got: usize, want: usize },
    #[error("the proof leads to root {computed}, the expected root is {expected}")]
    RootMismatch { computed: String, expected: String },
    #[error("consistency proof from size {old} to size {new}: old size must be 1..=new size")]
    BadConsistencySizes { old: u64, new: u64 },
    #[error("consistency proof does not lead to the old root {expected} (computed {computed})")]
    OldRootMismatch { computed: String, expected: String },
    #[error("consistency proof between equal sizes must be empty and the roots equal")]
    EqualSizeMismatch,
}

/// `SHA-256(0x00 || data)`: the hash of one log entry.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root a proof leads to when `leaf` sits at `index` in a tree of
/// `tree_size` leaves (RFC 9162 §2.1.3.2). The caller compares it with the
/// root it trusts; [`verify_inclusion`] does both.
pub fn root_from_inclusion_proof(
    index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // Length check up front: the proof's shape is fixed by index and size.
    let want = inclusion_proof_len(index, tree_size);
    if proof.len() != want {
        return Err(ProofError::WrongProofLength {
            got: proof.len(),
            want,
        });
    }
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Right edge of a smaller subtree: climb until fn is a right child.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    Ok(r)
}

/// Checks that `leaf` is the `index`-th leaf of the tree with `root`.
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, tree_size, leaf, proof)?;
    if &computed != root {
        return Err(ProofError::RootMismatch {
            computed: hex::encode(computed),
            expected: hex::encode(root),
        });
    }
    Ok(())
}

/// Number of hashes in an inclusion proof for `index` in `tree_size`: the
/// verification loop run without hashing.
fn inclusion_proof_len(index: u64, tree_size: u64) -> usize {
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut n = 0usize;
    while sn > 0 {
        n += 1;
        if fn_ & 1 == 0 && fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    n
}

/// Checks that the tree of `new_size` with `new_root` extends the tree of
/// `old_size` with `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::BadConsistencySizes {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if proof.is_empty() && old_root == new_root {
            return Ok(());
        }
        return Err(ProofError::EqualSizeMismatch);
    }
    // When old_size is a power of two the old root is the first node of the path.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongProofLength { got: 0, want: 1 });
    };
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongProofLength {
                got: proof.len(),
                want: proof.len() - rest.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongProofLength {
            got: proof.len(),
            want: proof.len() + 1,
        });
    }
    if &fr != old_root {
        return Err(ProofError::OldRootMismatch {
            computed: hex::encode(fr),
            expected: hex::encode(old_root),
        });
    }
    if &sr != new_root {
        return Err(ProofError::RootMismatch {
            computed: hex::encode(sr),
            expected: hex::encode(new_root),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference tree hash straight from RFC 6962 §2.1's recursive definition,
    // independent of the iterative verifier above.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }
    fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }
    fn subproof(m: usize, leaves: &[Vec<u8>], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete { vec![] } else { vec![mth(leaves)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &leaves[..k], complete);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn inclusion_and_consistency_match_the_recursive_definition() {
        let leaves: Vec<Vec<u8>> = (0..33u8).map(|i| vec![i; (i as usize) % 5]).collect();
        for n in 1..=leaves.len() {
            let root = mth(&leaves[..n]);
            for m in 0..n {
                let proof = path(m, &leaves[..n]);
                let lh = leaf_hash(&leaves[m]);
                verify_inclusion(m as u64, n as u64, &lh, &proof, &root).unwrap();
                let mut bad = proof.clone();
                if let Some(h) = bad.first_mut() {
                    h[0] ^= 1;
                    assert!(verify_inclusion(m as u64, n as u64, &lh, &bad, &root).is_err());
                }
                let other = leaf_hash(b"not a leaf of this tree");
                assert!(verify_inclusion(m as u64, n as u64, &other, &proof, &root).is_err());
                if n > 1 {
                    // The same proof for the neighbouring index leads elsewhere.
                    let neighbour = if m + 1 < n { m + 1 } else { m - 1 };
                    assert!(
                        verify_inclusion(neighbour as u64, n as u64, &lh, &proof, &root).is_err()
                    );
                }
            }
            for old in 1..=n {
                let proof = subproof(old, &leaves[..n], true);
                let old_root = mth(&leaves[..old]);
                verify_consistency(old as u64, n as u64, &old_root, &root, &proof).unwrap();
                if old < n {
                    let mut wrong = old_root;
                    wrong[5] ^= 0x80;
                    assert!(
                        verify_consistency(old as u64, n as u64, &wrong, &root, &proof).is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn out_of_range_index_is_a_typed_error() {
        let e = verify_inclusion(5, 5, &[0; 32], &[], &[0; 32]).unwrap_err();
        assert_eq!(
            e,
            ProofError::IndexOutOfRange {
                index: 5,
                tree_size: 5
            }
        );
    }
}
