//! Merkle tree hashing, proofs and proof verification, exactly as RFC 9162
//! section 2 (the same tree as RFC 6962) defines them.
//!
//! Why the standard tree and not a home-grown one: a checkpoint is only worth
//! something if anyone can check it, and every Certificate Transparency
//! verifier already knows this tree. Section 2.1.1 fixes the hashing (leaves
//! `SHA-256(0x00 || d)`, interior nodes `SHA-256(0x01 || l || r)`, split at the
//! largest power of two below `n`), 2.1.3 the inclusion proofs and 2.1.4 the
//! consistency proofs; the verifiers below are the RFC's algorithms 2.1.3.2 and
//! 2.1.4.2 step by step, so they can be read side by side with the text.
//!
//! Storage model: only *perfect* subtrees are ever stored, addressed by
//! `(level, index)` and covering leaves `[index << level, (index + 1) << level)`.
//! A perfect node never changes once its last leaf is appended, so the store is
//! append-only. Every node of the tree of size `n` is either perfect or lies on
//! its right edge, and a right-edge node is the fold of the perfect subtrees of
//! the binary decomposition of its width. That is why roots and proofs read
//! O(log n) nodes and the store never holds a hash that a later append would
//! invalidate. [`CompactTree`] keeps that decomposition for `[0, size)` in
//! memory so that appending needs no reads at all.
//!
//! Verification takes attacker-chosen sizes, indices and proofs: it never
//! panics, checks the proof length before hashing anything, and rejects extra
//! or missing hashes.

use std::convert::Infallible;

use ring::digest::{Context, SHA256};

/// A SHA-256 output: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `SHA-256(0x00 || data)`: the domain prefix keeps a leaf from ever being
/// passed off as an interior node (second-preimage resistance, RFC 9162 2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// Where proofs read hashes from: the hash of the PERFECT subtree at `level`
/// with position `index`, i.e. covering leaves `[index << level, (index + 1) << level)`.
/// Level 0 holds the leaf hashes. The server implements this over its store;
/// tests and offline verifiers use [`MemoryTree`].
pub trait NodeSource {
    type Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// Why a root or proof could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    #[error("{what} {value} is out of range for a tree of {size} leaves")]
    OutOfRange {
        what: &'static str,
        value: u64,
        size: u64,
    },
    #[error("reading the tree store failed: {0}")]
    Source(E),
}

fn read<S: NodeSource>(src: &S, level: u8, index: u64) -> Result<Hash, ProofError<S::Error>> {
    src.node(level, index).map_err(ProofError::Source)
}

/// Largest power of two strictly below `n` (RFC 9162 2.1.1's `k`); `n >= 2`.
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// `MTH(D[begin:end])` for a node of some tree: either perfect or on the right
/// edge, so `begin` is aligned to every piece of the decomposition of
/// `end - begin`. Folds those pieces right to left, smallest first.
fn range_hash<S: NodeSource>(src: &S, begin: u64, end: u64) -> Result<Hash, ProofError<S::Error>> {
    let width = end - begin;
    let mut right = end;
    let mut acc: Option<Hash> = None;
    for level in 0..64u8 {
        if width >> level & 1 == 1 {
            right -= 1 << level;
            debug_assert_eq!(right % (1 << level), 0, "unaligned range");
            let piece = read(src, level, right >> level)?;
            acc = Some(match acc {
                None => piece,
                Some(r) => node_hash(&piece, &r),
            });
        }
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// Root of the tree with `size` leaves ([`empty_root`] for 0), from at most
/// 64 reads: one per set bit of `size`.
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    range_hash(src, 0, size)
}

/// RFC 9162 2.1.3.1 `PATH(index, D[0:size])`, leaf's sibling first.
///
/// Walks down from the root; every left sibling and every sibling below the
/// first left turn is perfect (one read), and only the single right-edge
/// sibling needs its decomposition, so reads stay under 2 * 64.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange {
            what: "leaf index",
            value: index,
            size,
        });
    }
    let (mut lo, mut hi) = (0, size);
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            siblings.push(range_hash(src, mid, hi)?);
            hi = mid;
        } else {
            siblings.push(range_hash(src, lo, mid)?);
            lo = mid;
        }
    }
    siblings.reverse();
    Ok(siblings)
}

