import { describe, expect, it } from 'vitest'
import { eventsOfQueuedShare, eventsOfStoredReceipt } from './audit-events.ts'
import type { SignedReceipt } from './receipt.ts'

const share = {
  shareId: 'a'.repeat(32),
  dataHash: 'b'.repeat(64),
  sender: '12D3KooWSender',
  recipient: '12D3KooWRecipient',
  tier: 'high',
  createdAt: '2026-12-02T10:00:00.000Z'
} as const

describe('audit events of a share', () => {
  it('anchors a queued share once, stamped with the time it was queued', () => {
    expect(eventsOfQueuedShare(share)).toEqual([
      {
        kind: 'share',
        shareId: share.shareId,
        dataHash: share.dataHash,
        sender: share.sender,
        recipient: share.recipient,
        tier: 'high',
        timestamp: Date.parse(share.createdAt)
      }
    ])
  })

  it('anchors a stored receipt once, as it was signed', () => {
    const receipt = { body: { shareId: share.shareId }, signature: 'c2ln' } as unknown as SignedReceipt
    expect(eventsOfStoredReceipt(receipt)).toEqual([{ kind: 'receipt', receipt }])
  })
})
