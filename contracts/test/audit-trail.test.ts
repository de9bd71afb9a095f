import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { network } from 'hardhat'

const { ethers } = await network.create()

const h = (byte: string) => `0x${byte.repeat(32)}`
const shareId = '0x0123456789abcdef0123456789abcdef'
const dataHash = h('ab')
const leaf = h('33')
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

  const other = async () => {
    const signer = (await ethers.getSigners())[1]!
    return { address: await signer.getAddress(), trail: trail.connect(signer) as Trail }
  }
  const callAs = (t: Trail, name: string, ...args: unknown[]) =>
    t.getFunction(name)(...args) as Promise<unknown>
  const record = ethers.toUtf8Bytes('{"body":{},"peerSignature":"","accountSignature":""}')

  describe('registerNode', () => {
    it('emits NodeRegistered with the account, PeerId hash, SHA-256 of the record and the record', async () => {
      const [event] = await eventsOf(trail, call('registerNode', h('aa'), record))
      assert.equal(event?.name, 'NodeRegistered')
      assert.deepEqual(
        [...(event?.args ?? [])],
        [submitter, h('aa'), ethers.sha256(record), ethers.hexlify(record)]
      )
      assert.equal(await call('identityOf', submitter), ethers.sha256(record))
    })
    it('lets an account publish a newer record, which replaces the one in the registry', async () => {
      await eventsOf(trail, call('registerNode', h('aa'), record))
      const newer = ethers.toUtf8Bytes('{"body":{"issuedAt":2}}')
      await eventsOf(trail, call('registerNode', h('aa'), newer))
      assert.equal(await call('identityOf', submitter), ethers.sha256(newer))
    })
    it('cannot be squatted: another account naming the same PeerId blocks nobody', async () => {
      const o = await other()
      await eventsOf(o.trail, callAs(o.trail, 'registerNode', h('aa'), record))
      const [event] = await eventsOf(trail, call('registerNode', h('aa'), record))
      assert.equal(event?.args[0], submitter)
      assert.equal(await call('identityOf', o.address), ethers.sha256(record))
      assert.equal(await call('identityOf', submitter), ethers.sha256(record))
    })
    it('refuses a zero PeerId hash and an empty record', async () => {
      await rejectsWith(trail, call('registerNode', ZERO, record), 'AuditTrailZeroHash', [])
      await rejectsWith(trail, call('registerNode', h('aa'), '0x'), 'AuditTrailEmptyRecord', [])
    })
  })

  describe('recordShare', () => {
    it('emits ShareRecorded with id, data hash, recipient hash, the submitter and the leaf', async () => {
      const [event] = await eventsOf(trail, call('recordShare', shareId, dataHash, recipientHash, leaf))
      assert.equal(event?.name, 'ShareRecorded')
      assert.deepEqual([...(event?.args ?? [])], [shareId, dataHash, recipientHash, submitter, leaf])
    })
    it('cannot be squatted: a share id recorded first by another account still records for its sender', async () => {
      const o = await other()
      const [theirs] = await eventsOf(
        o.trail,
        callAs(o.trail, 'recordShare', shareId, h('cd'), recipientHash, leaf)
      )
      const [ours] = await eventsOf(trail, call('recordShare', shareId, dataHash, recipientHash, leaf))
      assert.equal(theirs?.args[3], o.address)
      assert.equal(ours?.args[3], submitter)
    })
    it('costs at most 50,000 gas together with its receipt (the per-share bound)', async () => {
      const gasOf = async (tx: Promise<unknown>) =>
        ((await ((await tx) as { wait(): Promise<{ gasUsed: bigint }> }).wait()) as { gasUsed: bigint })
          .gasUsed
      const id = ethers.hexlify(ethers.randomBytes(16))
      const random = () => ethers.hexlify(ethers.randomBytes(32))
      const total =
        (await gasOf(call('recordShare', id, random(), random(), random()))) +
        (await gasOf(call('anchorReceipt', id, random())))
      assert.ok(total <= 50_000n, `recordShare + anchorReceipt used ${total} gas`)
    })
  })

  describe('anchorReceipt', () => {
    it('emits ReceiptAnchored with id, submitter and receipt hash', async () => {
      const [event] = await eventsOf(trail, call('anchorReceipt', shareId, h('ee')))
      assert.equal(event?.name, 'ReceiptAnchored')
      assert.deepEqual([...(event?.args ?? [])], [shareId, submitter, h('ee')])
    })
    it('cannot be squatted: another account anchoring first blocks nobody', async () => {
      const o = await other()
      await eventsOf(o.trail, callAs(o.trail, 'anchorReceipt', shareId, h('ef')))
      const [ours] = await eventsOf(trail, call('anchorReceipt', shareId, h('ee')))
      assert.deepEqual([...(ours?.args ?? [])], [shareId, submitter, h('ee')])
    })
  })

  describe('anchorBatch', () => {
    it('emits BatchAnchored with root, submitter, first sequence and count', async () => {
      const [event] = await eventsOf(trail, call('anchorBatch', h('01'), 0n, 16))
      assert.equal(event?.name, 'BatchAnchored')
      assert.deepEqual([...(event?.args ?? [])], [h('01'), submitter, 0n, 16n])
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
  it('bench/audit/floor-artifact.json matches the compiled AuditFloor (same command)', async () => {
    const { readFileSync } = await import('node:fs')
    const { COMPILED_FLOOR_ARTIFACT, SHIPPED_FLOOR_ARTIFACT, shippedArtifactText } = await import(
      '../../node/audit/export-artifact.ts'
    )
    assert.equal(readFileSync(SHIPPED_FLOOR_ARTIFACT, 'utf8'), shippedArtifactText(COMPILED_FLOOR_ARTIFACT))
  })
})
