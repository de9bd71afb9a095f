import type { IdempotencyStore } from '../node/core/idempotency.ts'
import type {
  ApiKeyRegistry,
  AuditReader,
  DataService,
  EventLogReader,
  EventSignal,
  HealthProbe,
  KeyRingAdmin,
  NetworkService,
  NodeIdentitySource,
  Outbox,
  SecurityLogWriter,
  ShareService
} from '../node/core/ports.ts'
import type { WebhookAdmin } from '../node/core/webhooks.ts'
import type { Logger } from '../node/log/logger.ts'
import type { ApiMetrics } from './metrics.ts'

/** The ports behind the external API. */
export interface ExternalApiPorts {
  readonly shares: ShareService
  readonly data: DataService
  readonly audit: AuditReader
  readonly network: NetworkService
  readonly apiKeys: ApiKeyRegistry
  readonly securityLog: SecurityLogWriter
  /** The keys of `Idempotency-Key` and their answers. */
  readonly idempotency: IdempotencyStore
  readonly health: readonly HealthProbe[]
  readonly metrics: ApiMetrics
  readonly logger: Logger
}

/** The ports behind the internal (operator) API. */
export interface InternalApiPorts extends ExternalApiPorts {
  readonly keyRing: KeyRingAdmin
  readonly identity: NodeIdentitySource
  readonly outbox: Outbox
  /** The persisted event log that `/events` streams. */
  readonly eventLog: EventLogReader
  /** Wakes live readers when events were appended in this process. */
  readonly events: EventSignal
  readonly webhooks: WebhookAdmin
}

/** Settings of one API. */
/**
 * Token buckets: one per API key, and one per client address that every request of that address
 * draws from too (so holding many keys buys no more); the address bucket has the key bucket's
 * rate unless given its own.
 */
export interface RateLimitSettings {
  readonly perSecond: number
  readonly burst: number
  readonly addressPerSecond?: number | undefined
  readonly addressBurst?: number | undefined
}

export interface ApiSettings {
  readonly rateLimit: RateLimitSettings
  readonly trustedProxies: readonly string[]
  readonly bodyLimitBytes: number
  /** Milliseconds clock of the rate limiter (tests). */
  readonly now?: () => number
  readonly maxClients?: number
  /** How long an `Idempotency-Key` is kept (`api.idempotencyRetentionHours`); 24 h unless given. */
  readonly idempotencyRetentionMs?: number
  /** External API: answer the anchor's `/compliance_history` and `/network/*` without a key, as the anchor does. */
  readonly openAnchorReads?: boolean
}

/** Keys are kept a day unless configured longer. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000

export const API_VERSION = '0.1.0'
