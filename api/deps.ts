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
  /** External API: answer the anchor's `/compliance_history` and `/network/*` without a key, as the anchor does. */
  readonly openAnchorReads?: boolean
}

export const API_VERSION = '0.1.0'
