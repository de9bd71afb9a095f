import { describe, expect, it } from 'vitest'
import { inboundEntry, recoverTimestamp, type SenderEvidence, senderEntry } from './bundle-inbound.ts'
import type { IdentityDirectory } from './identity-directory.ts'
import { receiptLeaf, shareLeaf } from './leaves.ts'
import { inclusionProof, merkleRoot } from './merkle.ts'
import type { RpcClient } from './rpc-client.ts'

const record = {
  shareId: 'a'.repeat(32),
  dataHash: 'b'.repeat(64),
  sender: '12D3KooWA1111111111111111111111111111111111111111111',
  recipient: '12D3KooWB2222222222222222222222222222222222222222222',
  tier: 'standard' as const
}
const receivedAt = 1_700_000_000_000

describe("recovering the sender's queue time of an inbound share", () => {
  it('finds it before the receive time, after it (clock skew) and at it', () => {
    for (const t of [receivedAt - 1234, receivedAt + 77, receivedAt, receivedAt - 300_000]) {
      expect(recoverTimestamp(record, receivedAt, shareLeaf({ ...record, timestamp: t }))).toBe(t)
    }
  })

  it('gives up outside the replay window, and for a leaf of another record', () => {
    expect(
      recoverTimestamp(record, receivedAt, shareLeaf({ ...record, timestamp: receivedAt - 300_001 }))
    ).toBe(undefined)
    const other = shareLeaf({ ...record, tier: 'high', timestamp: receivedAt - 5 })
    expect(recoverTimestamp(record, receivedAt, other)).toBeUndefined()
  })
})

const body = { v: 1 as const, ...record, receivedAt }
const signed = { body, signature: 'c2lnbmF0dXJl' }
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const eventAnchor = (logIndex: number) => ({
  type: 'event' as const,
  txHash: `0x${'1'.repeat(64)}`,
  blockNumber: 7,
  blockHash: `0x${'2'.repeat(64)}`,
  logIndex
})

/** A batch of four leaves holding the share record at 1 and the receipt at 2, as its sender anchors it. */
function batched(timestamp: number) {
  const leaves = [
    Buffer.alloc(32, 9),
    Buffer.from(shareLeaf({ ...record, timestamp }), 'hex'),
    Buffer.from(receiptLeaf(body), 'hex'),
    Buffer.alloc(32, 8)
  ]
  const root = hex(merkleRoot(leaves))
  const at = (leafIndex: number) => ({
    ...eventAnchor(0),
    type: 'batch' as const,
    root,
    leafIndex,
    treeSize: leaves.length,
    proof: inclusionProof(leaves, leafIndex).map(hex)
  })
  return { share: at(1), receipt: at(2) }
}

// The chain search, reached only when the sender gives nothing usable: it finds no identity here.
const chainless = (senderEvidence: SenderEvidence) => ({
  rpc: {} as RpcClient,
  contractAddress: `0x${'3'.repeat(40)}`,
  deployBlock: 0,
  identities: { forPeer: async () => [] } as unknown as IdentityDirectory,
  senderEvidence
})

describe("an inbound share's entry from its sender", () => {
  it('takes the entry of a share queued an hour before it was received, with its batch proofs', async () => {
    const timestamp = receivedAt - 3_600_000
    const anchors = batched(timestamp)
    const asked: string[] = []
    const answer = {
      share: { ...record, timestamp },
      shareAnchor: anchors.share,
      receipt: signed,
      receiptAnchor: anchors.receipt
    }
    const entry = await inboundEntry(
      chainless(async (sender, shareId) => {
        asked.push(`${sender} ${shareId}`)
        return answer
      }),
      signed
    )
    expect(asked).toEqual([`${record.sender} ${record.shareId}`])
    expect(entry).toEqual(answer)
  })

  it('keeps its own receipt, and drops a receipt anchor whose proof is for another leaf', () => {
    const anchors = batched(receivedAt - 10)
    const entry = senderEntry(
      {
        share: { ...record, timestamp: receivedAt - 10 },
        shareAnchor: anchors.share,
        receipt: { body: { ...body, receivedAt: receivedAt + 1 }, signature: 'b3RoZXI=' },
        receiptAnchor: { ...anchors.receipt, leafIndex: 3, proof: anchors.share.proof }
      },
      signed
    )
    expect(entry?.receipt).toEqual(signed)
    expect(entry?.receiptAnchor).toBeNull()
  })

  it('refuses an entry of another share, another recipient or tier, a bad proof, or no entry at all', async () => {
    const timestamp = receivedAt - 10
    const anchors = batched(timestamp)
    const good = {
      share: { ...record, timestamp },
      shareAnchor: eventAnchor(1),
      receipt: null,
      receiptAnchor: eventAnchor(2)
    }
    expect(senderEntry(good, signed)?.share.timestamp).toBe(timestamp)
    const bad: unknown[] = [
      { ...good, share: { ...good.share, shareId: 'c'.repeat(32) } },
      { ...good, share: { ...good.share, recipient: record.sender } },
      { ...good, share: { ...good.share, tier: 'high' } },
      { ...good, share: { ...good.share, dataHash: 'd'.repeat(64) } },
      { ...good, shareAnchor: { ...anchors.share, leafIndex: 0 } },
      { ...good, shareAnchor: { ...anchors.share, root: 'e'.repeat(64) } },
      { ...good, extra: true },
      null,
      'entry'
    ]
    for (const answer of bad) {
      expect(senderEntry(answer, signed)).toBeUndefined()
      expect(
        await inboundEntry(
          chainless(async () => answer),
          signed
        )
      ).toBeUndefined()
    }
  })

  it('falls back to the chain when the sender does not answer', async () => {
    const lookedUp: string[] = []
    const ctx = {
      ...chainless(async () => {
        throw new Error('sender offline')
      }),
      identities: {
        forPeer: async (peerId: string) => {
          lookedUp.push(peerId)
          return []
        }
      } as unknown as IdentityDirectory
    }
    expect(await inboundEntry(ctx, signed)).toBeUndefined()
    expect(lookedUp).toEqual([record.sender])
  })
})
