import type { IdentifyResult } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Lifecycle, type Startable } from '../core/lifecycle.ts'
import { type AuditLedger, type PeerDirectory, type ShareStore, systemClock } from '../core/share-ports.ts'
import { createNodeCertificate, keyFingerprint, ReplayGuard } from '../crypto/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import { createGroupCommit, type GroupCommit } from '../store/group-commit.ts'
import { NonceRepository } from '../store/nonces.ts'
import { PeerRepository } from '../store/peers.ts'
import { RecordRepository } from '../store/records.ts'
import { ShareRepository } from '../store/shares.ts'
import { type AttestProtocol, createAttestProtocol } from './attest-protocol.ts'
import { batchOpenerOf, batchSealerOf, receiptVerifier } from './batch-adapters.ts'
import { createBatchProtocol } from './batch-protocol.ts'
import { type CertificateExchange, createCertificateExchange } from './cert-exchange.ts'
import {
  CERT_PROTOCOL,
  LOCATE_TIMEOUT_MS,
  MAX_INBOUND_STREAMS_PER_PROTOCOL,
  MAX_PING_TIMEOUT_MS,
  RECEIVE_GROUP_WAIT_MS
} from './constants.ts'
import { createDeliveryWorker, type DeliveryWorker } from './delivery-worker.ts'
import { errorName, EvidenceNotReadyError, IdentityRecordMismatchError, PeerDeniedError } from './errors.ts'
import { createEvidenceProtocol, type EvidenceProtocol } from './evidence-protocol.ts'
import { createFetchProtocol, type FetchProtocol } from './fetch-protocol.ts'
import { createHealthMonitor, type HealthMonitor } from './health-monitor.ts'
import type { ProtocolInit, RefusalListener } from './inbound-stream.ts'
import { createDmnLibp2p, type DmnLibp2p, loadOrCreateIdentity } from './libp2p-node.ts'
import { InboundLimits } from './limits.ts'
import type { P2pComponents, P2pEvents, P2pInit, P2pKeyRing } from './p2p-types.ts'
import { createPeerBook, type PeerBook } from './peer-book.ts'
import { PeerPacing } from './peer-pacing.ts'
import { createRecipientResolver, type RecipientResolver } from './recipient-resolver.ts'
import {
  auditLedgerOf,
  envelopeOpenerOf,
  envelopeSealerOf,
  type NodeKeys,
  peerDirectoryOf,
  shareStoreOf
} from './share-adapters.ts'
import { createShareProtocol } from './share-protocol.ts'
import { TrafficStats } from './stats.ts'
import { createTrustPolicy, type TrustPolicy } from './trust.ts'

/**
 * Assembles the parts of the P2P component and runs them as one list of startables: the libp2p
 * node, the peer book's address sync, the protocols (each registers its own handler in its start),
 * libp2p listening, then the delivery worker, the health monitor and the bootstrap dials.
 * `stopRuntime` stops them in reverse, so the worker drains while libp2p still carries its streams,
 * and libp2p stops only after every handler is unregistered.
 */

export interface P2pRuntime {
  readonly libp2p: DmnLibp2p
  readonly peerBook: PeerBook
  readonly records: RecordRepository
  readonly shares: ShareRepository
  /** The core's ports over the store, the audit hooks and the peer book, shared by every use case. */
  readonly store: ShareStore
  readonly ledger: AuditLedger
  /** Acceptances queued close together, written in one transaction and one commit. */
  readonly acceptances: GroupCommit
  readonly peers: PeerDirectory
  readonly certificates: CertificateExchange
  readonly worker: DeliveryWorker
  readonly resolver: RecipientResolver
  readonly fetch: FetchProtocol
  readonly attest: AttestProtocol
  readonly evidence: EvidenceProtocol
  readonly stats: TrafficStats
  /** Every part above in start order; stopped in reverse. */
  readonly lifecycle: Lifecycle
}

/** Where the runtime reports: the service's typed events and its refusal log. */
export interface RuntimeEvents {
  emit<K extends keyof P2pEvents>(name: K, ...args: P2pEvents[K]): void
  refused(peerId: string, protocol: string, err: unknown): void
}

