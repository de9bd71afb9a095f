import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hashChildren, hashLeaf, inclusionProof, merkleRoot, merkleTree, verifyInclusion } from './merkle.ts'

const leaf = (i: number) => new Uint8Array(createHash('sha256').update(`leaf ${i}`).digest())
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leaf(i))

describe('merkle (RFC 9162)', () => {
  it('builds the tree head of three leaves as the RFC defines it', () => {
    const [a, b, c] = leaves(3) as [Uint8Array, Uint8Array, Uint8Array]
    expect(merkleRoot([a, b, c])).toEqual(hashChildren(hashChildren(hashLeaf(a), hashLeaf(b)), hashLeaf(c)))
  })

  it('proves every leaf of trees of many sizes', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 16, 33]) {
      const all = leaves(n)
      const root = merkleRoot(all)
      all.forEach((l, i) => {
        expect(verifyInclusion(l, i, n, inclusionProof(all, i), root)).toBe(true)
      })
    }
  })

  it('rejects a tampered leaf, a tampered proof step, a wrong index and a wrong size', () => {
    const all = leaves(11)
    const root = merkleRoot(all)
    const proof = inclusionProof(all, 6)
    const l = all[6] as Uint8Array
    expect(verifyInclusion(leaf(99), 6, 11, proof, root)).toBe(false)
    const bad = proof.map((p) => p.slice())
    const step = bad[1] as Uint8Array
    step[0] = (step[0] as number) ^ 1
    expect(verifyInclusion(l, 6, 11, bad, root)).toBe(false)
    expect(verifyInclusion(l, 7, 11, proof, root)).toBe(false)
    const last = all[10] as Uint8Array
    expect(verifyInclusion(last, 10, 12, inclusionProof(all, 10), root)).toBe(false)
    expect(verifyInclusion(l, 6, 11, proof.slice(1), root)).toBe(false)
  })

  it('gives every audit path at once, each the same as inclusionProof gives', () => {
    for (const n of [1, 2, 3, 7, 8, 9, 64, 100]) {
      const all = leaves(n)
      const tree = merkleTree(all)
      expect(tree.root).toEqual(merkleRoot(all))
      for (let i = 0; i < n; i++) expect(tree.proofs[i]).toEqual(inclusionProof(all, i))
    }
  })

  it('refuses an empty tree', () => {
    expect(() => merkleRoot([])).toThrow(RangeError)
  })
})
