import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BundleCheckReason, checkBundle } from '../../node/audit/bundle-check.ts'
import { parseBundle, serializeBundle } from '../../node/audit/bundle-format.ts'
import { writeChainRecord } from '../../node/audit/deploy.ts'
import { type AuditService, EmbeddedChain, onReceiptStored, onShareQueued } from '../../node/audit/index.ts'
import { OutboxRepository } from '../../node/store/outbox.ts'
import type { SignedReceipt } from '../../node/core/receipt.ts'
import { runCli } from '../helpers/cli.ts'
import {
  auditService,
  boundParties,
  countState,
  fakePeerId,
  freshDeployment,
  queueShare,
  type TempStore,
  type TestShare,
  tempStore,
  waitFor
} from './helpers.ts'

// One Hardhat node, one contract, one node's audit trail: a data hash shared twice, once recorded on
// its own (per-share mode) and once in a Merkle batch, so the bundle holds both kinds of anchor.
const chain = new EmbeddedChain()
let store: TempStore
let audit: AuditService
let exported: string
let dataHash: string
let deployment: Awaited<ReturnType<typeof freshDeployment>>
let parties: Awaited<ReturnType<typeof boundParties>>
let received: { first: TestShare; secondReceipt: SignedReceipt }

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startOn(d: Awaited<ReturnType<typeof freshDeployment>>, mode: 'per-share' | 'batch') {
  audit = auditService(store.db, store.dir, {
    rpcUrl: chain.url,
    privateKey: d.privateKey,
    contractAddress: d.record.contractAddress,
    fromBlock: d.record.deployBlock,
    mode,
    batchSize: 16
  })
  await audit.start()
}