/// RFC 9162 2.1.4.1 `PROOF(old, D[0:new])`; `old == new` gives an empty proof.
///
/// `old == 0` is refused: every tree extends the empty one, so there is
/// nothing to prove, and a caller asking has confused sizes somewhere.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old == 0 || old > new {
        return Err(ProofError::OutOfRange {
            what: "old size",
            value: old,
            size: new,
        });
    }
    // SUBPROOF's recursion, unrolled: `old` always lies in (lo, hi].
    let (mut lo, mut hi) = (0, new);
    let mut old_is_whole_subtree = true; // SUBPROOF's `b`
    let mut siblings = Vec::new();
    while old != hi {
        let mid = lo + split(hi - lo);
        if old <= mid {
            siblings.push(range_hash(src, mid, hi)?);
            hi = mid;
        } else {
            siblings.push(range_hash(src, lo, mid)?);
            lo = mid;
            old_is_whole_subtree = false;
        }
    }
    let mut proof = Vec::with_capacity(siblings.len() + 1);
    // When the old tree is itself a node of the new one the verifier already
    // holds its hash (old_root); otherwise it needs this node to start from.
    if !old_is_whole_subtree {
        proof.push(range_hash(src, lo, hi)?);
    }
    proof.extend(siblings.into_iter().rev());
    Ok(proof)
}

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof has {got} hashes; these sizes need exactly {expected}")]
    WrongProofLength { expected: usize, got: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("consistency with the empty tree has no proof to check")]
    SizeZero,
    #[error("old size {old} is larger than new size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    #[error("trees of equal size {size} have different roots")]
    SameSizeDifferentRoots { size: u64 },
    #[error("the proof does not reproduce the old root")]
    OldRootMismatch,
    #[error("the proof does not reproduce the new root")]
    NewRootMismatch,
}

/// Number of hashes in `PATH(index, D[0:size])`, for `index < size`: one per
/// level below the node where the paths to `index` and to the last leaf part
/// (`inner`), plus one per left sibling above it (`border`).
fn inclusion_len(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// Number of hashes in `PROOF(old, D[0:new])` for `0 < old < new`: the inclusion
/// path of leaf `old - 1` above the largest perfect subtree ending at `old`,
/// plus that subtree's hash unless it is the whole old tree.
fn consistency_len(old: u64, new: u64) -> usize {
    let (inner, border) = inclusion_len(old - 1, new);
    let shift = old.trailing_zeros();
    let seed = usize::from(!old.is_power_of_two());
    seed + inner.saturating_sub(shift) as usize + border as usize
}

/// RFC 9162 2.1.3.2: checks that `leaf` is at `index` in the tree of `size`
/// leaves whose root is `root`.
///
/// `size` only chooses the hashing pattern; it is the signed checkpoint that
/// binds a size to a root, so a size with the same pattern verifies too.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (inner, border) = inclusion_len(index, size);
    let expected = (inner + border) as usize;
    let wrong_length = VerifyError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // Skip the levels where this node has no right sibling.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 2.1.4.2: checks that the tree of `new_size` leaves with root
/// `new_root` extends the tree of `old_size` leaves with root `old_root`.
///
/// Equal sizes need an empty proof and equal roots. `old_size == 0` is
/// rejected with [`VerifyError::SizeZero`] rather than accepted: there is no
/// proof that could tie `old_root` to anything, and a caller that trusts an
/// empty old tree needs no verification at all.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        return Err(VerifyError::SizeZero);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(VerifyError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if old_root != new_root {
            return Err(VerifyError::SameSizeDifferentRoots { size: old_size });
        }
        return Ok(());
    }
    // Also covers the RFC's step 1 (an empty proof), since expected >= 1 here.
    let expected = consistency_len(old_size, new_size);
    let wrong_length = VerifyError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: a perfect old tree is itself the starting node.
    let (seed, rest) = match (old_size.is_power_of_two(), proof.split_first()) {
        (true, _) => (*old_root, proof),
        (false, Some((first, rest))) => (*first, rest),
        (false, None) => return Err(wrong_length),
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            // Nodes right of the old tree only exist in the new one.
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// The right border of a growing tree (a "compact range" `[0, size)`): the
/// perfect subtree hashes of `size`'s binary decomposition, largest first.
/// The server's sequencer appends with it without reading the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    border: Vec<Hash>,
}

