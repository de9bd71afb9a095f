import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNodeCertificate, keyFingerprint, ReplayGuard } from '../crypto/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import { RecordRepository } from '../store/records.ts'
import { NonceRepository } from '../store/nonces.ts'
import { PeerRepository } from '../store/peers.ts'
import { ShareRepository, type ShareRow } from '../store/shares.ts'
import { CertificateExchange } from './cert-exchange.ts'
import { AttestProtocol } from './attest-protocol.ts'
import { CERT_PROTOCOL, MAX_INBOUND_STREAMS_PER_PROTOCOL, SHARE_PROTOCOL } from './constants.ts'
import { DeliveryWorker } from './delivery-worker.ts'
import { errorName, PeerDeniedError } from './errors.ts'
import { FetchProtocol } from './fetch-protocol.ts'
import { HealthMonitor } from './health-monitor.ts'
import { createDmnLibp2p, type DmnLibp2p, loadOrCreateIdentity } from './libp2p-node.ts'
import { InboundLimits } from './limits.ts'
import { PeerBook } from './peer-book.ts'
import type { P2pComponents, P2pEvents, P2pInit, P2pShareView } from './p2p-types.ts'
import { ShareReceiver } from './share-protocol.ts'
import { TrafficStats } from './stats.ts'
import { TrustPolicy } from './trust.ts'
import type { SignedReceipt } from '../core/receipt.ts'

/**
 * Assembles and starts the parts of the P2P component in dependency order: peer book and trust
 * policy, the libp2p node with the persisted identity, the protocols (each registers its own
 * handler in its start), then the delivery worker and the health monitor. `stopRuntime` stops them
 * in reverse.
 */

export interface P2pRuntime {
  readonly libp2p: DmnLibp2p
  readonly db: Db
  readonly peerBook: PeerBook
  readonly trust: TrustPolicy
  readonly records: RecordRepository
  readonly shares: ShareRepository
  readonly certificates: CertificateExchange
  readonly worker: DeliveryWorker
  readonly health: HealthMonitor
  readonly fetch: FetchProtocol
  readonly attest: AttestProtocol
  readonly stats: TrafficStats
}

/** Where the runtime reports: the service's typed events and its refusal log. */
export interface RuntimeEvents {
  emit<K extends keyof P2pEvents>(name: K, ...args: P2pEvents[K]): void
  refused(peerId: string, protocol: string, err: unknown): void
}