/** Builds the P2P component's parts, starts them in order and returns them. */
export async function startRuntime(
  components: P2pComponents,
  init: P2pInit,
  events: RuntimeEvents
): Promise<P2pRuntime> {
  const { logger } = components
  const db = components.db()
  const keyRing = components.keyRing()
  const peerBook = createPeerBook({ peers: new PeerRepository(db) })
  const trust = createTrustPolicy(
    { peerBook },
    { mode: init.trust, allowlist: init.allowlist, caCertificatePems: init.caCertificatePems }
  )
  const stats = new TrafficStats()
  // Every refusal is counted by protocol and error name (for /metrics) as it is reported.
  const onRefused: RefusalListener = (peerId, protocol, err) => {
    stats.refusals.countSent(protocol, errorName(err))
    // "Not on chain yet, ask again later" answers a recipient's question about its own share: it
    // refuses nobody, so it is counted but neither logged as a refusal nor a security event.
    if (err instanceof EvidenceNotReadyError) return
    events.refused(peerId, protocol, err)
  }
  const libp2p = await createNetwork(init, trust, await loadOrCreateIdentity(keyRing), onRefused)
  const records = new RecordRepository(db, keyRing)
  const shares = new ShareRepository(db)
  // One group commit per connection: received shares, batches and delivered receipts share commits.
  const commits = createGroupCommit(db, { maxWaitMs: RECEIVE_GROUP_WAIT_MS })
  const store = shareStoreOf(db, records, shares, undefined, commits)
  const ledger = auditLedgerOf(db, init.hooks)
  const parts = createParts(
    {
      libp2p,
      db,
      keyRing,
      logger,
      records,
      shares,
      store,
      commits,
      ledger,
      peerBook,
      trust,
      stats,
      onRefused
    },
    init,
    events
  )
  const { certificates, peers, receiver, batchReceiver, fetch, attest, evidence, worker, resolver, health } =
    parts
  const lifecycle = new Lifecycle(
    [
      stopsLibp2p(libp2p),
      peerBookSync(libp2p, peerBook),
      certificates,
      receiver,
      batchReceiver,
      fetch,
      attest,
      evidence,
      // Listening starts only once every handler is registered, so no inbound stream finds one missing.
      startsLibp2p(libp2p),
      worker,
      resolver,
      health,
      bootstrapDials(libp2p, init.bootstrap, init.streamTimeoutMs, logger)
    ],
    {
      onStopFailed: (name, err) => logger.warn({ part: name, err: errorName(err) }, 'p2p part failed to stop')
    }
  )
  await lifecycle.start()
  logger.info(
    { peerId: libp2p.peerId.toString(), addresses: libp2p.getMultiaddrs().map((a) => a.toString()) },
    'p2p started'
  )
  return {
    libp2p,
    peerBook,
    records,
    shares,
    store,
    ledger,
    acceptances: commits,
    peers,
    certificates,
    worker,
    resolver,
    fetch,
    attest,
    evidence,
    stats,
    lifecycle
  }
}

/** Stops the parts in reverse start order; the delivery worker drains its attempts in flight. */
export async function stopRuntime(runtime: P2pRuntime): Promise<void> {
  await runtime.lifecycle.stop()
}

/** The libp2p node on the persisted identity, gated by the trust policy (inbound refusals reported). */
function createNetwork(
  init: P2pInit,
  trust: TrustPolicy,
  privateKey: Awaited<ReturnType<typeof loadOrCreateIdentity>>,
  onRefused: RefusalListener
): Promise<DmnLibp2p> {
  return createDmnLibp2p({
    privateKey,
    host: init.host,
    port: init.port,
    maxConnections: init.maxConnections,
    refusePeer: (peer, direction) => {
      const refused = trust.refuses(peer.toString())
      if (refused && direction === 'inbound') {
        onRefused(
          peer.toString(),
          'connection',
          new PeerDeniedError('connection refused by the trust policy')
        )
      }
      return refused
    }
  })
}

/** What the protocols and the delivery worker are built from. */
interface PartsComponents {
  readonly libp2p: DmnLibp2p
  readonly db: Db
  readonly keyRing: P2pKeyRing
  readonly logger: Logger
  readonly records: RecordRepository
  readonly shares: ShareRepository
  readonly store: ShareStore
  readonly commits: GroupCommit
  readonly ledger: AuditLedger
  readonly peerBook: PeerBook
  readonly trust: TrustPolicy
  readonly stats: TrafficStats
  readonly onRefused: RefusalListener
}

interface Parts {
  readonly certificates: CertificateExchange
  readonly peers: PeerDirectory
  readonly receiver: Startable
  readonly batchReceiver: Startable
  readonly fetch: FetchProtocol
  readonly attest: AttestProtocol
  readonly evidence: EvidenceProtocol
  readonly worker: DeliveryWorker
  readonly resolver: RecipientResolver
  readonly health: HealthMonitor
}

