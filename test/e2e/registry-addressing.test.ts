import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSchema } from '../../config/index.ts'
import { freePort } from '../../node/audit/chain-process.ts'
import { deployAuditTrail, EmbeddedChain } from '../../node/audit/index.ts'
import { RpcClient, toHex } from '../../node/audit/rpc-client.ts'
import { keyFingerprint } from '../../node/crypto/index.ts'
import { createNode, type DmnNode } from '../../node/main.ts'
import { loadOrCreateIdentity } from '../../node/p2p/libp2p-node.ts'
import type { P2pEvents } from '../../node/p2p/index.ts'
import { registerParty, testParty } from '../audit/helpers.ts'
import { spawnCli } from '../helpers/cli.ts'

/**
 * Any registered node is addressable: whole nodes on 127.0.0.1 over one chain (anvil, in memory).
 * C is the hub every node bootstraps from; A is never given another node's address or PeerId. A
 * share to an Ethereum address resolves through the identity record the address registered on
 * chain (its PeerId and keys) and the DHT (its addresses), and the recipient's certificate must
 * name the keys its record binds.
 */

const logger = pino({ level: 'silent' })
const PASSWORD = 'registry addressing test password'

interface Running {
  readonly node: DmnNode
  readonly peerId: string
  readonly internalUrl: string
  readonly externalUrl: string
}

let root: string
let chain: EmbeddedChain
let rpc: RpcClient
let contract: { contractAddress: string; deployBlock: number }
let hub: Running
let hubAddress: string
/** The sender: never given another node's address or PeerId. */
let a: Running
let keyA: string
const running = new Set<DmnNode>()

async function startNode(name: string, wallet: Wallet, port: number, bootstrap: string[]): Promise<Running> {
  await rpc.call('anvil_setBalance', [wallet.address, toHex(10n ** 20n)])
  const config = configSchema.parse({
    dataDir: join(root, name),
    masterPassword: PASSWORD,
    logLevel: 'silent',
    crypto: { signingKeyBits: 2048, encryptionKeyBits: 2048 },
    p2p: { host: '127.0.0.1', port, bootstrap, retryBaseMs: 100, retryMaxMs: 1_000, resolveIntervalMs: 200 },
    chain: {
      rpcUrl: chain.url,
      privateKey: wallet.privateKey,
      contractAddress: contract.contractAddress,
      fromBlock: contract.deployBlock,
      confirmations: 1,
      pollIntervalMs: 100
    },
    api: {
      internal: { host: '127.0.0.1', port: 0 },
      external: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 1_000, burst: 1_000 } }
    }
  })
  const node = createNode({ config, logger })
  running.add(node)
  await node.start()
  const { internal, external } = node.api.listening
  return { node, peerId: node.p2p.peerId, internalUrl: internal.url, externalUrl: external.url }
}

async function stopNode(r: Running): Promise<void> {
  await r.node.stop()
  running.delete(r.node)
}

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Runs the CLI without blocking: the nodes it reads run in this process. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawnCli(args)
  let stdout = ''
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  return { code, stdout }
}

