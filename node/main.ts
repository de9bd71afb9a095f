import { createEventSignal } from '../api/event-bus.ts'
import type { InternalApiPorts } from '../api/deps.ts'
import { createApiMetrics } from '../api/metrics.ts'
import { ApiServer } from '../api/server.ts'
import { type Config, redactConfig } from '../config/index.ts'
import { type AttestChallenge, AttestService } from './attest/index.ts'
import { summarizingAuthSuccess } from './audit/auth-success-summary.ts'
import { AuditService, auditApiPorts, auditHealthProbes, auditHooks } from './audit/index.ts'
import { MissingMasterPasswordError } from './core/errors.ts'
import type { ApiKeyRegistry, NodeIdentitySource } from './core/ports.ts'
import type { WebhookAdmin } from './core/webhooks.ts'
import { KeyRingService } from './crypto/key-ring-service.ts'
import { loadOrCreateIdentity } from './p2p/libp2p-node.ts'
import { Lifecycle, type Startable } from './core/lifecycle.ts'
import { checkListenPorts, translateListenError } from './listen-ports.ts'
import { componentLogger, type Logger } from './log/logger.ts'
import { readBuildInfo } from './build-info.ts'
import { createEventBridge, notifyingSecurityLog } from './event-bridge.ts'
import { createLogBridge } from './log-bridge.ts'
import { createMetricsBridge } from './metrics-bridge.ts'
import { createEventRetention } from './event-retention.ts'
import {
  createDataService,
  createNetworkService,
  createShareService,
  P2pService,
  p2pHealthProbe,
  p2pInitFromConfig
} from './p2p/index.ts'
import { openingApiKeyStore } from './store/api-keys.ts'
import { openingIdempotencyStore } from './store/idempotency-keys.ts'
import { auditRepositories } from './store/audit-repositories.ts'
import { EnrolmentRepository } from './store/enrolments.ts'
import { RecordRepository } from './store/records.ts'
import { ShareRepository } from './store/shares.ts'
import { StoreService } from './store/store-service.ts'
import { WebhookRepository } from './store/webhooks.ts'
import { createWebhookAdmin } from './webhooks/admin.ts'
import { WebhookDeliveryService } from './webhooks/delivery-service.ts'
import { ownApisFromConfig, webhookInitFromConfig } from './webhooks/from-config.ts'

/**
 * The composition root: the only place where adapters are built and wired to each other.
 * Start order: store -> event retention -> key ring -> attest -> audit -> p2p -> audit identity ->
 * event, metrics and log bridges -> auth.success summary -> APIs -> webhook deliveries; stop in reverse.
 */

export interface DmnNode {
  readonly store: StoreService
  readonly keyRing: KeyRingService
  readonly audit: AuditService
  readonly attest: AttestService
  readonly p2p: P2pService
  readonly api: ApiServer
  /** What the APIs drive: another ApiServer over the same node can be built from it (tests). */
  readonly apiPorts: InternalApiPorts
  /** The API key registry over the node's database; usable once the node started. */
  readonly apiKeys: ApiKeyRegistry
  start(): Promise<void>
  stop(): Promise<void>
}

export interface CreateNodeComponents {
  readonly config: Config
  readonly logger: Logger
}