impl CompactTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the border for `size` by reading the perfect subtrees of its
    /// decomposition from `src` (one read per set bit of `size`).
    pub fn restore<S: NodeSource>(src: &S, size: u64) -> Result<Self, ProofError<S::Error>> {
        let mut border = Vec::with_capacity(size.count_ones() as usize);
        for level in (0..64u8).rev() {
            if size >> level & 1 == 1 {
                // The piece ends where the bits below `level` begin.
                border.push(read(src, level, (size >> level) - 1)?);
            }
        }
        Ok(Self { size, border })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree hashes of `[0, size)`, largest (leftmost) first.
    pub fn border(&self) -> &[Hash] {
        &self.border
    }

    pub fn root(&self) -> Hash {
        let mut pieces = self.border.iter().rev();
        let Some(last) = pieces.next() else {
            return empty_root();
        };
        pieces.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends one leaf hash; calls `on_node(level, index, hash)` for EVERY
    /// perfect node that becomes complete, starting with the leaf itself at
    /// level 0, then each parent completed by this append. The caller stores them.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf: Hash, mut on_node: impl FnMut(u8, u64, &Hash)) {
        let old = self.size;
        on_node(0, old, &leaf);
        let mut node = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a perfect sibling that the
        // new node now completes; they are exactly the last border entries.
        while old >> level & 1 == 1 {
            let Some(left) = self.border.pop() else {
                unreachable!("border has one entry per set bit of size");
            };
            node = node_hash(&left, &node);
            level += 1;
            on_node(level, old >> level, &node);
        }
        self.border.push(node);
        self.size = old.checked_add(1).expect("Merkle tree is full");
    }
}

/// An in-memory tree holding every perfect node (`levels[level][index]`),
/// built by appending leaves through a [`CompactTree`]. For tests and for
/// offline verifiers that hold every leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    compact: CompactTree,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.compact.append(leaf, |level, index, hash| {
            let level = usize::from(level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, index);
            levels[level].push(*hash);
        });
    }

    pub fn size(&self) -> u64 {
        self.compact.size()
    }

    pub fn root(&self) -> Hash {
        self.compact.root()
    }

    /// Every perfect node, `levels[level][index]`, giving the tree up.
    pub fn into_levels(self) -> Vec<Vec<Hash>> {
        self.levels
    }

    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError<Infallible>> {
        if size > self.size() {
            return Err(ProofError::OutOfRange {
                what: "tree size",
                value: size,
                size: self.size(),
            });
        }
        Ok(())
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError<Infallible>> {
        self.check_size(size)?;
        root(self, size)
    }

    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, ProofError<Infallible>> {
        self.check_size(size)?;
        inclusion_proof(self, index, size)
    }

    pub fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, ProofError<Infallible>> {
        self.check_size(new)?;
        consistency_proof(self, old, new)
    }
}

impl NodeSource for MemoryTree {
    type Error = Infallible;

    /// # Panics
    /// If the node is not complete yet. The inherent methods check sizes
    /// first; callers of the free functions must not ask beyond [`MemoryTree::size`].
    fn node(&self, level: u8, index: u64) -> Result<Hash, Infallible> {
        let row = &self.levels[usize::from(level)];
        Ok(row[usize::try_from(index).expect("index fits in memory")])
    }
}