async function apiKey(r: Running): Promise<string> {
  const created = await json(`${r.internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'registry', scopes: ['share', 'read'] })
  })
  expect(created.status).toBe(201)
  return created.body['key'] as string
}

type ShareJson = {
  id: string
  recipient: string
  recipient_label: string
  status: { delivery: string }
  last_error: string | null
}

async function shareOf(r: Running, key: string, id: string): Promise<ShareJson> {
  const got = await json(`${r.externalUrl}/v1/shares/${id}`, { headers: { 'x-api-key': key } })
  expect(got.status).toBe(200)
  return got.body['share'] as ShareJson
}

/** Waits until the node's own identity record is on chain, valid, under its account. */
async function registered(r: Running, account: string): Promise<void> {
  await until(`${account} registered`, async () => {
    const identity = await r.node.audit.identities.registeredIdentity(account).catch(() => undefined)
    return identity?.peerId === r.peerId ? true : undefined
  })
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dmn-registry-'))
  chain = new EmbeddedChain({}, { logger })
  await chain.start()
  rpc = new RpcClient({ url: chain.url, timeoutMs: 10_000 })
  const deployer = Wallet.createRandom()
  await rpc.call('anvil_setBalance', [deployer.address, toHex(10n ** 21n)])
  contract = await deployAuditTrail(rpc, new Wallet(deployer.privateKey))
  hub = await startNode('c', new Wallet(Wallet.createRandom().privateKey), await freePort(), [])
  const listen = hub.node.p2p.multiaddrs.find((a) => a.includes('/127.0.0.1/')) as string
  hubAddress = listen.includes('/p2p/') ? listen : `${listen}/p2p/${hub.peerId}`
}, 120_000)

afterAll(async () => {
  for (const node of [...running].reverse()) await node.stop().catch(() => {})
  await chain?.stop().catch(() => {})
  if (root) rmSync(root, { recursive: true, force: true })
})

describe('any registered node is addressable', { timeout: 180_000 }, () => {
  it('delivers to the Ethereum address of a node never met, through its identity record and the DHT', async () => {
    // B registers its identity on chain, then goes offline before A exists.
    const walletB = new Wallet(Wallet.createRandom().privateKey)
    const portB = await freePort()
    let b = await startNode('b', walletB, portB, [hubAddress])
    const peerB = b.peerId
    const signingFpr = keyFingerprint(b.node.keyRing.ring.identity.signing.publicKeyPem)
    await registered(b, walletB.address)
    await stopNode(b)

    a = await startNode('a', new Wallet(Wallet.createRandom().privateKey), await freePort(), [hubAddress])
    keyA = await apiKey(a)
    expect(a.node.p2p.peers().some((p) => p.peerId === peerB)).toBe(false)
    const data = `for B, by its address ${Date.now()}`
    const shared = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keyA },
      body: JSON.stringify({ data, recipient: walletB.address })
    })
    expect(shared.status).toBe(201)
    expect(shared.body).toMatchObject({
      recipient: walletB.address,
      tx_hash: null,
      tx_hash_pending_reason: 'recipient_unresolved',
      status: { delivery: 'unresolved' }
    })
    const id = shared.body['share_id'] as string

    // The registry names B's PeerId; the share is queued for it with B's record keys bound.
    const queued = await until('the share resolved', async () => {
      const s = await shareOf(a, keyA, id)
      return s.status.delivery === 'unresolved' ? undefined : s
    })
    expect(queued).toMatchObject({ recipient: peerB, recipient_label: walletB.address })
    expect(a.node.p2p.peers().find((p) => p.peerId === peerB)).toMatchObject({
      signingKeyFpr: signingFpr,
      ethAddress: walletB.address.toLowerCase(),
      certificatePem: null
    })

    // B comes back on the hub; A finds its addresses in the DHT and delivers.
    b = await startNode('b', walletB, portB, [hubAddress])
    await until('delivery to B', async () => {
      const s = await shareOf(a, keyA, id)
      return s.status.delivery === 'delivered' ? s : undefined
    })
    const hash = createHash('sha256').update(data).digest('hex')
    expect(await b.node.p2p.getRecord(hash)).toMatchObject({ source: 'local' })
    expect(Buffer.from((await b.node.p2p.getRecord(hash)).data).toString()).toBe(data)
    expect(b.node.p2p.getShare(id)).toMatchObject({ direction: 'in', state: 'received', sender: a.peerId })
    // The certificate B presented names the keys its record binds: A now holds it, pinned.
    expect(a.node.p2p.peers().find((p) => p.peerId === peerB)).toMatchObject({
      signingKeyFpr: signingFpr,
      trust: 'pinned'
    })
  })

  it('keeps a share to an address nobody registered unresolved, and delivers it once that node registers', async () => {
    const aRunning = a
    const key = keyA
    const walletD = new Wallet(Wallet.createRandom().privateKey)
    const data = `for D, not yet running ${Date.now()}`
    const shared = await json(`${aRunning.externalUrl}/v1/shares`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ data, recipient: walletD.address })
    })
    expect(shared.status).toBe(201)
    const id = (shared.body['share'] as ShareJson).id
    expect(shared.body['share']).toMatchObject({
      recipient: walletD.address.toLowerCase(),
      status: { delivery: 'unresolved' }
    })

    // Looked up, and not found: it waits, saying why.
    const waiting = await until('a look-up that found nothing', async () => {
      const s = await shareOf(aRunning, key, id)
      return s.last_error ? s : undefined
    })
    expect(waiting.status.delivery).toBe('unresolved')
    expect(waiting.last_error).toMatch(/^RecipientNotRegisteredError: /)
    const listed = await json(`${aRunning.externalUrl}/v1/shares?state=unresolved`, {
      headers: { 'x-api-key': key }
    })
    expect((listed.body['shares'] as ShareJson[]).map((s) => s.id)).toContain(id)
    const dmn = await cli([
      'shares',
      'list',
      '--state',
      'unresolved',
      '--json',
      '--data-dir',
      join(root, 'a')
    ])
    expect(dmn.code).toBe(0)
    // One JSON array, each share as GET /v1/shares shows it.
    const rows = JSON.parse(dmn.stdout) as Record<string, unknown>[]
    expect(rows.find((r) => r['id'] === id)).toMatchObject({
      status: { delivery: 'unresolved' },
      recipient_label: walletD.address,
      tx_hash_pending_reason: 'recipient_unresolved'
    })

    const d = await startNode('d', walletD, await freePort(), [hubAddress])
    await until('delivery to D', async () => {
      const s = await shareOf(aRunning, key, id)
      return s.status.delivery === 'delivered' ? s : undefined
    })
    expect(await shareOf(aRunning, key, id)).toMatchObject({ recipient: d.peerId, last_error: null })
    const hash = createHash('sha256').update(data).digest('hex')
    expect(Buffer.from((await d.node.p2p.getRecord(hash)).data).toString()).toBe(data)
  })

  it("accepts the external document's own share example: 201, waiting unresolved, not unknown_recipient", async () => {
    const doc = await json(`${a.externalUrl}/openapi.json`)
    const schemas = (
      doc.body['components'] as { schemas: Record<string, { example?: Record<string, unknown> }> }
    ).schemas
    const example = schemas['ShareRequest']?.example as Record<string, unknown>
    expect(example['recipient']).toMatch(/^0x[0-9a-fA-F]{40}$/)
    const shared = await json(`${a.externalUrl}/v1/shares`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keyA },
      body: JSON.stringify(example)
    })
    expect(shared.status).toBe(201)
    expect(shared.body['share']).toMatchObject({ status: { delivery: 'unresolved' } })
  })

  it('refuses a node whose certificate does not name the keys of the record it is addressed by', async () => {
    // F runs once, so its PeerId key exists; its PeerId is then registered, under another account,
    // with keys F does not hold (only a holder of the PeerId key can sign such a record).
    const walletF = new Wallet(Wallet.createRandom().privateKey)
    const f = await startNode('f', walletF, await freePort(), [])
    const peerF = f.peerId
    const peerKey = await loadOrCreateIdentity(f.node.keyRing.ring)
    await stopNode(f)
    const other = await testParty()
    await registerParty(chain.url, contract.contractAddress, { ...other, peerId: peerF, peerKey })

    const sender = a.node.p2p
    const refusals: P2pEvents['refused'][0][] = []
    sender.on('refused', (r) => refusals.push(r))
    const shared = sender.shareData({
      data: new TextEncoder().encode('for F?'),
      recipient: other.wallet.address
    })
    expect(shared.state).toBe('unresolved')
    await until('the share resolved to F', () =>
      sender.getShare(shared.shareId).recipient === peerF ? true : undefined
    )

    // F comes back (with its own keys) on a port A never knew; A learns it from the DHT or F's dial.
    const back = await startNode('f', walletF, await freePort(), [hubAddress])
    expect(back.peerId).toBe(peerF)
    const refused = await until('the refusal of F', () =>
      refusals.find((r) => r.peerId === peerF && r.error === 'IdentityRecordMismatchError')
    )
    expect(refused.message).toMatch(/identity record/)
    expect(sender.getShare(shared.shareId).state).not.toBe('delivered')
    expect(sender.peers().find((p) => p.peerId === peerF)).toMatchObject({
      signingKeyFpr: keyFingerprint(other.signingPublicKeyPem),
      certificatePem: null
    })

    // F's own record (its real keys, its own account) now contradicts the keys A holds for F: a
    // share to F's address fails at once, as a security event, instead of choosing either record.
    await registered(back, walletF.address)
    const own = sender.shareData({ data: new TextEncoder().encode('for F'), recipient: walletF.address })
    expect(own.state).toBe('unresolved')
    const failed = await until('the share to F refused', () => {
      const s = sender.getShare(own.shareId)
      return s.state === 'failed' ? s : undefined
    })
    expect(failed.lastError).toMatch(/^IdentityRecordMismatchError: /)
    expect(refusals).toContainEqual(
      expect.objectContaining({ peerId: peerF, protocol: 'registry', error: 'IdentityRecordMismatchError' })
    )
  })
})
