import { EventEmitter } from 'node:events'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  type AcceptShareComponents,
  type AcceptShareInput,
  acceptShare,
  prepareShare
} from '../core/accept-share.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { AcceptedState } from '../core/share.ts'
import { type StoredShare, systemClock } from '../core/share-ports.ts'
import type { Logger } from '../log/logger.ts'
import type { GroupCommitStats } from '../store/group-commit.ts'
import { errorName, RecordNotFoundError, ShareNotFoundError } from './errors.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { PeerEntry } from './peer-book.ts'
import { type P2pRuntime, startRuntime, stopRuntime } from './p2p-runtime.ts'
import type { P2pComponents, P2pEvents, P2pInit, QueuedShare } from './p2p-types.ts'
import type { RefusalSnapshot } from './refusal-counts.ts'
import type { P2pStats } from './stats.ts'

/** A share to queue: the data, its recipient (PeerId or 0x address), its tier. */
export type ShareDataInput = AcceptShareInput<StoredShare>

function queuedOf(share: StoredShare): QueuedShare {
  return { shareId: share.shareId, dataHash: share.dataHash, state: share.state as AcceptedState, share }
}

/**
 * The peer-to-peer component: a libp2p node with the share, fetch, certificate, attest and evidence
 * protocols, the durable delivery worker and the health monitor. Starts after the store and the key ring.
 */
export class P2pService extends EventEmitter<P2pEvents> implements Startable {
  readonly name = 'p2p'
  readonly #components: P2pComponents
  readonly #init: P2pInit
  readonly #logger: Logger
  #running: P2pRuntime | undefined

  constructor(components: P2pComponents, init: P2pInit) {
    super()
    this.#components = components
    this.#init = init
    this.#logger = components.logger
  }

  #state() {
    if (!this.#running) throw new Error('p2p is not started')
    return this.#running
  }

  get libp2p(): DmnLibp2p {
    return this.#state().libp2p
  }

  get peerId(): string {
    return this.#state().libp2p.peerId.toString()
  }

  /** Addresses others can dial, `/ip4/…/tcp/…/p2p/<PeerId>`. */
  get multiaddrs(): string[] {
    return this.#state()
      .libp2p.getMultiaddrs()
      .map((a) => a.toString())
  }