export function createNode({ config, logger }: CreateNodeComponents): DmnNode {
  // Refused before anything touches disk: never an insecure default.
  if (config.masterPassword === undefined) throw new MissingMasterPasswordError()

  const store = new StoreService(
    { logger: componentLogger(logger, 'store') },
    {
      dataDir: config.dataDir,
      synchronous: config.store.synchronous,
      busyTimeoutMs: config.store.busyTimeoutMs
    }
  )
  const keyRing: KeyRingService = new KeyRingService(
    {
      records: () => new RecordRepository(store.db, keyRing.ring),
      logger: componentLogger(logger, 'keyring')
    },
    { dataDir: config.dataDir, password: config.masterPassword, ...config.crypto }
  )
  // The node's Ethereum key lives in the key ring unless chain.privateKey is configured.
  const audit: AuditService = new AuditService(
    {
      repositories: () => auditRepositories(store.db),
      logger: componentLogger(logger, 'audit'),
      keyRing: {
        getSecret: (name) => keyRing.ring.getSecret(name),
        setSecret: (name, value) => keyRing.ring.setSecret(name, value)
      },
      // A recipient asks the sender for what only the sender holds of a share (its queue time, batch proofs).
      senderEvidence: (sender, shareId, opts) => p2p.askEvidence(sender, shareId, opts)
    },
    { ...config.chain, dataDir: config.dataDir, configSnapshot: redactConfig(config) }
  )
  // TPM attestation: answers challenges when attest.enabled, verifies recipients when a policy is set.
  const attest = new AttestService(
    { enrolments: () => new EnrolmentRepository(store.db), logger: componentLogger(logger, 'attest') },
    config.attest
  )
  // After audit: its account goes into the node certificate. The hooks write audit outbox rows inside
  // the p2p layer's own transactions, so a share and its audit event commit together.
  const p2p: P2pService = new P2pService(
    { db: () => store.db, keyRing: () => keyRing.ring, logger: componentLogger(logger, 'p2p') },
    p2pInitFromConfig(config, {
      ethAddress: () => audit.account,
      attestation: {
        answer: (challenge, options) => attest.answer(challenge, options),
        // Without a policy this node cannot judge a recipient, so the maximum tier stays refused.
        ...(attest.verifies
          ? {
              verify: (peerId: string, answer: unknown, challenge: AttestChallenge) =>
                attest.verify(peerId, answer, challenge)
            }
          : {})
      },
      hooks: auditHooks(audit),
      // Served to a share's recipient only (the protocol checks who asks); the audit side checks again.
      evidence: {
        evidenceOf: (shareId, requester, options) => audit.evidenceOf(shareId, requester, options)
      },
      // Resolves a share to an Ethereum address no known peer binds: the account's identity record on chain.
      registry: { lookup: (account, options) => audit.identities.registeredIdentity(account, options) }
    })
  )
  // Webhooks read the event log and the subscriptions; the APIs' bound ports are refused as URLs.
  const webhookParts = {
    subscriptions: perDatabase(store, (db) => new WebhookRepository(db)),
    events: () => store.eventLog,
    own: ownApisFromConfig(config.api, () => (apiListening ? apiBoundPorts(api) : undefined))
  }
  const ports = createApiPorts({
    store,
    keyRing,
    audit,
    p2p,
    auditMode: config.chain.mode,
    logger: componentLogger(logger, 'api'),
    webhooks: createWebhookAdmin({ ...webhookParts, changed: () => webhookDelivery.refresh() })
  })
  // One auth.success row per key and scope per second instead of one per request; failures at once.
  const authSuccess = summarizingAuthSuccess(ports.securityLog)
  const apiPorts: InternalApiPorts = { ...ports, securityLog: authSuccess }
  // The event log itself is written by the database (migrations/0012_event_log.sql); the bridge wakes
  // live readers and appends what no table change carries (peer refusals).
  const eventBridge = createEventBridge({
    signal: apiPorts.events,
    eventLog: () => store.eventLog,
    p2p,
    audit
  })
  const eventRetention = createEventRetention(
    { eventLog: () => store.eventLog, logger: componentLogger(logger, 'events') },
    { retentionMs: config.events.retentionHours * 3_600_000 }
  )
  // Last: the APIs take requests only once everything behind them runs, and stop first.
  const api = new ApiServer(apiPorts, { config: config.api })
  let apiListening = false
  // Marks the APIs' bound ports readable (the URL guard reads them at every delivery).
  const apiStarted: Startable = {
    name: 'api-ports',
    start: () => {
      apiListening = true
    },
    stop: () => {
      apiListening = false
    }
  }
  // After the APIs, so their bound ports are known; off the share path: it only reads the event log.
  const webhookDelivery = new WebhookDeliveryService(
    { ...webhookParts, bus: apiPorts.events, logger: componentLogger(logger, 'webhooks') },
    webhookInitFromConfig(config.webhooks)
  )
  // Metrics and the operator's log lines from the services' events; none of them knows of either.
  const metricsBridge = createMetricsBridge({
    registry: apiPorts.metrics.registry,
    p2p,
    audit,
    webhooks: webhookDelivery
  })
  const logBridge = createLogBridge({ logger: componentLogger(logger, 'activity'), p2p, audit })
  // Publishes the node's identity record on chain, again only when a key or the account changed.
  const auditIdentity: Startable = {
    name: 'audit-identity',
    start: async () => {
      await audit.registerIdentity({
        peerKey: await loadOrCreateIdentity(keyRing.ring),
        signingPublicKeyPem: keyRing.ring.identity.signing.publicKeyPem,
        encryptionPublicKeyPem: keyRing.ring.identity.encryption.publicKeyPem
      })
      // The recipient's side of the trail: the shares this node receives, as their senders anchor them.
      audit.watchInbound(p2p.peerId)
    },
    stop: () => {}
  }
  // attest before audit: a TPM that does not answer stops the start before the chain is touched.
  const components: Startable[] = [
    store,
    eventRetention,
    keyRing,
    attest,
    audit,
    p2p,
    auditIdentity,
    eventBridge,
    metricsBridge,
    logBridge,
    // Stopped after the APIs, so the last window of successful authentications is written.
    authSuccess,
    api,
    apiStarted,
    webhookDelivery
  ]

  const lifecycleLog = componentLogger(logger, 'lifecycle')
  const lifecycle = new Lifecycle(components, {
    onStarted: (name) => lifecycleLog.debug({ name }, 'component started'),
    onStopped: (name) => lifecycleLog.debug({ name }, 'component stopped'),
    onStopFailed: (name, err) => lifecycleLog.error({ name, err }, 'component failed to stop')
  })

  return {
    store,
    keyRing,
    audit,
    attest,
    p2p,
    api,
    apiPorts,
    apiKeys: apiPorts.apiKeys,
    // The ports first: a taken one should not cost a PBKDF2 run and a chain start to find out.
    start: async () => {
      await checkListenPorts(config)
      await lifecycle.start().catch(async (err: unknown) => {
        throw await translateListenError(err, config)
      })
    },
    stop: () => lifecycle.stop()
  }
}

