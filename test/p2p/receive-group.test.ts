import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { canonicalReceipt, type SignedReceipt } from '../../node/core/receipt.ts'
import { receiveShare } from '../../node/core/receive-share.ts'
import { type KnownPeer, type StoredShare, systemClock } from '../../node/core/share-ports.ts'
import {
  generateRsaKeyPair,
  type KeyRing,
  keyFingerprint,
  ReplayGuard,
  sealEnvelope,
  verifyPss
} from '../../node/crypto/index.ts'
import { auditLedgerOf, envelopeOpenerOf, shareStoreOf } from '../../node/p2p/share-adapters.ts'
import { sendEnvelope } from '../../node/p2p/share-protocol.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { createGroupCommit } from '../../node/store/group-commit.ts'
import { migrate } from '../../node/store/migrations.ts'
import { NonceRepository } from '../../node/store/nonces.ts'
import { RecordRepository } from '../../node/store/records.ts'
import { ShareRepository } from '../../node/store/shares.ts'
import { keyRingIn, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

/**
 * The receiver's group commit: shares arriving on concurrent streams are stored in one transaction
 * (one fsync), each once, each answered with a receipt that verifies only after that commit; a
 * share that fails inside the group is refused alone; and a receiver killed (kill -9) in the middle
 * of a group loses no share whose receipt its sender holds, and stores none twice.
 */

const CHILD = fileURLToPath(new URL('./fixtures/batch-node.ts', import.meta.url))

const dirs: { path: string; remove(): void }[] = []
const running: TestNode[] = []
const children: ChildProcess[] = []
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await Promise.all(running.map((n) => n.stop().catch(() => {})))
  for (const d of dirs) d.remove()
})

function dir(prefix: string) {
  const d = tempDir(prefix)
  dirs.push(d)
  return d.path
}

/** The name a refused share was refused with, by this node or by the peer. */
function nameOf(reason: unknown): string {
  return (reason as { refusal?: string }).refusal ?? (reason as Error).name
}

function verifies(receipt: SignedReceipt, signingPublicKeyPem: string): boolean {
  return verifyPss(
    signingPublicKeyPem,
    canonicalReceipt(receipt.body),
    new Uint8Array(Buffer.from(receipt.signature, 'base64'))
  )
}

/** Every inbound share id of a node's database with how many rows it has. */
function inboundOf(db: Db): Map<string, number> {
  const rows = db
    .prepare<[], { share_id: string; n: number }>(
      "SELECT share_id, count(*) AS n FROM shares WHERE direction = 'in' GROUP BY share_id"
    )
    .all()
  return new Map(rows.map((r) => [r.share_id, r.n]))
}

/** A sender's keys and how the receiver knows it. */
async function senderPeer() {
  const [signing, other] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  const peer: KnownPeer = {
    peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
    trust: 'pinned',
    signingPublicKeyPem: signing.publicKeyPem,
    encryptionPublicKeyPem: signing.publicKeyPem
  }
  return { peer, signing, other }
}