/** The node's protocols, the delivery worker and the health monitor, wired to each other. */
function createParts(components: PartsComponents, init: P2pInit, events: RuntimeEvents): Parts {
  const {
    libp2p,
    db,
    keyRing,
    logger,
    records,
    shares,
    store,
    commits,
    ledger,
    peerBook,
    trust,
    stats,
    onRefused
  } = components
  const { signing, encryption } = keyRing.identity
  const keys: NodeKeys = {
    selfPeerId: libp2p.peerId.toString(),
    signingPrivateKeyPem: signing.privateKeyPem,
    signingKeyId: keyFingerprint(signing.publicKeyPem),
    encryptionPrivateKeyPem: encryption.privateKeyPem
  }
  const replayGuard = new ReplayGuard(new NonceRepository(db), { windowSeconds: init.replayWindowSeconds })
  const limits = new InboundLimits(init.limits)
  // What recipients announce of their limits in their answers; the delivery worker paces to it.
  const pacing = new PeerPacing()
  const protocol: ProtocolInit = {
    timeoutMs: init.streamTimeoutMs,
    // libp2p resets streams over its cap without a word; the node's limiter answers them instead.
    maxInboundStreams: Math.max(MAX_INBOUND_STREAMS_PER_PROTOCOL, init.limits.concurrentStreams)
  }
  const certificates = createCertificateExchange(
    {
      libp2p,
      trust,
      logger,
      certificatePem: init.certificatePem ?? selfCertificatePem(init, keys.selfPeerId, keyRing),
      onVerified: (peerId, peer) => {
        events.emit('peer:verified', { peerId, trust: peer.trust })
        worker.peerAvailable(peerId)
        // Its certificate may bind an address a share waits for.
        if (peer.ethAddress) resolver.addressBound(peer.ethAddress)
      },
      onRefused: (peerId, err) => onRefused(peerId, CERT_PROTOCOL, err)
    },
    protocol
  )
  const peers = peerDirectoryOf(peerBook, certificates)
  const inbound = { libp2p, limits, onRefused }
  const receiver = createShareProtocol(
    {
      ...inbound,
      store,
      commits,
      ledger,
      envelopes: envelopeOpenerOf(keys, replayGuard),
      clock: systemClock,
      selfPeerId: keys.selfPeerId,
      certificates,
      stats,
      onReceived: (share, receipt) => events.emit('share:received', { share, receipt }),
      onLimits: (peerId, announced) => pacing.learn(peerId, announced)
    },
    protocol
  )
  const batchReceiver = createBatchProtocol(
    {
      ...inbound,
      store,
      ledger,
      ...batchOpenerOf(keys, replayGuard),
      clock: systemClock,
      selfPeerId: keys.selfPeerId,
      certificates,
      stats,
      onReceived: (share, receipt) => events.emit('share:received', { share, receipt })
    },
    protocol
  )
  const fetch = createFetchProtocol(
    { ...inbound, keys, records, shares, certificates, replayGuard, stats },
    protocol
  )
  const attest = createAttestProtocol({ ...inbound, attestation: init.attestation }, protocol)
  const evidence = createEvidenceProtocol({ ...inbound, shares, evidence: init.evidence, stats }, protocol)
  const worker = createDeliveryWorker(
    {
      store,
      ledger,
      peers,
      envelopes: envelopeSealerOf(keys),
      transport: receiver,
      attestation: attest.verifies
        ? { verifyRecipient: (peerId, shareId, options) => attest.challenge(peerId, shareId, options) }
        : undefined,
      queue: shares,
      pacing,
      logger,
      batches: { sealer: batchSealerOf(keys), transport: batchReceiver, receipts: receiptVerifier() },
      onDelivered: (share, receipt) => events.emit('share:delivered', { share, receipt }),
      onBatchDelivered: (recipient, delivered) =>
        events.emit('batch:delivered', { recipient, shares: delivered }),
      onAttemptFailed: (share, err, final) =>
        events.emit('share:attempt-failed', {
          share: shares.get(share.shareId) ?? share,
          error: errorName(err),
          final
        })
    },
    {
      timeoutMs: init.streamTimeoutMs,
      retryBaseMs: init.retryBaseMs,
      retryMaxMs: init.retryMaxMs,
      concurrency: init.deliveryConcurrency,
      batchMax: init.batchMax,
      batchWindowMs: init.batchWindowMs
    }
  )
  const resolver = createRecipientResolver(
    {
      store,
      ledger,
      peers,
      registry: init.registry,
      clock: systemClock,
      selfPeerId: keys.selfPeerId,
      queue: shares,
      logger,
      onResolved: (share, via) => {
        events.emit('share:resolved', { share, via })
        void locate(libp2p, share.recipient, logger).finally(() => worker.kick())
      },
      onFailed: (share, err) => {
        const failed = shares.get(share.shareId) ?? share
        // The binding of a record to other keys than this node holds for its PeerId: a security event.
        if (err instanceof IdentityRecordMismatchError)
          onRefused(err.peerId ?? failed.recipient, 'registry', err)
        events.emit('share:attempt-failed', { share: failed, error: errorName(err), final: true })
      }
    },
    { intervalMs: init.resolveIntervalMs, timeoutMs: init.streamTimeoutMs }
  )
  const health = createHealthMonitor(
    { libp2p, peerBook, logger, onReachable: (peerId) => worker.peerAvailable(peerId) },
    { intervalMs: init.healthIntervalMs, timeoutMs: Math.min(init.streamTimeoutMs, MAX_PING_TIMEOUT_MS) }
  )
  return { certificates, peers, receiver, batchReceiver, fetch, attest, evidence, worker, resolver, health }
}

