import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dataHashOf } from '../core/accept-share.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import type { CommitOptions, KnownPeer, ShareStore, StoredShare } from '../core/share-ports.ts'
import { createLogger } from '../log/logger.ts'
import { openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { type RecordCipher, RecordRepository } from '../store/records.ts'
import { ShareRepository } from '../store/shares.ts'
import { createDeliveryWorker } from './delivery-worker.ts'
import { auditLedgerOf, shareStoreOf } from './share-adapters.ts'

/** A reversible stand-in for the key ring: what is tested here is how the worker commits. */
const cipher: RecordCipher = {
  encryptBytes: (p) => ({ keyVersion: 1, token: Buffer.concat([Buffer.of(0x80), p]) }),
  decryptBytes: (_v, t) => t.subarray(1),
  decrypt: () => {
    throw new Error('no row of the older form here')
  }
}

const SENDER = '12D3KooWWorkerSender'
const RECIPIENT: KnownPeer = {
  peerId: '12D3KooWWorkerRecipient',
  trust: 'pinned',
  signingPublicKeyPem: 'unused',
  encryptionPublicKeyPem: 'unused'
}

let dir: string | undefined
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

describe('delivery worker', () => {
  it('claims and settles a share with commits that wait for the next durable one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dmn-worker-'))
    const db = openDatabase(join(dir, 'node.db'), { synchronous: 'FULL' })
    migrate(db)
    const shares = new ShareRepository(db)
    const real = shareStoreOf(db, new RecordRepository(db, cipher), shares)
    const commits: (CommitOptions | undefined)[] = []
    const store: ShareStore = {
      ...real,
      transaction: (work, options) => {
        commits.push(options)
        return real.transaction(work, options)
      },
      groupTransaction: (work, options) => {
        commits.push(options)
        return real.groupTransaction(work, options)
      }
    }
    const data = randomBytes(64)
    const dataHash = dataHashOf(data)
    const shareId = randomBytes(16).toString('hex')
    real.transaction(() => {
      const record = real.putRecord(data, dataHash)
      real.insertShare({
        shareId,
        direction: 'out',
        recordId: record.id,
        dataHash,
        sender: SENDER,
        recipient: RECIPIENT.peerId,
        tier: 'standard',
        state: 'queued',
        nextAttemptMs: Date.now(),
        expiresMs: Date.now() + 60_000
      })
    })
    const receipt: SignedReceipt = {
      body: {
        v: 1,
        shareId,
        dataHash,
        sender: SENDER,
        recipient: RECIPIENT.peerId,
        tier: 'standard',
        receivedAt: Date.now()
      },
      signature: 'c2lnbmVk'
    }
    const delivered = new Promise<StoredShare>((resolve, reject) => {
      const worker = createDeliveryWorker(
        {
          store,
          ledger: auditLedgerOf(db, undefined),
          peers: { verified: async () => RECIPIENT },
          envelopes: { seal: async () => Uint8Array.of(1), receiptSignedBy: () => true },
          transport: { send: async () => receipt },
          queue: shares,
          logger: createLogger({ level: 'silent' }),
          onDelivered: (share) => {
            void worker.stop().then(() => resolve(share))
          },
          onAttemptFailed: (_share, err) => reject(err)
        },
        { concurrency: 1 }
      )
      worker.start()
    })
    expect((await delivered).state).toBe('delivered')
    // The claim and the delivered mark: neither syncs the WAL on its own.
    expect(commits.length).toBeGreaterThanOrEqual(2)
    expect(commits.every((options) => options?.durable === false)).toBe(true)
    db.close()
  })
})