describe('the receiver group commit', () => {
  it('stores shares opened at once in one commit, each once, and refuses the ones that fail inside it alone', async () => {
    const path = dir('group-receive')
    const ring: KeyRing = await keyRingIn(path)
    const db = openDatabase(join(path, 'node.db'))
    migrate(db)
    const other = openDatabase(join(path, 'node.db'), { readonly: true })
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const { peer: sender, signing, other: stranger } = await senderPeer()
    // The group holds until every share announced has queued its work, as the share protocol
    // announces each stream's share: one group, whatever the order the crypto ends in.
    const group = createGroupCommit(db, { maxWaitMs: 60_000 })
    const groups: string[][] = []
    let current: string[] | undefined
    const { signing: own, encryption } = ring.identity
    const components = {
      store: shareStoreOf(db, new RecordRepository(db, ring), new ShareRepository(db), undefined, group),
      ledger: auditLedgerOf(db, {
        // Called inside the transaction for each share it stores: the works of one group run in one go.
        onShareReceived: (_db: unknown, share: StoredShare) => {
          if (!current) {
            const list: string[] = []
            current = list
            groups.push(list)
            queueMicrotask(() => {
              current = undefined
            })
          }
          current.push(share.shareId)
        }
      }),
      envelopes: envelopeOpenerOf(
        {
          selfPeerId: self,
          signingPrivateKeyPem: own.privateKeyPem,
          signingKeyId: keyFingerprint(own.publicKeyPem),
          encryptionPrivateKeyPem: encryption.privateKeyPem
        },
        new ReplayGuard(new NonceRepository(db))
      ),
      clock: systemClock,
      selfPeerId: self
    }
    const seal = (shareId: string, data: Uint8Array, signer = signing) =>
      sealEnvelope({
        header: {
          shareId,
          sender: sender.peerId,
          recipient: self,
          tier: 'standard',
          senderKeyId: keyFingerprint(signer.publicKeyPem),
          recipientKeyId: keyFingerprint(encryption.publicKeyPem)
        },
        plaintext: data,
        senderSigningPrivateKeyPem: signer.privateKeyPem,
        recipientEncryptionPublicKeyPem: encryption.publicKeyPem
      }).bytes
    const ids = Array.from({ length: 6 }, () => randomBytes(16).toString('hex'))
    const good = ids.map((id) => seal(id, randomBytes(512)))
    const cases = [
      ...good.map((envelope, i) => ({ what: `share ${i}`, envelope })),
      // The same envelope twice at once: one nonce, spent by one of them only.
      { what: 'replay of share 0', envelope: good[0] as Uint8Array },
      // Another share under the id of share 1: the id is taken by whichever stores first.
      { what: 'other data under the id of share 1', envelope: seal(ids[1] as string, randomBytes(512)) },
      // Refused before the group: its signature is not the sender's.
      { what: 'forged', envelope: seal(randomBytes(16).toString('hex'), randomBytes(512), stranger) }
    ]
    const settled = await Promise.allSettled(
      cases.map(({ envelope }) => {
        const done = group.arriving()
        return receiveShare(components, sender, envelope).then(
          (received) => {
            done()
            // Answered only once stored: another connection sees the share committed.
            expect(inboundOf(other).get(received.receipt.body.shareId)).toBe(1)
            return received
          },
          (err: unknown) => {
            done()
            throw err
          }
        )
      })
    )
    const outcome = (i: number) =>
      settled[i] as PromiseSettledResult<Awaited<ReturnType<typeof receiveShare>>>
    const refusedAs = (i: number) => {
      const o = outcome(i)
      return o.status === 'rejected' ? nameOf(o.reason) : 'stored'
    }
    // Share 0 and its replay: one stored, one refused at the nonce.
    expect([refusedAs(0), refusedAs(6)].sort()).toEqual(['ReplayedNonceError', 'stored'])
    // Share 1 and the other data under its id: one stored, the other refused for the id.
    expect([refusedAs(1), refusedAs(7)].sort()).toEqual(['InvalidShareRequestError', 'stored'])
    expect(refusedAs(8)).toBe('EnvelopeSignatureError')
    for (const i of [2, 3, 4, 5]) expect(refusedAs(i)).toBe('stored')

    // Every share stored once, all in one group: one transaction, one commit.
    expect(groups).toHaveLength(1)
    expect([...(groups[0] ?? [])].sort()).toEqual([...ids].sort())
    expect(group.stats().commits).toBe(1)
    const inbound = inboundOf(db)
    expect([...inbound.keys()].sort()).toEqual([...ids].sort())
    expect([...inbound.values()].every((n) => n === 1)).toBe(true)
    // What a refused share wrote inside the group went with it: one nonce and one record per share.
    expect(db.prepare('SELECT count(*) AS n FROM nonces').get()).toEqual({ n: 6 })
    expect(db.prepare('SELECT count(*) AS n FROM records').get()).toEqual({ n: 6 })
    const shares = new ShareRepository(db)
    for (const o of settled) {
      if (o.status !== 'fulfilled') continue
      const { receipt } = o.value
      expect(verifies(receipt, own.publicKeyPem)).toBe(true)
      expect(shares.get(receipt.body.shareId)?.receipt).toEqual(receipt)
    }
    other.close()
    db.close()
  })

  it('gives concurrent shares from a real node one receipt each that verifies, and refuses a bad one alone', async () => {
    const [b, a] = await Promise.all([startNode(dir('group-recv')), startNode(dir('group-send'))])
    running.push(a, b)
    await a.p2p.connect(b.p2p.multiaddrs[0] as string)
    await waitFor('A and B to know each other', () =>
      a.p2p.peers().some((p) => p.peerId === b.p2p.peerId && p.trust !== 'unknown')
    )
    // The delivery worker's own shares, eight at a time.
    const delivered = Array.from(
      { length: 16 },
      (_, i) =>
        a.p2p.shareData({ data: new TextEncoder().encode(`grouped ${i}`), recipient: b.p2p.peerId }).shareId
    )
    // Beside them, envelopes sent by hand at once: two copies of one, and a forged one.
    const sealFor = (signer: TestNode) =>
      sealEnvelope({
        header: {
          shareId: randomBytes(16).toString('hex'),
          sender: a.p2p.peerId,
          recipient: b.p2p.peerId,
          tier: 'standard',
          senderKeyId: keyFingerprint(signer.keyRing.identity.signing.publicKeyPem),
          recipientKeyId: keyFingerprint(b.keyRing.identity.encryption.publicKeyPem)
        },
        plaintext: randomBytes(1024),
        senderSigningPrivateKeyPem: signer.keyRing.identity.signing.privateKeyPem,
        recipientEncryptionPublicKeyPem: b.keyRing.identity.encryption.publicKeyPem
      }).bytes
    const twice = sealFor(a)
    const forged = sealFor(b)
    const send = (envelope: Uint8Array) =>
      sendEnvelope(a.p2p.libp2p, peerIdFromString(b.p2p.peerId), envelope, {
        signal: AbortSignal.timeout(30_000)
      })
    const byHand = await Promise.allSettled([send(twice), send(twice), send(forged)])
    await waitFor(
      'the worker shares delivered',
      () => delivered.every((id) => a.p2p.getShare(id).state === 'delivered'),
      60_000
    )
    const names = byHand.map((o) => (o.status === 'rejected' ? nameOf(o.reason) : 'stored'))
    expect(names.slice(0, 2).sort()).toEqual(['ReplayedNonceError', 'stored'])
    expect(names[2]).toBe('EnvelopeSignatureError')

    const stored = byHand.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<SignedReceipt>
    const signingKey = b.keyRing.identity.signing.publicKeyPem
    expect(verifies(stored.value, signingKey)).toBe(true)
    const inbound = inboundOf(b.db)
    expect(inbound.size).toBe(delivered.length + 1)
    expect([...inbound.values()].every((n) => n === 1)).toBe(true)
    for (const id of delivered) {
      const receipt = a.p2p.getShare(id).receipt as SignedReceipt
      expect(receipt).toEqual(b.p2p.getShare(id).receipt)
      expect(verifies(receipt, signingKey)).toBe(true)
    }
  })

  it('loses no acknowledged share and stores none twice when the receiver is killed inside a group', async () => {
    const da = dir('group-crash-send')
    const db = dir('group-crash-recv')
    const port = await freePort()
    // The recipient dies inside the transaction that stores its ninth share. The sender has eight
    // deliveries in flight at most, so it sends a ninth share only after a receipt came back for one
    // of the first eight: by then it holds at least one receipt.
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        CHILD,
        '--dir',
        db,
        '--port',
        String(port),
        '--kill-on',
        'received',
        '--kill-at',
        '9'
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    )
    children.push(child)
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    const hello = JSON.parse((await lines.next()).value as string) as { address: string }
    const a = await startNode(da, { deliveryConcurrency: 8 })
    running.push(a)
    const peer = await a.p2p.connect(hello.address)
    await waitFor('A to verify B', () =>
      a.p2p.peers().some((p) => p.peerId === peer && p.trust !== 'unknown')
    )
    const ids = Array.from(
      { length: 24 },
      (_, i) =>
        a.p2p.shareData({ data: new TextEncoder().encode(`to a recipient killed ${i}`), recipient: peer })
          .shareId
    )
    const [, signal] = await exited
    expect(signal).toBe('SIGKILL')

    // Every share whose receipt the sender holds is in the recipient's database, once.
    const acknowledged = ids.filter((id) => a.p2p.getShare(id).state === 'delivered')
    expect(acknowledged.length).toBeGreaterThanOrEqual(1)
    const afterKill = openDatabase(join(db, 'node.db'), { readonly: true })
    const kept = inboundOf(afterKill)
    afterKill.close()
    for (const id of acknowledged) expect(kept.get(id)).toBe(1)
    expect(kept.size).toBeLessThan(ids.length)

    const b = await startNode(db, { port })
    running.push(b)
    await waitFor(
      'every share delivered after the restart',
      () => ids.every((id) => a.p2p.getShare(id).state === 'delivered'),
      60_000
    )
    const inbound = inboundOf(b.db)
    expect([...inbound.keys()].sort()).toEqual([...ids].sort())
    expect([...inbound.values()].every((n) => n === 1)).toBe(true)
    for (const id of ids) {
      const receipt = a.p2p.getShare(id).receipt as SignedReceipt
      expect(receipt).toEqual(b.p2p.getShare(id).receipt)
      expect(verifies(receipt, b.keyRing.identity.signing.publicKeyPem)).toBe(true)
    }
  })
})
