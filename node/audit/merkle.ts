/** The RFC 9162 Merkle tree lives in node/core (the batched delivery receipts use it too); its tests are there. */
export { hashChildren, hashLeaf, inclusionProof, merkleRoot, verifyInclusion } from '../core/merkle.ts'
