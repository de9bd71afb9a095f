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
export interface ApiSettings {
  readonly rateLimit: { readonly perSecond: number; readonly burst: number }
  readonly trustedProxies: readonly string[]
  readonly bodyLimitBytes: number
  /** Milliseconds clock of the rate limiter (tests). */
  readonly now?: () => number
  readonly maxClients?: number
}

export const API_VERSION = '0.1.0'
