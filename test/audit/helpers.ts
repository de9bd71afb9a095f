import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JsonRpcProvider, Wallet } from 'ethers'
import pino from 'pino'
import type { Logger } from '../../node/log/logger.ts'
import { configSchema } from '../../config/schema.ts'
import { bytes32, encodeCall } from '../../node/audit/contract.ts'
import { createIdentityRecord } from '../../node/audit/identity-record.ts'
import { canonicalReceipt, type ReceiptBody, type SignedReceipt } from '../../node/core/receipt.ts'
import { signPss } from '../../node/crypto/rsa.ts'
import type { Tier } from '../../node/core/share.ts'
import {
  type AuditHooks,
  AuditService,
  deployAuditTrail,
  onReceiptStored,
  onShareQueued,
  type ShareEvent
} from '../../node/audit/index.ts'
import { RpcClient, toHex } from '../../node/audit/rpc-client.ts'
import { auditRepositories } from '../../node/store/audit-repositories.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { OutboxRepository } from '../../node/store/outbox.ts'

export const silentLogger = pino({ level: 'silent' })

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
/** A PeerId-shaped string (base58btc, as libp2p prints Ed25519 ids). */
export function fakePeerId(): string {
  return `12D3KooW${Array.from(randomBytes(44), (b) => B58[b % 58]).join('')}`
}

export interface TempStore {
  readonly dir: string
  readonly path: string
  readonly db: Db
  cleanup(): void
}