/**
 * The ports behind both APIs, each from the adapter it belongs to. Nothing here touches the
 * database before the store has started: the repositories are opened at the first request.
 */
function createApiPorts(parts: {
  readonly store: StoreService
  readonly keyRing: KeyRingService
  readonly audit: AuditService
  readonly p2p: P2pService
  readonly auditMode: Config['chain']['mode']
  readonly logger: Logger
  readonly webhooks: WebhookAdmin
}): InternalApiPorts {
  const { store, keyRing, audit, p2p, logger } = parts
  const events = createEventSignal((err) => logger.warn({ err }, 'event listener failed'))
  const auditPorts = auditApiPorts(audit)
  const shares = createShareService({
    p2p,
    auditMode: parts.auditMode,
    shares: () => new ShareRepository(store.db)
  })
  const network = createNetworkService(p2p)
  const identity: NodeIdentitySource = {
    async describe(options) {
      const keys = await keyRing.status(options)
      return {
        peerId: p2p.peerId,
        addresses: p2p.multiaddrs,
        ethAddress: audit.account ?? null,
        signingKeyFingerprint: keys.signingKeyId,
        encryptionKeyFingerprint: keys.encryptionKeyId
      }
    }
  }
  return {
    shares,
    data: createDataService(p2p),
    audit: auditPorts.audit,
    network,
    apiKeys: openingApiKeyStore(() => store.db),
    securityLog: notifyingSecurityLog(auditPorts.securityLog, events),
    idempotency: openingIdempotencyStore(() => store.db),
    health: [store.healthProbe(), keyRing.healthProbe(), p2pHealthProbe(p2p), ...auditHealthProbes(audit)],
    metrics: createApiMetrics({
      shares,
      audit: auditPorts.audit,
      network,
      refusals: p2p,
      rpc: audit,
      build: readBuildInfo(),
      defaultMetrics: true
    }),
    logger,
    keyRing,
    identity,
    outbox: auditPorts.outbox,
    // Opened at each call: the store's database exists only once it started.
    eventLog: {
      after: (afterId, limit, types) => store.eventLog.after(afterId, limit, types),
      oldestId: () => store.eventLog.oldestId(),
      latestId: () => store.eventLog.latestId()
    },
    events,
    webhooks: parts.webhooks
  }
}

function apiBoundPorts(api: ApiServer): number[] {
  const { internal, external } = api.listening
  return [internal.port, external.port]
}

/** A repository over the store's database, prepared once per database (the store opens it at start). */
function perDatabase<T>(store: StoreService, make: (db: StoreService['db']) => T): () => T {
  let made: { db: StoreService['db']; value: T } | undefined
  return () => {
    const db = store.db
    if (made?.db !== db) made = { db, value: make(db) }
    return made.value
  }
}

/**
 * Runs a node until SIGINT or SIGTERM, then drains and stops it. A second signal while stopping
 * exits at once with code 1.
 */
export async function runNode(components: CreateNodeComponents): Promise<void> {
  const { logger } = components
  const node = createNode(components)
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal while stopping; exiting now')
        process.exit(1)
      }
      stopping = true
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  // Signal handlers do not keep the event loop alive; this timer does until a signal arrives.
  const keepAlive = setInterval(() => {}, 2 ** 30)
  try {
    await node.start()
  } catch (err) {
    clearInterval(keepAlive)
    throw err
  }
  logger.info({ dataDir: components.config.dataDir }, 'node ready')
  const signal = await stopped
  clearInterval(keepAlive)
  logger.info({ signal }, 'stopping')
  await node.stop()
  logger.info('stopped')
}
