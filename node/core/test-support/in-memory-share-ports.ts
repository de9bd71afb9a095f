/**
 * In-memory implementations of the share use case's ports, for the core's unit tests. The store's
 * transaction restores its maps when the work throws, as SQLite rolls back.
 */
import type { SignedReceipt } from '../receipt.ts'
import { canTransition, type DeliveryState } from '../share.ts'
import { IdentityRecordMismatchError } from '../share-errors.ts'
import type {
  AuditLedger,
  Clock,
  EnvelopeCodec,
  EnvelopeFacts,
  KnownPeer,
  NewShare,
  OpenedEnvelope,
  PeerDirectory,
  RegisteredIdentity,
  ShareStore,
  StoredShare
} from '../share-ports.ts'

export class MemoryShareStore implements ShareStore<StoredShare> {
  records = new Map<string, { id: number; plaintext: Uint8Array }>()
  shares = new Map<string, StoredShare>()
  /** Nonces spent by MemoryEnvelopes given this store: they roll back with it, as in SQLite. */
  nonces = new Set<string>()
  transactions = 0

  transaction<T>(work: () => T): T {
    this.transactions++
    const records = new Map(this.records)
    const shares = new Map(this.shares)
    const nonces = new Set(this.nonces)
    try {
      return work()
    } catch (err) {
      this.records = records
      this.shares = shares
      this.nonces = nonces
      throw err
    }
  }

  /** Group transactions run alone here, each resolving after its own "commit". */
  groupTransactions = 0

  async groupTransaction<T>(work: () => T): Promise<T> {
    this.groupTransactions++
    return this.transaction(work)
  }

  putRecord(plaintext: Uint8Array, dataHash: string): { id: number } {
    const existing = this.records.get(dataHash)
    if (existing) return existing
    const record = { id: this.records.size + 1, plaintext }
    this.records.set(dataHash, record)
    return record
  }

  readRecord(dataHash: string): Uint8Array | undefined {
    return this.records.get(dataHash)?.plaintext
  }

  /** Data hashes whose plaintext an attempt gave back unsent, in order. */
  readonly returned: string[] = []

  returnRecord(dataHash: string): void {
    this.returned.push(dataHash)
  }

  insertShare(share: NewShare): StoredShare {
    if (this.shares.has(share.shareId)) throw new Error('duplicate share id')
    const at = new Date(0).toISOString()
    const row: StoredShare = {
      shareId: share.shareId,
      direction: share.direction,
      recordId: share.recordId,
      dataHash: share.dataHash,
      sender: share.sender,
      recipient: share.recipient,
      recipientLabel: share.recipientLabel ?? null,
      tier: share.tier,
      state: share.state,
      receipt: share.receipt ?? null,
      attempts: 0,
      nextAttemptMs: share.nextAttemptMs ?? null,
      expiresMs: share.expiresMs ?? null,
      lastError: null,
      createdAt: at,
      updatedAt: at
    }
    this.shares.set(row.shareId, row)
    return row
  }

  getShare(shareId: string): StoredShare | undefined {
    return this.shares.get(shareId)
  }

  markDelivered(shareId: string, receipt: SignedReceipt): StoredShare {
    const row = { ...this.#move(shareId, 'delivering', 'delivered'), receipt }
    this.shares.set(shareId, row)
    return row
  }

  markResolved(shareId: string, recipient: string, dueMs: number): StoredShare | undefined {
    if (this.shares.get(shareId)?.state !== 'unresolved') return undefined
    const row = {
      ...this.#move(shareId, 'unresolved', 'queued'),
      recipient,
      nextAttemptMs: dueMs,
      lastError: null
    }
    this.shares.set(shareId, row)
    return row
  }

  /** A delivery attempt claims a queued share (as the delivery worker's queue does). */
  claim(shareId: string): StoredShare {
    const row = { ...this.#move(shareId, 'queued', 'delivering') }
    this.shares.set(shareId, row)
    return row
  }

  /** The share in state `from`, checked against the core's state machine for the move to `to`. */
  #move(shareId: string, from: DeliveryState, to: DeliveryState): StoredShare & { state: DeliveryState } {
    const row = this.shares.get(shareId)
    if (!row) throw new Error(`no share ${shareId}`)
    // Tests of deliverShare run it on a share they did not claim first: it counts as claimed.
    const state = row.state === 'queued' && from === 'delivering' ? 'delivering' : row.state
    if (state !== from || !canTransition(state, to)) throw new Error(`illegal move ${row.state} -> ${to}`)
    return { ...row, state: to }
  }
}

/** Records every call; `fail` makes the next call throw (an audit write that fails). */
export class MemoryLedger implements AuditLedger<StoredShare> {
  readonly calls: Array<{ event: string; shareId: string }> = []
  fail: Error | undefined

  #record(event: string, share: StoredShare): void {
    if (this.fail) throw this.fail
    this.calls.push({ event, shareId: share.shareId })
  }