#[cfg(test)]
mod tests {
    use super::VerifyError::*;
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    // Independent transcriptions of RFC 9162 2.1.1 MTH, 2.1.3.1 PATH and
    // 2.1.4.1 SUBPROOF, recursion and all, to hold the iterative code to.
    fn naive_k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => node_hash(&mth(&d[..naive_k(n)]), &mth(&d[naive_k(n)..])),
        }
    }

    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() == 1 {
            return vec![];
        }
        let k = naive_k(d.len());
        match m < k {
            true => [path(m, &d[..k]), vec![mth(&d[k..])]].concat(),
            false => [path(m - k, &d[k..]), vec![mth(&d[..k])]].concat(),
        }
    }

    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        if m == d.len() {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = naive_k(d.len());
        match m <= k {
            true => [subproof(m, &d[..k], b), vec![mth(&d[k..])]].concat(),
            false => [subproof(m - k, &d[k..], false), vec![mth(&d[..k])]].concat(),
        }
    }

    fn hs(hexes: &[&str]) -> Vec<Hash> {
        let decode = |s: &str| hex::decode(s).unwrap().try_into().unwrap();
        hexes.iter().map(|s| decode(s)).collect()
    }

    fn tree_of(leaves: Vec<Hash>) -> (MemoryTree, Vec<Hash>) {
        let mut tree = MemoryTree::new();
        leaves.iter().for_each(|l| tree.push(*l));
        (tree, leaves)
    }

    /// The Certificate Transparency reference tree.
    fn ct_tree() -> (MemoryTree, Vec<Hash>) {
        tree_of(CT_LEAVES.iter().map(|d| leaf_hash(d)).collect())
    }

    fn synthetic(n: u64) -> (MemoryTree, Vec<Hash>) {
        tree_of((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect())
    }

    fn flip(mut x: Hash, bit: usize) -> Hash {
        x[bit / 8] ^= 1 << (bit % 8);
        x
    }

    #[rustfmt::skip]
    const CT_LEAVES: [&[u8]; 8] = [
        b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    // transparency-dev/merkle testonly data: roots of sizes 0..=8, then proofs.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const H0: &str = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
    const H1: &str = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
    const H2: &str = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";
    const H3: &str = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
    const H4: &str = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
    const H5: &str = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
    const H6: &str = CT_ROOTS[4];

    #[test]
    fn known_answers() {
        let (tree, leaves) = ct_tree();
        let roots = hs(&CT_ROOTS);
        assert_eq!(empty_root(), roots[0]);
        for n in 0..=8 {
            assert_eq!(
                tree.root_at(n).unwrap(),
                roots[n as usize],
                "root of size {n}"
            );
            assert_eq!(
                mth(&leaves[..n as usize]),
                roots[n as usize],
                "naive root {n}"
            );
        }
        assert_eq!(
            hex::encode(tree.root()),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        for (i, n, want) in [(0, 8, [H0, H1, H2]), (5, 8, [H3, H4, H6])] {
            let want = hs(&want);
            assert_eq!(
                tree.inclusion_proof(i, n).unwrap(),
                want,
                "inclusion {i} in {n}"
            );
            verify_inclusion(&leaves[i as usize], i, n, &want, &roots[n as usize]).unwrap();
        }
        let cons: [(u64, u64, &[&str]); 4] = [
            (1, 8, &[H0, H1, H2]),
            (2, 8, &[H1, H2]),
            (6, 8, &[H5, H4, H6]),
            (2, 5, &[H1, H3]),
        ];
        for (m, n, want) in cons {
            let want = hs(want);
            assert_eq!(tree.consistency_proof(m, n).unwrap(), want, "{m} -> {n}");
            let (r1, r2) = (&roots[m as usize], &roots[n as usize]);
            verify_consistency(m, n, r1, r2, &want).unwrap();
        }
    }

    #[test]
    fn every_proof_of_small_trees_matches_the_rfc_and_verifies() {
        let (tree, leaves) = synthetic(70);
        for n in 1..=70u64 {
            let (d, r) = (&leaves[..n as usize], tree.root_at(n).unwrap());
            assert_eq!(r, mth(d));
            for i in 0..n {
                let p = tree.inclusion_proof(i, n).unwrap();
                assert_eq!(p, path(i as usize, d), "PATH({i}, {n})");
                verify_inclusion(&d[i as usize], i, n, &p, &r).unwrap();
            }
            for m in 1..=n {
                let p = tree.consistency_proof(m, n).unwrap();
                assert_eq!(p, subproof(m as usize, d, true), "PROOF({m}, {n})");
                verify_consistency(m, n, &tree.root_at(m).unwrap(), &r, &p).unwrap();
            }
        }
    }

    #[test]
    #[rustfmt::skip]
    fn bad_inclusion_proofs_are_rejected() {
        let (tree, leaves) = ct_tree();
        let (leaf, root, p) = (leaves[5], tree.root(), tree.inclusion_proof(5, 8).unwrap());
        let len = |expected, got| WrongProofLength { expected, got };
        let mut swapped = p.clone();
        swapped.swap(0, 1);
        let cases = [
            ("flipped leaf", flip(leaf, 3), 5, 8, p.clone(), root, RootMismatch),
            ("wrong root", leaf, 5, 8, p.clone(), flip(root, 200), RootMismatch),
            ("wrong index", leaf, 4, 8, p.clone(), root, RootMismatch),
            ("other leaf at its index", leaves[4], 4, 8, p.clone(), root, RootMismatch),
            ("swapped hashes", leaf, 5, 8, swapped, root, RootMismatch),
            ("size + 1", leaf, 5, 9, p.clone(), root, len(4, 3)),
            ("size - 1", leaves[6], 6, 7, tree.inclusion_proof(6, 8).unwrap(), root, len(2, 3)),
            ("empty proof", leaf, 5, 8, vec![], root, len(3, 0)),
            ("extra hash", leaf, 5, 8, [p.clone(), vec![[0; 32]]].concat(), root, len(3, 4)),
            ("truncated", leaf, 5, 8, p[..2].to_vec(), root, len(3, 2)),
            ("index == size", leaf, 8, 8, p.clone(), root, IndexOutOfRange { index: 8, size: 8 }),
            ("size 0", leaf, 0, 0, vec![], empty_root(), IndexOutOfRange { index: 0, size: 0 }),
        ];
        for (label, leaf, i, n, proof, root, want) in cases {
            assert_eq!(verify_inclusion(&leaf, i, n, &proof, &root), Err(want), "{label}");
        }
        for k in 0..p.len() {
            for bit in 0..256 {
                let mut bad = p.clone();
                bad[k] = flip(bad[k], bit);
                assert_eq!(verify_inclusion(&leaf, 5, 8, &bad, &root), Err(RootMismatch), "bit {bit} of {k}");
            }
        }
        // The size only picks a hashing pattern (the checkpoint binds it to the
        // root), so a size with the same pattern as the real one verifies too.
        assert_eq!(verify_inclusion(&leaf, 5, 7, &p, &root), Ok(()));
        assert!(matches!(tree.inclusion_proof(8, 8), Err(ProofError::OutOfRange { .. })));
        assert!(matches!(tree.inclusion_proof(0, 9), Err(ProofError::OutOfRange { .. })));
    }

    #[test]
    #[rustfmt::skip]
    fn bad_consistency_proofs_are_rejected() {
        let (tree, _) = ct_tree();
        let r = |n| tree.root_at(n).unwrap();
        let p = tree.consistency_proof(6, 8).unwrap();
        let len = |expected, got| WrongProofLength { expected, got };
        let cases = [
            ("swapped roots", 6, 8, r(8), r(6), p.clone(), OldRootMismatch),
            ("wrong new root", 6, 8, r(6), r(7), p.clone(), NewRootMismatch),
            ("old size - 1", 5, 8, r(6), r(8), p.clone(), len(4, 3)),
            ("old size + 1", 7, 8, r(6), r(8), p.clone(), len(4, 3)),
            ("new size + 1", 6, 9, r(6), r(8), p.clone(), len(4, 3)),
            ("empty proof", 6, 8, r(6), r(8), vec![], len(3, 0)),
            ("extra hash", 6, 8, r(6), r(8), [p.clone(), vec![[7; 32]]].concat(), len(3, 4)),
            ("truncated", 6, 8, r(6), r(8), p[..2].to_vec(), len(3, 2)),
            ("old > new", 8, 6, r(8), r(6), p.clone(), OldLargerThanNew { old: 8, new: 6 }),
            ("old == 0", 0, 8, empty_root(), r(8), vec![], SizeZero),
            ("equal sizes with a proof", 8, 8, r(8), r(8), p[..1].to_vec(), len(0, 1)),
            ("equal sizes, other roots", 8, 8, r(8), r(7), vec![], SameSizeDifferentRoots { size: 8 }),
            // A perfect old tree's root is the seed, so only the new root can catch it.
            ("perfect old, wrong root", 4, 8, r(3), r(8), tree.consistency_proof(4, 8).unwrap(), NewRootMismatch),
        ];
        for (label, m, n, r1, r2, proof, want) in cases {
            assert_eq!(verify_consistency(m, n, &r1, &r2, &proof), Err(want), "{label}");
        }
        for k in 0..p.len() {
            for bit in 0..256 {
                let mut bad = p.clone();
                bad[k] = flip(bad[k], bit);
                assert!(verify_consistency(6, 8, &r(6), &r(8), &bad).is_err(), "bit {bit} of {k}");
            }
        }
        assert_eq!(verify_consistency(8, 8, &r(8), &r(8), &[]), Ok(()));
        // As with inclusion, a new size with the same hashing pattern passes.
        assert_eq!(verify_consistency(6, 7, &r(6), &r(8), &p), Ok(()));
        for (m, n) in [(0, 8), (5, 4), (5, 9)] {
            assert!(matches!(tree.consistency_proof(m, n), Err(ProofError::OutOfRange { .. })));
        }
    }

    #[test]
    fn mangled_proofs_fail_for_every_shape() {
        let (tree, leaves) = synthetic(40);
        let junk = [0xab; 32];
        for n in 1..=40u64 {
            let r = tree.root_at(n).unwrap();
            let mangle = |p: &[Hash]| {
                let mut out = vec![
                    p[..p.len().saturating_sub(1)].to_vec(),
                    [p, &[junk]].concat(),
                ];
                out.extend((0..p.len()).map(|k| [&p[..k], &[flip(p[k], k)], &p[k + 1..]].concat()));
                out
            };
            for i in 0..n {
                let (p, leaf) = (tree.inclusion_proof(i, n).unwrap(), leaves[i as usize]);
                assert!(verify_inclusion(&flip(leaf, 9), i, n, &p, &r).is_err());
                for bad in mangle(&p).into_iter().filter(|bad| *bad != p) {
                    assert!(verify_inclusion(&leaf, i, n, &bad, &r).is_err(), "{i}/{n}");
                }
            }
            for m in 1..n {
                let (p, r1) = (
                    tree.consistency_proof(m, n).unwrap(),
                    tree.root_at(m).unwrap(),
                );
                assert!(
                    verify_consistency(m, n, &r, &r1, &p).is_err(),
                    "swapped {m}->{n}"
                );
                for bad in mangle(&p) {
                    assert!(verify_consistency(m, n, &r1, &r, &bad).is_err(), "{m}->{n}");
                }
            }
        }
    }

    #[test]
    fn hostile_sizes_and_long_proofs_do_not_panic() {
        let junk: Vec<Hash> = (0..1000u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let x = [0x5a; 32];
        let big = [
            (0, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (1 << 63, u64::MAX),
            (3, 1 << 63),
        ];
        for (a, b) in big.into_iter().chain([(u64::MAX, u64::MAX), (u64::MAX, 0)]) {
            for len in [0, 1, 63, 64, 65, 66, 1000] {
                assert!(
                    verify_inclusion(&x, a, b, &junk[..len], &x).is_err(),
                    "{a}/{b} {len}"
                );
                assert!(
                    verify_consistency(a, b, &x, &[0; 32], &junk[..len]).is_err(),
                    "{a}->{b}"
                );
            }
        }
    }

    /// Counts reads. How many nodes a proof reads does not depend on their
    /// values, so the huge trees below need not be real.
    struct Counting<S>(S, Cell<usize>);

    impl<S: NodeSource> NodeSource for Counting<S> {
        type Error = S::Error;
        fn node(&self, level: u8, index: u64) -> Result<Hash, S::Error> {
            self.1.set(self.1.get() + 1);
            self.0.node(level, index)
        }
    }

    struct Fake;
    impl NodeSource for Fake {
        type Error = Infallible;
        fn node(&self, level: u8, index: u64) -> Result<Hash, Infallible> {
            Ok(leaf_hash(&[&[level][..], &index.to_be_bytes()].concat()))
        }
    }

    fn reads<S>(src: &Counting<S>, f: impl FnOnce(&Counting<S>)) -> usize {
        src.1.set(0);
        f(src);
        src.1.get()
    }

    #[test]
    fn reads_are_logarithmic() {
        let fake = Counting(Fake, Cell::new(0));
        for n in [1_000_003u64, (1 << 40) + 12345, u64::MAX] {
            for i in [0, n / 3, n - 1] {
                assert!(reads(&fake, |s| assert!(root(s, n).is_ok())) <= 64);
                assert!(reads(&fake, |s| assert!(inclusion_proof(s, i, n).is_ok())) <= 2 * 64);
                let cons = |s: &_| assert!(consistency_proof(s, i.max(1), n).is_ok());
                assert!(reads(&fake, cons) <= 3 * 64);
            }
        }
        let (tree, _) = synthetic(100_000);
        let (counted, r) = (Counting(&tree, Cell::new(0)), tree.root());
        assert!(reads(&counted, |s| assert_eq!(root(s, 100_000).unwrap(), r)) <= 17);
        for i in [0, 31_337, 99_999] {
            let n = reads(&counted, |s| {
                let p = inclusion_proof(s, i, 100_000).unwrap();
                verify_inclusion(&tree.leaf(i).unwrap(), i, 100_000, &p, &r).unwrap();
            });
            assert!(n <= 2 * 17, "{n} reads for leaf {i}");
        }
    }

    #[test]
    fn append_reports_every_completed_node() {
        let mut compact = CompactTree::new();
        let mut seen = Vec::new();
        for i in 0..4u64 {
            compact.append(leaf_hash(&i.to_be_bytes()), |l, i, _| seen.push((l, i)));
        }
        assert_eq!(
            seen,
            [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0)]
        );
        assert_eq!(compact.border().len(), 1);
        assert_eq!(CompactTree::new().root(), empty_root());
    }

    fn index_in_tree() -> impl Strategy<Value = (u64, u64)> {
        (1u64..=300).prop_flat_map(|n| (0..n, Just(n)))
    }

    proptest! {
        #[test]
        fn inclusion_matches_path((i, n) in index_in_tree()) {
            let (tree, leaves) = synthetic(n);
            let p = inclusion_proof(&tree, i, n).unwrap();
            prop_assert_eq!(&p, &path(i as usize, &leaves));
            let r = root(&tree, n).unwrap();
            prop_assert_eq!(verify_inclusion(&leaves[i as usize], i, n, &p, &r), Ok(()));
        }

        #[test]
        fn consistency_matches_proof((m, n) in index_in_tree()) {
            let (m, (tree, leaves)) = (m + 1, synthetic(n));
            let p = consistency_proof(&tree, m, n).unwrap();
            prop_assert_eq!(&p, &subproof(m as usize, &leaves, true));
            let (r1, r2) = (tree.root_at(m).unwrap(), tree.root());
            prop_assert_eq!(verify_consistency(m, n, &r1, &r2, &p), Ok(()));
        }

        #[test]
        fn restore_matches_appending(n in 0u64..=300) {
            let (tree, leaves) = synthetic(n);
            let mut restored = CompactTree::restore(&tree, n).unwrap();
            prop_assert_eq!(restored.root(), mth(&leaves));
            prop_assert_eq!(&restored, &tree.compact);
            // And it keeps growing exactly like the original.
            let mut appended = tree.compact.clone();
            restored.append([9; 32], |_, _, _| {});
            appended.append([9; 32], |_, _, _| {});
            prop_assert_eq!(restored, appended);
        }
    }
}