  async start(): Promise<void> {
    this.#running = await startRuntime(this.#components, this.#init, {
      // The runtime's event names and payloads are P2pEvents; EventEmitter's generic overloads cannot see that.
      emit: (name, ...args) =>
        (this.emit as (event: string, ...payload: unknown[]) => boolean)(name, ...args),
      refused: (peerId, protocol, err) => this.#refused(peerId, protocol, err)
    })
  }

  async stop(): Promise<void> {
    const state = this.#running
    if (!state) return
    this.#running = undefined
    await stopRuntime(state)
  }

  #refused(peerId: string, protocol: string, err: unknown): void {
    const error = errorName(err)
    const message = err instanceof Error ? err.message : String(err)
    const level = [
      'PinnedKeyChangedError',
      'CertificateBindingError',
      'IdentityRecordMismatchError'
    ].includes(error)
      ? 'error'
      : 'warn'
    this.#logger[level]({ peerId, protocol, error }, `refused a peer: ${message}`)
    this.emit('refused', { peerId, protocol, error, message })
  }

  /**
   * Queues a share through the core's accept use case (node/core/accept-share.ts): record, share row
   * and the `onShareQueued` hook commit in one transaction before any network I/O; the delivery
   * worker sends it in the background. A share to an Ethereum address no known peer binds waits
   * `unresolved` for the recipient resolver (its audit event is queued once it is resolved).
   * Synchronous, one transaction per share; `queueShare` groups acceptances into shared commits.
   */
  shareData(input: ShareDataInput): QueuedShare {
    const running = this.#state()
    const share = acceptShare(this.#acceptComponents(running), input)
    this.#queued(running, share)
    return queuedOf(share)
  }

  /**
   * Queues a share as `shareData` does, but writes it in a transaction shared with the other
   * acceptances of this turn of the event loop (node/store/group-commit.ts): one commit and one
   * fsync for all of them. The request is checked at once and nothing is written when it fails
   * (the promise rejects with the same errors as `shareData`); it resolves only once the share's
   * group has committed, and `share:queued` is emitted and the delivery worker woken then.
   * `alsoInTransaction` runs in the share's savepoint: what it writes commits with the share, and
   * when it throws the share alone rolls back and the promise rejects with that error.
   */
  async queueShare(input: ShareDataInput): Promise<QueuedShare> {
    const running = this.#state()
    const write = prepareShare(this.#acceptComponents(running), input)
    const share = await running.acceptances.run(write, { bytes: input.data.byteLength })
    this.#queued(running, share)
    return queuedOf(share)
  }

  /** Transactions the grouped acceptances (`queueShare`) committed so far, and their shares. */
  acceptanceStats(): GroupCommitStats {
    return this.#state().acceptances.stats()
  }

  #acceptComponents(running: P2pRuntime): AcceptShareComponents<StoredShare> {
    const { store, ledger, peers, libp2p } = running
    return {
      store,
      ledger,
      peers,
      clock: systemClock,
      selfPeerId: libp2p.peerId.toString(),
      canAttest: Boolean(this.#init.attestation?.verify),
      shareExpiryMs: this.#init.shareExpiryMs
    }
  }

  /** After the share's commit: its event, and the part that takes it on woken. */
  #queued(running: P2pRuntime, share: StoredShare): void {
    this.emit('share:queued', { share })
    if (share.state === 'unresolved') running.resolver.kick()
    else running.worker.kick()
  }

  getShare(shareId: string): StoredShare {
    const share = this.#state().shares.get(shareId)
    if (!share) throw new ShareNotFoundError(`no share ${shareId}`)
    return share
  }

  /** Shares of a record, sent and received, newest first. */
  sharesOf(dataHash: string): StoredShare[] {
    return this.#state().shares.listByDataHash(dataHash)
  }

  /**
   * The data of `dataHash`: from the local store, else fetched from known peers (healthy first) that
   * shared it with this node. Throws RecordNotFoundError when nobody has it for us.
   */
  async getRecord(
    dataHash: string,
    options: { signal?: AbortSignal } = {}
  ): Promise<{ dataHash: string; data: Uint8Array; source: string }> {
    const { records, peerBook, fetch, libp2p } = this.#state()
    const local = records.read(dataHash)
    if (local) return { dataHash, data: local, source: 'local' }
    const connected = new Set(libp2p.getPeers().map((p) => p.toString()))
    const candidates = peerBook
      .list()
      .filter((p) => p.status === 'active' && (p.certificatePem || connected.has(p.peerId)))
    for (const peer of candidates) {
      options.signal?.throwIfAborted()
      try {
        const data = await fetch.fetch(peerIdFromString(peer.peerId), dataHash, options)
        return { dataHash, data, source: peer.peerId }
      } catch (err) {
        this.#logger.debug({ peerId: peer.peerId, err: errorName(err) }, 'fetch from peer failed')
      }
    }
    throw new RecordNotFoundError(`no record ${dataHash} here or at any known peer`)
  }

  /**
   * Asks `sender` over `/dmn/evidence/1.0.0` for its evidence entry of the share `shareId` this node
   * received: a JSON value the caller checks before it uses any of it. Throws the sender's refusal
   * (RemoteRefusalError) or the dial's error.
   */
  askEvidence(sender: string, shareId: string, options: { signal?: AbortSignal } = {}): Promise<unknown> {
    return this.#state().evidence.ask(sender, shareId, options)
  }

  /** Metadata of a locally stored record (no decryption). */
  recordInfo(
    dataHash: string
  ): { dataHash: string; sizeBytes: number; keyVersion: number; createdAt: string } | undefined {
    const row = this.#state().records.get(dataHash)
    return row && { dataHash, sizeBytes: row.sizeBytes, keyVersion: row.keyVersion, createdAt: row.createdAt }
  }

  peers(opts: { healthy?: boolean } = {}): Array<PeerEntry & { connected: boolean }> {
    const { peerBook, libp2p } = this.#state()
    const connected = new Set(libp2p.getPeers().map((p) => p.toString()))
    return peerBook.list(opts).map((p) => ({ ...p, connected: connected.has(p.peerId) }))
  }

  /** Operator allowlist: the peer may connect and reaches `allowlisted` trust. */
  allowPeer(peerId: string): void {
    const id = peerIdFromString(peerId).toString()
    const { peerBook, certificates } = this.#state()
    peerBook.allow(id)
    // The next message re-checks the certificate, and with it the raised trust.
    certificates.forget(id)
  }

  /** Operator deny: refused from now on, and disconnected at once. */
  async denyPeer(peerId: string): Promise<void> {
    const { peerBook, libp2p, certificates } = this.#state()
    const peer = peerIdFromString(peerId)
    peerBook.setStatus(peer.toString(), 'denied')
    certificates.forget(peer.toString())
    await libp2p.hangUp(peer)
  }

  /** Dials a multiaddr (operator `peers connect`, tests). */
  async connect(address: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const connection = await this.#state().libp2p.dial(multiaddr(address), {
      signal: options.signal ?? AbortSignal.timeout(this.#init.streamTimeoutMs)
    })
    return connection.remotePeer.toString()
  }

  stats(): P2pStats {
    const { peerBook, libp2p, stats, shares } = this.#state()
    const peers = peerBook.list()
    const latencies = peers.map((p) => p.latencyMs).filter((l): l is number => l !== null)
    return {
      peerId: libp2p.peerId.toString(),
      totalPeers: peers.length,
      healthyPeers: peers.filter((p) => p.healthy).length,
      connectedPeers: libp2p.getPeers().length,
      averageLatencyMs:
        latencies.length === 0 ? null : latencies.reduce((a, b) => a + b, 0) / latencies.length,
      messagesIn: stats.messagesIn,
      messagesOut: stats.messagesOut,
      bytesIn: stats.bytesIn,
      bytesOut: stats.bytesOut,
      uptimeSeconds: stats.uptimeSeconds(),
      bootstrapPeers: this.#init.bootstrap.length,
      shares: shares.countByState()
    }
  }

  /** Refusals so far, sent and received, by protocol and error name (what `/metrics` counts). */
  refusalCounts(): RefusalSnapshot {
    return this.#state().stats.refusals.snapshot()
  }
}