/** A share row as the API shows it (receipt parsed, no internal columns). */
export function shareView(row: ShareRow): P2pShareView {
  return {
    shareId: row.shareId,
    direction: row.direction,
    dataHash: row.dataHash,
    sender: row.sender,
    recipient: row.recipient,
    recipientLabel: row.recipientLabel,
    tier: row.tier,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptMs === null ? null : new Date(row.nextAttemptMs).toISOString(),
    expiresAt: row.expiresMs === null ? null : new Date(row.expiresMs).toISOString(),
    lastError: row.lastError,
    receipt: row.receipt ? (JSON.parse(new TextDecoder().decode(row.receipt)) as SignedReceipt) : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

export async function startRuntime(
  components: P2pComponents,
  init: P2pInit,
  events: RuntimeEvents
): Promise<P2pRuntime> {
  const logger: Logger = components.logger
  const db = components.db()
  const keyRing = components.keyRing()
  const peerBook = new PeerBook(new PeerRepository(db))
  const trust = new TrustPolicy(peerBook, {
    mode: init.trust,
    allowlist: init.allowlist,
    caCertificatePems: init.caCertificatePems
  })
  const privateKey = await loadOrCreateIdentity(keyRing)
  const stats = new TrafficStats()
  // Every refusal is counted by protocol and error name (for /metrics) as it is reported.
  const onRefused = (peerId: string, protocol: string, err: unknown) => {
    stats.refusals.countSent(protocol, errorName(err))
    events.refused(peerId, protocol, err)
  }
  const libp2p = await createDmnLibp2p({
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
  const selfPeerId = libp2p.peerId.toString()
  const { signing, encryption } = keyRing.identity
  const ethAddress = typeof init.ethAddress === 'function' ? init.ethAddress() : init.ethAddress
  const certificatePem =
    init.certificatePem ??
    createNodeCertificate({
      peerId: selfPeerId,
      signingPublicKeyPem: signing.publicKeyPem,
      encryptionPublicKeyPem: encryption.publicKeyPem,
      ...(ethAddress ? { ethAddress } : {}),
      issuerPrivateKeyPem: signing.privateKeyPem
    })
  // libp2p resets streams over its cap without a word; the node's limiter answers them instead.
  const handlerOptions = {
    maxInboundStreams: Math.max(MAX_INBOUND_STREAMS_PER_PROTOCOL, init.limits.concurrentStreams),
    maxOutboundStreams: 64
  }
  const records = new RecordRepository(db, keyRing)
  const shares = new ShareRepository(db)
  const replayGuard = new ReplayGuard(new NonceRepository(db), { windowSeconds: init.replayWindowSeconds })
  const limits = new InboundLimits(init.limits)
  const timeoutMs = init.streamTimeoutMs
  const certificates = new CertificateExchange({
    libp2p,
    trust,
    certificatePem,
    logger: logger,
    timeoutMs,
    handlerOptions,
    onVerified: (peerId, peer) => {
      events.emit('peer:verified', { peerId, trust: peer.trust })
      worker.peerAvailable(peerId)
    },
    onRefused: (peerId, err) => onRefused(peerId, CERT_PROTOCOL, err)
  })
  const signingKeyId = keyFingerprint(signing.publicKeyPem)
  const receiver = new ShareReceiver({
    selfPeerId,
    signingPrivateKeyPem: signing.privateKeyPem,
    encryptionPrivateKeyPem: encryption.privateKeyPem,
    db,
    records,
    shares,
    certificates,
    replayGuard,
    limits,
    stats,
    logger: logger,
    timeoutMs,
    onShareReceived: init.hooks?.onShareReceived,
    onReceived: (share, receipt) => events.emit('share:received', { share: shareView(share), receipt }),
    onRefused
  })
  const fetch = new FetchProtocol({
    libp2p,
    selfPeerId,
    signingPrivateKeyPem: signing.privateKeyPem,
    signingKeyId,
    encryptionPrivateKeyPem: encryption.privateKeyPem,
    records,
    shares,
    certificates,
    replayGuard,
    limits,
    stats,
    timeoutMs,
    handlerOptions,
    onRefused
  })
  const attest = new AttestProtocol({
    libp2p,
    attestation: init.attestation,
    limits,
    timeoutMs,
    handlerOptions,
    onRefused
  })
  const worker = new DeliveryWorker({
    libp2p,
    db,
    records,
    shares,
    certificates,
    signingPrivateKeyPem: signing.privateKeyPem,
    signingKeyId,
    stats,
    logger: logger,
    timeoutMs,
    retryBaseMs: init.retryBaseMs,
    retryMaxMs: init.retryMaxMs,
    concurrency: init.deliveryConcurrency,
    attestRecipient: attest.verifies
      ? (peerId, shareId, options) => attest.challenge(peerId, shareId, options)
      : undefined,
    onReceiptStored: init.hooks?.onReceiptStored,
    onDelivered: (share, receipt) => events.emit('share:delivered', { share: shareView(share), receipt }),
    onAttemptFailed: (share, err, final) =>
      events.emit('share:attempt-failed', {
        share: shareView(shares.get(share.shareId) ?? share),
        error: errorName(err),
        final
      })
  })
  const health = new HealthMonitor({
    libp2p,
    peerBook,
    logger: logger,
    intervalMs: init.healthIntervalMs,
    timeoutMs: Math.min(timeoutMs, 10_000),
    onReachable: (peerId) => worker.peerAvailable(peerId)
  })
  // Known peers are dialable after a restart without asking the DHT.
  for (const entry of peerBook.list()) {
    if (entry.addresses.length === 0 || entry.peerId === selfPeerId) continue
    await libp2p.peerStore.merge(peerIdFromString(entry.peerId), {
      multiaddrs: entry.addresses.map((a) => multiaddr(a))
    })
  }
  // The peer book learns addresses first, so a peer verified on identify is dialable by its entry.
  libp2p.addEventListener('peer:identify', (evt) => {
    peerBook.setAddresses(
      evt.detail.peerId.toString(),
      evt.detail.listenAddrs.map((a) => a.toString())
    )
  })
  // Each protocol registers its own handler; the share receiver's is registered here.
  await certificates.start()
  await libp2p.handle(SHARE_PROTOCOL, receiver.handle, handlerOptions)
  await fetch.start()
  await attest.start()
  await libp2p.start()
  const runtime: P2pRuntime = {
    libp2p,
    db,
    peerBook,
    trust,
    records,
    shares,
    certificates,
    worker,
    health,
    fetch,
    attest,
    stats
  }
  worker.start()
  health.start()
  for (const address of init.bootstrap) {
    libp2p
      .dial(multiaddr(address), { signal: AbortSignal.timeout(timeoutMs) })
      .catch((err: unknown) => logger.warn({ address, err: errorName(err) }, 'bootstrap peer unreachable'))
  }
  logger.info(
    { peerId: selfPeerId, addresses: libp2p.getMultiaddrs().map((a) => a.toString()) },
    'p2p started'
  )
  return runtime
}

export async function stopRuntime(runtime: P2pRuntime): Promise<void> {
  await runtime.health.stop()
  await runtime.worker.stop()
  await runtime.attest.stop()
  await runtime.fetch.stop()
  await runtime.certificates.stop()
  await runtime.libp2p.stop()
}
