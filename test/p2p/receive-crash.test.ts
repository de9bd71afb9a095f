import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { receiveShare } from '../../node/core/receive-share.ts'
import { type KnownPeer, systemClock } from '../../node/core/share-ports.ts'
import { generateRsaKeyPair, keyFingerprint, ReplayGuard, sealEnvelope } from '../../node/crypto/index.ts'
import { auditLedgerOf, envelopeOpenerOf, shareStoreOf } from '../../node/p2p/share-adapters.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { NonceRepository } from '../../node/store/nonces.ts'
import { RecordRepository } from '../../node/store/records.ts'
import { ShareRepository } from '../../node/store/shares.ts'
import { keyRingIn, tempDir } from './helpers.ts'

/**
 * The replay guard's nonce commits with the stored share: a receiver killed (kill -9) inside that
 * transaction keeps neither, so the sender's envelope, never answered, is taken when it comes again,
 * once; killed after the commit, a replay of the same envelope is refused.
 */

const CHILD = fileURLToPath(new URL('./fixtures/receive-child.ts', import.meta.url))
const dirs: { remove(): void }[] = []
afterAll(() => {
  for (const d of dirs) d.remove()
})

async function prepare() {
  const dir = tempDir('receive-crash')
  dirs.push(dir)
  const ring = await keyRingIn(dir.path)
  const db = openDatabase(join(dir.path, 'node.db'))
  migrate(db)
  db.close()
  const [senderSigning, senderEncryption] = await Promise.all([
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048)
  ])
  const sender: KnownPeer = {
    peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
    trust: 'pinned',
    signingPublicKeyPem: senderSigning.publicKeyPem,
    encryptionPublicKeyPem: senderEncryption.publicKeyPem
  }
  const recipient = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const envelope = sealEnvelope({
    header: {
      shareId: randomBytes(16).toString('hex'),
      sender: sender.peerId,
      recipient,
      tier: 'standard',
      senderKeyId: keyFingerprint(senderSigning.publicKeyPem),
      recipientKeyId: keyFingerprint(ring.identity.encryption.publicKeyPem)
    },
    plaintext: randomBytes(2048),
    senderSigningPrivateKeyPem: senderSigning.privateKeyPem,
    recipientEncryptionPublicKeyPem: ring.identity.encryption.publicKeyPem
  }).bytes
  writeFileSync(
    join(dir.path, 'case.json'),
    JSON.stringify({ sender, recipient, envelope: Buffer.from(envelope).toString('base64') })
  )
  return { dir: dir.path, sender, recipient, envelope }
}

function crashWhileReceiving(dir: string, mode: 'in-transaction' | 'after-commit') {
  const child = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, dir, mode], {
    encoding: 'utf8',
    timeout: 60_000
  })
  expect(child.signal, child.stderr).toBe('SIGKILL')
}

/** The receiver after its restart: the same database and key ring, a fresh replay guard. */
async function restarted(dir: string, recipient: string) {
  const ring = await keyRingIn(dir)
  const db = openDatabase(join(dir, 'node.db'))
  const { signing, encryption } = ring.identity
  const components = {
    store: shareStoreOf(db, new RecordRepository(db, ring), new ShareRepository(db)),
    ledger: auditLedgerOf(db, undefined),
    envelopes: envelopeOpenerOf(
      {
        selfPeerId: recipient,
        signingPrivateKeyPem: signing.privateKeyPem,
        signingKeyId: keyFingerprint(signing.publicKeyPem),
        encryptionPrivateKeyPem: encryption.privateKeyPem
      },
      new ReplayGuard(new NonceRepository(db))
    ),
    clock: systemClock,
    selfPeerId: recipient
  }
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
  return { db, components, count }
}

describe('receiving a share across a kill -9', () => {
  it('keeps neither nonce nor share when killed inside the store transaction, then takes the envelope once', async () => {
    const { dir, sender, recipient, envelope } = await prepare()
    crashWhileReceiving(dir, 'in-transaction')
    const node = await restarted(dir, recipient)
    expect(node.count('nonces')).toBe(0)
    expect(node.count('shares')).toBe(0)
    expect(node.count('records')).toBe(0)
    const received = await receiveShare(node.components, sender, envelope)
    expect(received.stored).toMatchObject({ direction: 'in', sender: sender.peerId })
    await expect(receiveShare(node.components, sender, envelope)).rejects.toMatchObject({
      name: 'ReplayedNonceError'
    })
    expect(node.count('shares')).toBe(1)
    node.db.close()
  })

  it('refuses a replay of an envelope stored before the kill', async () => {
    const { dir, sender, recipient, envelope } = await prepare()
    crashWhileReceiving(dir, 'after-commit')
    const node = await restarted(dir, recipient)
    expect(node.count('nonces')).toBe(1)
    expect(node.count('shares')).toBe(1)
    await expect(receiveShare(node.components, sender, envelope)).rejects.toMatchObject({
      name: 'ReplayedNonceError'
    })
    expect(node.count('shares')).toBe(1)
    node.db.close()
  })
})
