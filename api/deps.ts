import type { IdempotencyStore } from '../node/core/idempotency.ts'
import type {
  ApiKeyRegistry,
  AuditReader,
  DataService,
  EventBus,
  HealthProbe,
  KeyRingAdmin,
  NetworkService,
  NodeIdentitySource,
  Outbox,
  SecurityLogWriter,
  ShareService
} from '../node/core/ports.ts'
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
  readonly events: EventBus
}

/** Settings of one API. */
export interface ApiSettings {
  readonly rateLimit: { readonly perSecond: number; readonly burst: number }
  readonly trustedProxies: readonly string[]
  readonly bodyLimitBytes: number
  /** Milliseconds clock of the rate limiter (tests). */
  readonly now?: () => number
  readonly maxClients?: number
  /** How long an `Idempotency-Key` is kept (`api.idempotencyRetentionHours`); 24 h unless given. */
  readonly idempotencyRetentionMs?: number
}

/** Keys are kept a day unless configured longer. */
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000

export const API_VERSION = '0.1.0'
