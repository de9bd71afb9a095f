import type { Config } from '../../config/index.ts'
import type { WebhookDeliveryInit } from './delivery-service.ts'
import type { OwnApis } from './url-guard.ts'

/** The delivery service's settings from `config.webhooks`. */
export function webhookInitFromConfig(cfg: Config['webhooks']): WebhookDeliveryInit {
  return {
    concurrency: cfg.concurrency,
    timeoutMs: cfg.timeoutMs,
    pollIntervalMs: cfg.pollIntervalMs,
    retry: { baseMs: cfg.backoffBaseMs, capMs: cfg.backoffMaxMs, windowMs: cfg.retrySeconds * 1_000 }
  }
}

/**
 * The node's API ports: the configured ones, and the bound ones once the APIs listen (they differ
 * when a port is configured as 0).
 */
export function ownApisFromConfig(
  api: Config['api'],
  bound: () => readonly number[] | undefined = () => undefined
): OwnApis {
  return {
    ports: () => [...new Set([api.internal.port, api.external.port, ...(bound() ?? [])])].filter((p) => p > 0)
  }
}
