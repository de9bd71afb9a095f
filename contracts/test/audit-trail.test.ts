import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { network } from 'hardhat'

const { ethers } = await network.create()

const h = (byte: string) => `0x${byte.repeat(32)}`
const shareId = '0x0123456789abcdef0123456789abcdef'
const dataHash = h('ab')
const senderHash = h('11')
const recipientHash = h('22')
const ZERO = h('00')

type Trail = Awaited<ReturnType<typeof ethers.deployContract>>
type Tx = { wait(): Promise<{ logs: readonly unknown[] } | null> }

async function eventsOf(trail: Trail, tx: Promise<unknown>) {
  const receipt = await ((await tx) as Tx).wait()
  return (receipt?.logs ?? []).map((log) => {
    const parsed = trail.interface.parseLog(log as { topics: string[]; data: string })
    assert.ok(parsed)
    return parsed
  })
}

async function rejectsWith(trail: Trail, tx: Promise<unknown>, name: string, args: unknown[]) {
  await assert.rejects(tx, (err: Error & { data?: string }) => {
    const decoded = trail.interface.parseError(err.data ?? '0x')
    assert.equal(decoded?.name, name)
    assert.deepEqual([...(decoded?.args ?? [])], args)
    return true
  })
}

describe('AuditTrail', () => {
  let trail: Trail
  let submitter: string
  beforeEach(async () => {
    trail = await ethers.deployContract('AuditTrail')
    submitter = await (await ethers.getSigners())[0]!.getAddress()
  })
  const call = (name: string, ...args: unknown[]) => trail.getFunction(name)(...args) as Promise<unknown>

  describe('registerNode', () => {
    it('emits NodeRegistered with account, PeerId hash and key fingerprint', async () => {
      const [event] = await eventsOf(trail, call('registerNode', h('aa'), h('bb')))
      assert.equal(event?.name, 'NodeRegistered')
      assert.deepEqual([...(event?.args ?? [])], [submitter, h('aa'), h('bb')])
      assert.deepEqual([...((await call('nodeOf', submitter)) as unknown[])], [h('aa'), h('bb')])
    })
    it('refuses a second registration of the account with AuditTrailNodeAlreadyRegistered', async () => {
      await eventsOf(trail, call('registerNode', h('aa'), h('bb')))
      await rejectsWith(trail, call('registerNode', h('cc'), h('dd')), 'AuditTrailNodeAlreadyRegistered', [
        submitter
      ])
    })
    it('refuses a PeerId registered by another account with AuditTrailPeerIdTaken', async () => {
      await eventsOf(trail, call('registerNode', h('aa'), h('bb')))
      const other = (await ethers.getSigners())[1]!
      const asOther = trail.connect(other) as Trail
      await rejectsWith(
        trail,
        asOther.getFunction('registerNode')(h('aa'), h('cc')),
        'AuditTrailPeerIdTaken',
        [h('aa'), submitter]
      )
    })
    it('refuses zero hashes with AuditTrailZeroHash', async () => {
      await rejectsWith(trail, call('registerNode', ZERO, h('bb')), 'AuditTrailZeroHash', [])
      await rejectsWith(trail, call('registerNode', h('aa'), ZERO), 'AuditTrailZeroHash', [])
    })
  })

  describe('recordShare', () => {
    it('emits ShareRecorded with every field and keeps the share', async () => {
      const [event] = await eventsOf(
        trail,
        call('recordShare', shareId, dataHash, senderHash, recipientHash, 1, 1_700_000_000_123n)
      )
      assert.equal(event?.name, 'ShareRecorded')
      assert.deepEqual(
        [...(event?.args ?? [])],
        [shareId, dataHash, recipientHash, senderHash, 1n, 1_700_000_000_123n, submitter]
      )
      const [who, hash, block] = (await call('shareOf', shareId)) as [string, string, bigint]
      assert.equal(who, submitter)
      assert.equal(hash, dataHash)
      assert.ok(block > 0n)
    })
    it('refuses a share recorded twice with AuditTrailDuplicateShare', async () => {
      await eventsOf(trail, call('recordShare', shareId, dataHash, senderHash, recipientHash, 0, 1n))
      await rejectsWith(
        trail,
        call('recordShare', shareId, h('cd'), senderHash, recipientHash, 0, 2n),
        'AuditTrailDuplicateShare',
        [shareId]
      )
    })
    it('refuses a tier above maximum with AuditTrailInvalidTier', async () => {
      await rejectsWith(
        trail,
        call('recordShare', shareId, dataHash, senderHash, recipientHash, 3, 1n),
        'AuditTrailInvalidTier',
        [3n]
      )
    })
    it('refuses zero hashes with AuditTrailZeroHash', async () => {
      for (const args of [
        [ZERO, senderHash, recipientHash],
        [dataHash, ZERO, recipientHash],
        [dataHash, senderHash, ZERO]
      ]) {
        await rejectsWith(trail, call('recordShare', shareId, ...args, 0, 1n), 'AuditTrailZeroHash', [])
      }
    })
  })

  describe('anchorReceipt', () => {
    it('emits ReceiptAnchored with share id, data hash, submitter and receipt hash', async () => {
      const [event] = await eventsOf(trail, call('anchorReceipt', shareId, dataHash, h('ee')))
      assert.equal(event?.name, 'ReceiptAnchored')
      assert.deepEqual([...(event?.args ?? [])], [shareId, dataHash, submitter, h('ee')])
      assert.equal(await call('receiptOf', shareId), h('ee'))
    })
    it('refuses a second receipt for the share with AuditTrailDuplicateReceipt', async () => {
      await eventsOf(trail, call('anchorReceipt', shareId, dataHash, h('ee')))
      await rejectsWith(
        trail,
        call('anchorReceipt', shareId, dataHash, h('ef')),
        'AuditTrailDuplicateReceipt',
        [shareId]
      )
    })
    it('refuses zero hashes with AuditTrailZeroHash', async () => {
      await rejectsWith(trail, call('anchorReceipt', shareId, ZERO, h('ee')), 'AuditTrailZeroHash', [])
      await rejectsWith(trail, call('anchorReceipt', shareId, dataHash, ZERO), 'AuditTrailZeroHash', [])
    })
  })

  describe('anchorBatch', () => {
    it('emits BatchAnchored and advances the submitter sequence', async () => {
      const [event] = await eventsOf(trail, call('anchorBatch', h('01'), 0n, 16))
      assert.equal(event?.name, 'BatchAnchored')
      assert.deepEqual([...(event?.args ?? [])], [h('01'), submitter, 0n, 16n])
      assert.equal(await call('nextSequence', submitter), 16n)
      const [second] = await eventsOf(trail, call('anchorBatch', h('02'), 16n, 3))
      assert.deepEqual([...(second?.args ?? [])], [h('02'), submitter, 16n, 3n])
      const [who, first, count] = (await call('batchOf', h('02'))) as [string, bigint, bigint]
      assert.deepEqual([who, first, count], [submitter, 16n, 3n])
    })
    it('refuses a root anchored before with AuditTrailDuplicateBatch', async () => {
      await eventsOf(trail, call('anchorBatch', h('01'), 0n, 2))
      await rejectsWith(trail, call('anchorBatch', h('01'), 2n, 2), 'AuditTrailDuplicateBatch', [h('01')])
    })
    it('refuses a batch that repeats or skips sequence numbers with AuditTrailSequenceMismatch', async () => {
      await eventsOf(trail, call('anchorBatch', h('01'), 0n, 4))
      await rejectsWith(trail, call('anchorBatch', h('02'), 0n, 4), 'AuditTrailSequenceMismatch', [4n, 0n])
      await rejectsWith(trail, call('anchorBatch', h('02'), 5n, 4), 'AuditTrailSequenceMismatch', [4n, 5n])
    })
    it('refuses an empty batch with AuditTrailEmptyBatch', async () => {
      await rejectsWith(trail, call('anchorBatch', h('01'), 0n, 0), 'AuditTrailEmptyBatch', [])
    })
    it('refuses a zero root with AuditTrailZeroHash', async () => {
      await rejectsWith(trail, call('anchorBatch', ZERO, 0n, 1), 'AuditTrailZeroHash', [])
    })
  })

  describe('anchorLogHead', () => {
    it('emits LogHeadAnchored with submitter, sequence and head', async () => {
      const [event] = await eventsOf(trail, call('anchorLogHead', 7n, h('77')))
      assert.equal(event?.name, 'LogHeadAnchored')
      assert.deepEqual([...(event?.args ?? [])], [submitter, 7n, h('77')])
      assert.deepEqual([...((await call('logHeadOf', submitter)) as unknown[])], [7n, h('77')])
    })
    it('refuses a head that is not newer with AuditTrailStaleLogHead', async () => {
      await eventsOf(trail, call('anchorLogHead', 7n, h('77')))
      await rejectsWith(trail, call('anchorLogHead', 7n, h('78')), 'AuditTrailStaleLogHead', [7n, 7n])
      await rejectsWith(trail, call('anchorLogHead', 3n, h('78')), 'AuditTrailStaleLogHead', [7n, 3n])
    })
    it('refuses a zero head with AuditTrailZeroHash', async () => {
      await rejectsWith(trail, call('anchorLogHead', 1n, ZERO), 'AuditTrailZeroHash', [])
    })
  })
})

describe('shipped artifact', () => {
  it('node/audit/contract-artifact.json matches the compiled contract (regenerate: node node/audit/export-artifact.ts)', async () => {
    const { readFileSync } = await import('node:fs')
    const { SHIPPED_ARTIFACT, shippedArtifactText } = await import('../../node/audit/export-artifact.ts')
    assert.equal(readFileSync(SHIPPED_ARTIFACT, 'utf8'), shippedArtifactText())
  })
})
