/**
 * The Merkle tree of RFC 9162 (Certificate Transparency v2), section 2.1, over SHA-256:
 *   leaf node  = SHA-256(0x00 || leaf)
 *   inner node = SHA-256(0x01 || left || right), splitting n leaves at the largest power of two < n.
 * The prefixes keep a leaf from passing for an inner node. Inclusion proofs and their verification
 * follow sections 2.1.3.1 and 2.1.3.2, so any RFC 9162 implementation can check them.
 */
import { createHash } from 'node:crypto'

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

export const hashLeaf = (leaf: Uint8Array): Uint8Array => sha256(LEAF, leaf)
export const hashChildren = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(NODE, left, right)

function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** The tree head over `leaves` (at least one). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf')
  if (leaves.length === 1) return hashLeaf(leaves[0] as Uint8Array)
  const k = split(leaves.length)
  return hashChildren(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)))
}

/** The audit path of leaf `index`, bottom up (RFC 9162 2.1.3.1). */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError('leaf index out of range')
  if (leaves.length === 1) return []
  const k = split(leaves.length)
  return index < k
    ? [...inclusionProof(leaves.slice(0, k), index), merkleRoot(leaves.slice(k))]
    : [...inclusionProof(leaves.slice(k), index - k), merkleRoot(leaves.slice(0, k))]
}

/**
 * The tree head and every leaf's audit path at once (each path as `inclusionProof` gives it), in
 * O(n log n) hashes instead of the O(n) per path that `inclusionProof` spends.
 */
export function merkleTree(leaves: readonly Uint8Array[]): { root: Uint8Array; proofs: Uint8Array[][] } {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf')
  if (leaves.length === 1) return { root: hashLeaf(leaves[0] as Uint8Array), proofs: [[]] }
  const k = split(leaves.length)
  const left = merkleTree(leaves.slice(0, k))
  const right = merkleTree(leaves.slice(k))
  for (const p of left.proofs) p.push(right.root)
  for (const p of right.proofs) p.push(left.root)
  return { root: hashChildren(left.root, right.root), proofs: [...left.proofs, ...right.proofs] }
}

/** RFC 9162 2.1.3.2: true when `proof` proves `leaf` at `index` of a tree of `size` with head `root`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false
  let fn = index
  let sn = size - 1
  let r = hashLeaf(leaf)
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = hashChildren(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && r.length === root.length && r.every((b, i) => b === root[i])
}