/** This node's certificate, self-issued with its signing key, binding its keys (and address) to its PeerId. */
function selfCertificatePem(init: P2pInit, selfPeerId: string, keyRing: P2pKeyRing): string {
  const { signing, encryption } = keyRing.identity
  const ethAddress = typeof init.ethAddress === 'function' ? init.ethAddress() : init.ethAddress
  return createNodeCertificate({
    peerId: selfPeerId,
    signingPublicKeyPem: signing.publicKeyPem,
    encryptionPublicKeyPem: encryption.publicKeyPem,
    ...(ethAddress ? { ethAddress } : {}),
    issuerPrivateKeyPem: signing.privateKeyPem
  })
}

/**
 * A recipient resolved through the registry is often a peer this node never met: its addresses are
 * looked up in the DHT (`peerRouting.findPeer`) unless the peer store has some, so the first delivery
 * attempt can dial it. A failed look-up is logged only; the dial looks again.
 */
async function locate(libp2p: DmnLibp2p, peerId: string, logger: Logger): Promise<void> {
  try {
    const peer = peerIdFromString(peerId)
    const known = await libp2p.peerStore.get(peer).catch(() => undefined)
    if (known && known.addresses.length > 0) return
    const found = await libp2p.peerRouting.findPeer(peer, { signal: AbortSignal.timeout(LOCATE_TIMEOUT_MS) })
    await libp2p.peerStore.merge(peer, { multiaddrs: found.multiaddrs })
  } catch (err) {
    logger.debug({ peerId, err: errorName(err) }, 'resolved recipient not found in the DHT yet')
  }
}

/** First in the list, so libp2p stops last, after every part that uses it. */
function stopsLibp2p(libp2p: DmnLibp2p): Startable {
  return { name: 'libp2p', start: () => {}, stop: () => libp2p.stop() }
}

/** After the protocols: libp2p listens and dials once their handlers are registered. */
function startsLibp2p(libp2p: DmnLibp2p): Startable {
  return { name: 'libp2p-listen', start: () => libp2p.start(), stop: () => {} }
}

/**
 * Known peers are dialable after a restart without asking the DHT, and the peer book learns each
 * identified peer's addresses. Started before the certificate exchange, so its identify listener
 * runs first and a peer verified on identify is dialable by its entry.
 */
function peerBookSync(libp2p: DmnLibp2p, peerBook: PeerBook): Startable {
  const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    peerBook.setAddresses(
      evt.detail.peerId.toString(),
      evt.detail.listenAddrs.map((a) => a.toString())
    )
  }
  return {
    name: 'peer-book-sync',
    async start() {
      const selfPeerId = libp2p.peerId.toString()
      for (const entry of peerBook.list()) {
        if (entry.addresses.length === 0 || entry.peerId === selfPeerId) continue
        await libp2p.peerStore.merge(peerIdFromString(entry.peerId), {
          multiaddrs: entry.addresses.map((a) => multiaddr(a))
        })
      }
      libp2p.addEventListener('peer:identify', onIdentify)
    },
    stop() {
      libp2p.removeEventListener('peer:identify', onIdentify)
    }
  }
}

/** Dials the configured bootstrap peers once, in the background; an unreachable one is logged. */
function bootstrapDials(
  libp2p: DmnLibp2p,
  addresses: readonly string[],
  timeoutMs: number,
  logger: Logger
): Startable {
  return {
    name: 'bootstrap',
    start() {
      for (const address of addresses) {
        libp2p
          .dial(multiaddr(address), { signal: AbortSignal.timeout(timeoutMs) })
          .catch((err: unknown) =>
            logger.warn({ address, err: errorName(err) }, 'bootstrap peer unreachable')
          )
      }
    },
    stop: () => {}
  }
}