beforeAll(async () => {
  await chain.start()
  store = tempStore()
  const d = await freshDeployment(chain.url)
  deployment = d
  writeChainRecord(store.dir, d.record)
  await startOn(d, 'per-share')
  parties = await boundParties(audit, store.db, chain.url)
  const first = queueShare(store.db, parties.share)
  onReceiptStored(new OutboxRepository(store.db), first.receipt)
  audit.poke()
  await waitFor(() => countState(store.db, 'confirmed') === 2, 'the per-share events')
  await audit.stop()

  // The same data again, to the same recipient, in a batch of its share record and its receipt.
  await startOn(d, 'batch')
  dataHash = first.dataHash
  const second = {
    shareId: randomBytes(16).toString('hex'),
    dataHash,
    sender: first.sender,
    recipient: first.recipient,
    tier: 'high' as const,
    timestamp: Date.now()
  }
  const body = { v: 1 as const, ...second, receivedAt: second.timestamp + 3 }
  delete (body as { timestamp?: number }).timestamp
  const outbox = new OutboxRepository(store.db)
  // A second share of the same stored record (a record is kept once per data hash).
  const t = new Date().toISOString()
  store.db
    .prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
       SELECT ?, 'out', record_id, data_hash, sender, recipient, 'high', 'delivered', ?, ? FROM shares WHERE share_id = ?`
    )
    .run(second.shareId, t, t, first.shareId)
  onShareQueued(outbox, second)
  const secondReceipt = { body, signature: parties.recipient.sign(body) }
  onReceiptStored(outbox, secondReceipt)
  received = { first, secondReceipt }
  audit.flush()
  await waitFor(() => countState(store.db, 'confirmed') === 4, 'the batch')

  // Exported by the CLI from the database and the configured chain (no node answers its API).
  const file = join(store.dir, 'bundle.json')
  const result = runCli(['audit', 'export', dataHash, '-o', file], {
    DMN_DATA_DIR: store.dir,
    CHAIN_RPC_URL: chain.url,
    DMN_API_INTERNAL_PORT: String(await freePort())
  })
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  exported = readFileSync(file, 'utf8')
}, 60_000)

afterAll(async () => {
  await audit?.stop()
  store?.cleanup()
  await chain.stop()
})

const NOWHERE = join('/nonexistent', `dmn-${randomBytes(4).toString('hex')}`)

function checkCli(text: string, extra: string[] = []) {
  const file = join(store.dir, `check-${randomBytes(4).toString('hex')}.json`)
  writeFileSync(file, text)
  return runCli(['audit', 'check', file, '--rpc', chain.url, ...extra], {
    DMN_DATA_DIR: NOWHERE,
    DATA_DIR: NOWHERE
  })
}

// biome-ignore lint/suspicious/noExplicitAny: a bundle being tampered with is any JSON
type Mutable = Record<string, any>
const copy = (): Mutable => JSON.parse(exported)
const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`

describe('evidence bundles', () => {
  it('exports both shares with their anchors and the identities of both parties', () => {
    const bundle = parseBundle(exported)
    expect(bundle.dataHash).toBe(dataHash)
    expect(bundle.chain).toMatchObject({ chainId: 31337, contract: audit.contractAddress?.toLowerCase() })
    expect(bundle.identities).toHaveLength(2)
    expect(bundle.shares.map((s) => [s.shareAnchor.type, s.receiptAnchor?.type])).toEqual([
      ['event', 'event'],
      ['batch', 'batch']
    ])
    expect(exported).toBe(`${serializeBundle(bundle)}\n`)
  })

  it('is verified by a separate process with no data directory, against the chain alone', () => {
    const result = checkCli(exported, ['--json'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const answer = JSON.parse(result.stdout)
    expect(answer).toMatchObject({ verified: true, data_hash: dataHash })
    expect(answer.shares.map((s: { verified: boolean; tier: string }) => [s.verified, s.tier])).toEqual([
      [true, 'standard'],
      [true, 'high']
    ])
    expect(existsSync(NOWHERE)).toBe(false)
  })

  it('refuses each single-field tampering with its reason', async () => {
    const bundle = copy()
    type Where = 'bundle' | 0 | 1
    const t = (what: string, reason: BundleCheckReason, where: Where, change: (b: Mutable) => void) => ({
      what,
      reason,
      where,
      change
    })
    const tamperings = [
      t('chain id', 'wrong_chain', 'bundle', (b) => {
        b.chain.chainId += 1
      }),
      t('genesis hash', 'chain_reset', 'bundle', (b) => {
        b.chain.genesisHash = flip(b.chain.genesisHash)
      }),
      t('contract', 'identity_not_registered', 'bundle', (b) => {
        b.chain.contract = `0x${'11'.repeat(20)}`
      }),
      t('identity record', 'bad_identity_record', 'bundle', (b) => {
        b.identities[0].record = b.identities[0].record.replace(
          /"issuedAt":(\d+)/,
          (_: string, n: string) => `"issuedAt":${Number(n) + 1}`
        )
      }),
      t('identity anchor log', 'identity_not_registered', 'bundle', (b) => {
        b.identities[0].anchor.logIndex += 1
      }),
      t('identity anchor block', 'chain_reset', 'bundle', (b) => {
        b.identities[0].anchor.blockHash = flip(b.identities[0].anchor.blockHash)
      }),
      t('recipient identity swapped for the sender', 'unbound_recipient', 'bundle', (b) => {
        b.identities[1] = b.identities[0]
      }),
      t('share data hash', 'data_hash_mismatch', 0, (b) => {
        b.shares[0].share.dataHash = 'ab'.repeat(32)
      }),
      t('share sender', 'unbound_submitter', 0, (b) => {
        b.shares[0].share.sender = fakePeerId()
      }),
      t('share recipient', 'unbound_recipient', 0, (b) => {
        b.shares[0].share.recipient = fakePeerId()
      }),
      t('share tier', 'proof_mismatch', 0, (b) => {
        b.shares[0].share.tier = 'maximum'
      }),
      t('share timestamp', 'proof_mismatch', 0, (b) => {
        b.shares[0].share.timestamp -= 1
      }),
      t('share anchor transaction', 'not_found', 0, (b) => {
        b.shares[0].shareAnchor.txHash = `0x${randomBytes(32).toString('hex')}`
      }),
      t('share anchor log index', 'not_found', 0, (b) => {
        b.shares[0].shareAnchor.logIndex += 1
      }),
      t('share anchor block hash', 'chain_reset', 0, (b) => {
        b.shares[0].shareAnchor.blockHash = flip(b.shares[0].shareAnchor.blockHash)
      }),
      t('receipt time', 'bad_receipt_signature', 0, (b) => {
        b.shares[0].receipt.body.receivedAt += 1
      }),
      t('receipt signature', 'bad_receipt_signature', 1, (b) => {
        b.shares[1].receipt.signature = b.shares[0].receipt.signature
      }),
      t('receipt tier', 'receipt_mismatch', 0, (b) => {
        b.shares[0].receipt.body.tier = 'high'
      }),
      t('receipt removed', 'not_delivered', 0, (b) => {
        b.shares[0].receipt = null
      }),
      t('receipt anchor names the share log', 'proof_mismatch', 0, (b) => {
        b.shares[0].receiptAnchor = b.shares[0].shareAnchor
      }),
      t('proof step', 'proof_mismatch', 1, (b) => {
        b.shares[1].shareAnchor.proof[0] = flip(b.shares[1].shareAnchor.proof[0])
      }),
      t('leaf index', 'proof_mismatch', 1, (b) => {
        b.shares[1].receiptAnchor.leafIndex = 1 - b.shares[1].receiptAnchor.leafIndex
      }),
      t('tree size', 'proof_mismatch', 1, (b) => {
        b.shares[1].receiptAnchor.treeSize += 1
      }),
      t('batch root', 'proof_mismatch', 1, (b) => {
        b.shares[1].shareAnchor.root = flip(b.shares[1].shareAnchor.root)
      }),
      t('an unknown field', 'malformed_bundle', 'bundle', (b) => {
        b.shares[1].note = 'x'
      })
    ]
    expect(bundle.identities[1].record).not.toBe(bundle.identities[0].record)
    expect(tamperings.length).toBeGreaterThanOrEqual(20)
    for (const { what, change, reason, where } of tamperings) {
      const b = copy()
      change(b)
      const result = await checkBundle(b, { rpc: chain.url })
      expect({ what, verified: result.verified }).toEqual({ what, verified: false })
      if (where === 'bundle') {
        expect({ what, reason: result.reason }).toEqual({ what, reason })
      } else {
        const other = 1 - where
        expect({ what, reason: result.shares[where]?.reason }).toEqual({ what, reason })
        // A tampering of one share leaves the other proven.
        expect({ what, other: result.shares[other]?.verified }).toEqual({ what, other: true })
      }
    }
  })

  it("is built by the recipient too, from the receipt it signed and the sender's events on chain", async () => {
    const mine = tempStore()
    const t = new Date().toISOString()
    const { first, secondReceipt } = received
    const recordId = mine.db
      .prepare(
        'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
      )
      .run(dataHash, Buffer.from('x'), t).lastInsertRowid
    const inbound = mine.db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, receipt, created_at, updated_at)
       VALUES (?, 'in', ?, ?, ?, ?, ?, 'received', ?, ?, ?)`
    )
    for (const r of [first.receipt, secondReceipt]) {
      const b = r.body
      inbound.run(
        b.shareId,
        recordId,
        b.dataHash,
        b.sender,
        b.recipient,
        b.tier,
        Buffer.from(JSON.stringify(r)),
        t,
        t
      )
    }
    const recipientAudit = auditService(mine.db, mine.dir, {
      rpcUrl: chain.url,
      privateKey: parties.recipient.wallet.privateKey,
      contractAddress: deployment.record.contractAddress,
      fromBlock: deployment.record.deployBlock
    })
    try {
      await recipientAudit.start()
      const bundle = await recipientAudit.bundle(dataHash)
      // The batched share has no proof the recipient could give: only the per-share one is in.
      expect(bundle.shares.map((s) => s.share)).toEqual([
        {
          shareId: first.shareId,
          dataHash,
          sender: first.sender,
          recipient: first.recipient,
          tier: first.tier,
          timestamp: first.timestamp
        }
      ])
      expect(await checkBundle(bundle, { rpc: chain.url })).toMatchObject({ verified: true })
      expect(await recipientAudit.verify(dataHash)).toMatchObject({ verified: true })
    } finally {
      await recipientAudit.stop()
      mine.cleanup()
    }
  })

  it('says unconfirmed when more confirmations are asked than the chain has', async () => {
    const result = await checkBundle(exported, { rpc: chain.url, minConfirmations: 10_000 })
    expect(result).toMatchObject({ verified: false, reason: 'unconfirmed' })
  })

  it('refuses, from the command line, a bundle with one byte changed, naming the reason per share', () => {
    const text = exported.replace(`"tier":"high","timestamp"`, `"tier":"maximum","timestamp"`)
    expect(text).not.toBe(exported)
    const result = checkCli(text)
    expect(result.status).toBe(1)
    const lines = result.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/: verified, \d+ confirmations$/)
    expect(lines[1]).toMatch(/: NOT verified: proof_mismatch$/)
    expect(lines[2]).toBe('bundle NOT verified: proof_mismatch')
    const spaced = checkCli(exported.replace('{"v":1,', '{"v": 1,'))
    expect(spaced.status).toBe(1)
    expect(spaced.stdout.trim()).toBe('bundle NOT verified: malformed_bundle')
  })
})