  shareQueued(share: StoredShare): void {
    this.#record('shareQueued', share)
  }

  receiptStored(share: StoredShare): void {
    this.#record('receiptStored', share)
  }

  shareReceived(share: StoredShare): void {
    this.#record('shareReceived', share)
  }
}

export class MemoryPeers implements PeerDirectory {
  readonly byAddress = new Map<string, string>()
  readonly denied = new Set<string>()
  readonly known = new Map<string, KnownPeer>()

  peerIdOfAddress(address: string): string | undefined {
    return this.byAddress.get(address.toLowerCase())
  }

  parsePeerId(label: string): string | undefined {
    return /^12D3Koo[1-9A-HJ-NP-Za-km-z]{40,}$/.test(label) ? label : undefined
  }

  isDenied(peerId: string): boolean {
    return this.denied.has(peerId)
  }

  async verified(peerId: string): Promise<KnownPeer> {
    const peer = this.known.get(peerId)
    if (!peer) throw new Error(`unknown peer ${peerId}`)
    return peer
  }

  /** Keys bound per PeerId: from a registry record, or set by a test as a pin. */
  readonly bound = new Map<string, { signing: string; encryption: string }>()

  bindRegistered(identity: RegisteredIdentity): void {
    const held = this.bound.get(identity.peerId)
    const keys = { signing: identity.signingPublicKeyPem, encryption: identity.encryptionPublicKeyPem }
    if (held && (held.signing !== keys.signing || held.encryption !== keys.encryption)) {
      throw new IdentityRecordMismatchError(`other keys are held for ${identity.peerId}`)
    }
    this.bound.set(identity.peerId, keys)
    this.byAddress.set(identity.account, identity.peerId)
  }
}

/**
 * Envelopes as JSON: `{facts, plaintext, signedBy, nonce}`. `open` checks the signer before it
 * looks at the nonce, as node/crypto does; the opened envelope's `spendNonce` records it.
 */
export class MemoryEnvelopes implements EnvelopeCodec {
  opened = 0
  #nonce = 0
  readonly #self: string
  readonly #store: { nonces: Set<string> }

  /** With `store`, spent nonces live in its transactions (and roll back with them). */
  constructor(selfPeerId: string, store: { nonces: Set<string> } = { nonces: new Set() }) {
    this.#self = selfPeerId
    this.#store = store
  }

  get spentNonces(): ReadonlySet<string> {
    return this.#store.nonces
  }

  async seal(share: EnvelopeFacts, plaintext: Uint8Array, _recipient: KnownPeer): Promise<Uint8Array> {
    return this.forge(share, plaintext, share.sender)
  }

  /** An envelope signed as `signedBy`, which need not be the header's sender. */
  forge(facts: EnvelopeFacts, plaintext: Uint8Array, signedBy: string): Uint8Array {
    const body = {
      facts: { shareId: facts.shareId, sender: facts.sender, recipient: facts.recipient, tier: facts.tier },
      plaintext: Buffer.from(plaintext).toString('base64'),
      signedBy,
      nonce: String(++this.#nonce)
    }
    return new TextEncoder().encode(JSON.stringify(body))
  }

  #parse(envelope: Uint8Array) {
    return JSON.parse(new TextDecoder().decode(envelope)) as {
      facts: EnvelopeFacts
      plaintext: string
      signedBy: string
      nonce: string
    }
  }

  peek(envelope: Uint8Array): EnvelopeFacts {
    return this.#parse(envelope).facts
  }

  async open(envelope: Uint8Array, sender: KnownPeer): Promise<OpenedEnvelope> {
    this.opened++
    const e = this.#parse(envelope)
    if (e.signedBy !== sender.peerId)
      throw Object.assign(new Error('bad signature'), { name: 'EnvelopeSignatureError' })
    if (e.facts.recipient !== this.#self) throw new Error('addressed to another node')
    const replayed = () => Object.assign(new Error('replayed'), { name: 'ReplayedNonceError' })
    if (this.spentNonces.has(e.nonce)) throw replayed()
    return {
      plaintext: new Uint8Array(Buffer.from(e.plaintext, 'base64')),
      spendNonce: () => {
        if (this.#store.nonces.has(e.nonce)) throw replayed()
        this.#store.nonces.add(e.nonce)
      }
    }
  }

  /** How many receipts were signed. */
  signed = 0

  async signReceipt(body: SignedReceipt['body']): Promise<string> {
    this.signed++
    return `signed-by:${body.recipient}`
  }

  receiptSignedBy(receipt: SignedReceipt, signer: KnownPeer): boolean {
    return receipt.signature === `signed-by:${signer.peerId}`
  }
}

/** A clock the test sets. */
export class ManualClock implements Clock {
  ms: number

  constructor(ms = 1_700_000_000_000) {
    this.ms = ms
  }

  now(): number {
    return this.ms
  }
}