export function tempStore(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-audit-'))
  const path = join(dir, 'node.db')
  const db = openDatabase(path)
  migrate(db)
  return {
    dir,
    path,
    db,
    cleanup() {
      if (db.open) db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface TestShare extends ShareEvent {
  readonly receipt: SignedReceipt
}

/**
 * Inserts a record and an outgoing share, queuing its audit event in the same transaction (as p2p
 * does): through `hooks` when given (as the node does, which signs the share's transaction in
 * per-share mode), else straight into the outbox (the publisher signs it).
 */
export function queueShare(
  db: Db,
  opts: {
    tier?: Tier
    sender?: string
    recipient?: string
    timestamp?: number
    /** Who signs the receipt (a random signature otherwise). */
    signer?: TestParty
    hooks?: AuditHooks
  } = {}
): TestShare {
  const data = randomBytes(64)
  const dataHash = createHash('sha256').update(data).digest('hex')
  const event: ShareEvent = {
    shareId: randomBytes(16).toString('hex'),
    dataHash,
    sender: opts.sender ?? fakePeerId(),
    recipient: opts.recipient ?? fakePeerId(),
    tier: opts.tier ?? 'standard',
    timestamp: opts.timestamp ?? Date.now()
  }
  const t = new Date().toISOString()
  db.transaction(() => {
    const recordId = db
      .prepare(
        'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, ?, ?)'
      )
      .run(dataHash, data, data.length, t).lastInsertRowid
    db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
       VALUES (?, 'out', ?, ?, ?, ?, ?, 'queued', ?, ?)`
    ).run(event.shareId, recordId, dataHash, event.sender, event.recipient, event.tier, t, t)
    if (opts.hooks)
      opts.hooks.onShareQueued(db, { ...event, createdAt: new Date(event.timestamp).toISOString() })
    else onShareQueued(new OutboxRepository(db), event)
  })()
  const body: ReceiptBody = {
    v: 1,
    shareId: event.shareId,
    dataHash,
    sender: event.sender,
    recipient: event.recipient,
    tier: event.tier,
    receivedAt: event.timestamp + 5
  }
  const signature = opts.signer ? opts.signer.sign(body) : randomBytes(32).toString('base64')
  return { ...event, receipt: { body, signature } }
}

/** A node's identity as a test holds it: its PeerId key, RSA keys and Ethereum account. */
export interface TestParty {
  readonly peerId: string
  readonly peerKey: PrivateKey
  readonly signingPublicKeyPem: string
  readonly signingPrivateKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly wallet: Wallet
  /** Signs a receipt body as this party's node does (RSA-PSS over the canonical bytes). */
  sign(body: ReceiptBody): string
}

const rsaPem = () => {
  const k = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    publicKeyPem: k.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privateKeyPem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  }
}

/** A fresh party; `wallet` defaults to a new random account. */
export async function testParty(
  wallet: Wallet = new Wallet(Wallet.createRandom().privateKey)
): Promise<TestParty> {
  const peerKey = await generateKeyPair('Ed25519')
  const signing = rsaPem()
  return {
    peerId: peerIdFromPrivateKey(peerKey).toString(),
    peerKey,
    signingPublicKeyPem: signing.publicKeyPem,
    signingPrivateKeyPem: signing.privateKeyPem,
    encryptionPublicKeyPem: rsaPem().publicKeyPem,
    wallet,
    sign: (body) => Buffer.from(signPss(signing.privateKeyPem, canonicalReceipt(body))).toString('base64')
  }
}

/** Sends a contract call from `wallet` (funded first) and waits for it to be mined; its tx hash. */
export async function sendFrom(rpcUrl: string, wallet: Wallet, to: string, data: string): Promise<string> {
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 })
  await rpc.call('hardhat_setBalance', [wallet.address, toHex(10n ** 21n)])
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 })
  try {
    const tx = await wallet.connect(provider).sendTransaction({ to, data })
    await tx.wait()
    return tx.hash
  } finally {
    provider.destroy()
  }
}

/** Publishes a party's identity record from its own account (as its node would). */
export async function registerParty(rpcUrl: string, contract: string, party: TestParty): Promise<string> {
  const record = await createIdentityRecord({
    peerKey: party.peerKey,
    account: party.wallet,
    signingPublicKeyPem: party.signingPublicKeyPem,
    encryptionPublicKeyPem: party.encryptionPublicKeyPem,
    issuedAt: Date.now()
  })
  await sendFrom(
    rpcUrl,
    party.wallet,
    contract,
    encodeCall('registerNode', [
      bytes32(createHash('sha256').update(party.peerId).digest('hex')),
      new TextEncoder().encode(record)
    ])
  )
  return record
}

/**
 * The two parties of a node's shares, both bound on chain: the node itself (its identity published
 * through its outbox, from its account) and a recipient that registered from its own account.
 */
export async function boundParties(
  audit: AuditService,
  db: Db,
  rpcUrl: string,
  opts: { mine?: boolean; sender?: TestParty; recipient?: TestParty } = {}
) {
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 })
  const sender = opts.sender ?? (await testParty())
  const recipient = opts.recipient ?? (await testParty())
  await audit.registerIdentity({
    peerKey: sender.peerKey,
    signingPublicKeyPem: sender.signingPublicKeyPem,
    encryptionPublicKeyPem: sender.encryptionPublicKeyPem
  })
  await registerParty(rpcUrl, audit.contractAddress as string, recipient)
  await waitFor(async () => {
    // With more than one confirmation required, blocks must follow the registration's.
    if (opts.mine) await rpc.call('evm_mine', [])
    const row = db
      .prepare(`SELECT count(*) AS n FROM outbox WHERE kind = 'node' AND state = 'confirmed'`)
      .get()
    return (row as { n: number }).n === 1
  }, "the node's identity registration")
  return {
    sender,
    recipient,
    /** Share options naming these parties, the receipt signed by the recipient. */
    share: { sender: sender.peerId, recipient: recipient.peerId, signer: recipient }
  }
}

/** Stores the receipt of a share and queues its anchor in one transaction. */
/** Stores the share's receipt as delivered, through `hooks` as the node does when given. */
export function storeReceipt(db: Db, share: TestShare, hooks?: AuditHooks): void {
  db.transaction(() => {
    db.prepare(`UPDATE shares SET state = 'delivered', receipt = ? WHERE share_id = ?`).run(
      Buffer.from(JSON.stringify(share.receipt)),
      share.shareId
    )
    if (hooks) {
      hooks.onReceiptStored(
        db,
        { ...share, createdAt: new Date(share.timestamp).toISOString() },
        share.receipt
      )
    } else onReceiptStored(new OutboxRepository(db), share.receipt)
  })()
}

/** A fresh account funded on the Hardhat node, and a fresh AuditTrail deployed from it. */
export async function freshDeployment(rpcUrl: string) {
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 })
  const wallet = Wallet.createRandom()
  await rpc.call('hardhat_setBalance', [wallet.address, toHex(10n ** 21n)])
  const record = await deployAuditTrail(rpc, new Wallet(wallet.privateKey))
  return { rpc, privateKey: wallet.privateKey, address: wallet.address, record }
}

/** Builds an AuditService against `rpcUrl` with fast polling. */
export function auditService(
  db: Db,
  dataDir: string,
  chain: { rpcUrl: string; privateKey: string; contractAddress: string; fromBlock: number } & Record<
    string,
    unknown
  >,
  logger: Logger = silentLogger
): AuditService {
  const config = configSchema.parse({
    dataDir,
    chain: {
      rpcTimeoutMs: 2_000,
      pollIntervalMs: 25,
      maxBackoffMs: 200,
      batchIntervalSeconds: 3600,
      logAnchorIntervalSeconds: 3600,
      ...chain
    }
  })
  return new AuditService({ repositories: () => auditRepositories(db), logger }, { ...config.chain, dataDir })
}

/** A logger that keeps every line it writes, for tests that look at what the node logged. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Share and receipt events in `state` (a node's identity registration is not counted). */
export const countState = (db: Db, state: string): number =>
  (
    db.prepare(`SELECT count(*) AS n FROM outbox WHERE state = ? AND kind != 'node'`).get(state) as {
      n: number
    }
  ).n
