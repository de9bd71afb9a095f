/**
 * Counts what the node's services report as it happens into the Prometheus registry of
 * api/metrics.ts: deliveries and their latency, shares by direction and tier, the chain's
 * transactions and gas, webhook deliveries and their lag. It only listens to the services' events
 * (as node/event-bridge.ts does), so none of them knows about metrics and node/core stays free of them.
 */
import { Counter, Histogram, type Registry } from 'prom-client'
import type { Startable } from './core/lifecycle.ts'
import type { AuditEvents } from './audit/index.ts'
import type { P2pEvents } from './p2p/index.ts'
import type { WebhookDeliveryEvents } from './webhooks/delivery-service.ts'

/** Something that emits named events (node:events style). */
interface Emitter<Events> {
  on<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
  off<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
}

export interface MetricsBridgeComponents {
  readonly registry: Registry
  readonly p2p: Emitter<P2pEvents>
  readonly audit: Emitter<AuditEvents>
  readonly webhooks: Emitter<WebhookDeliveryEvents>
}

/** Seconds from acceptance to the recipient's receipt: loopback is milliseconds, a peer offline hours. */
const DELIVERY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600]
/** Seconds from broadcast to confirmation: one block on a local chain, minutes on a busy one. */
const CHAIN_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800]
/** Seconds from an event to its webhook's 2xx: at once, or after retries with backoff. */
const WEBHOOK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400]

/** Error names as this project's classes and libp2p's spell them; anything else is `Other`. */
const ERROR_NAME = /^[A-Z][A-Za-z0-9]{0,79}$/
/** Distinct error names kept as labels; the node's own number a few dozen. */
const MAX_ERROR_NAMES = 100

/** The label for an error name, bounded so the series cannot grow without end. */
function errorLabel(): (name: string) => string {
  const seen = new Set<string>()
  return (name) => {
    if (!ERROR_NAME.test(name)) return 'Other'
    if (seen.has(name)) return name
    if (seen.size >= MAX_ERROR_NAMES) return 'Other'
    seen.add(name)
    return name
  }
}

/** Builds the metric families in `registry` now; subscribes at start, unsubscribes at stop. */
export function createMetricsBridge({ registry, p2p, audit, webhooks }: MetricsBridgeComponents): Startable {
  const registers = [registry]
  const shares = new Counter({
    name: 'dmn_shares_accepted_total',
    help: 'Shares this node accepted, to send (direction out) or from a peer (direction in), by tier',
    labelNames: ['direction', 'tier'] as const,
    registers
  })
  const deliverySeconds = new Histogram({
    name: 'dmn_share_delivery_seconds',
    help: "Time from a share's acceptance to its recipient's verified receipt",
    labelNames: ['tier'] as const,
    buckets: DELIVERY_BUCKETS,
    registers
  })
  const batchShares = new Histogram({
    name: 'dmn_p2p_batch_shares',
    help: 'Shares delivered per batch (batched delivery): how far the batches fill under the load',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers
  })
  const attempts = new Counter({
    name: 'dmn_share_delivery_attempts_total',
    help: 'Delivery attempts of outgoing shares by outcome, delivered or failed (a recipient that cannot be resolved is a failed one)',
    labelNames: ['outcome'] as const,
    registers
  })
  const failures = new Counter({
    name: 'dmn_share_delivery_failures_total',
    help: 'Failed deliveries by error name; final is true when the share failed for good',
    labelNames: ['error', 'final'] as const,
    registers
  })
  const chainSeconds = new Histogram({
    name: 'dmn_chain_transaction_seconds',
    help: 'Time from broadcasting an audit transaction to its confirmation',
    buckets: CHAIN_BUCKETS,
    registers
  })
  const transactions = new Counter({
    name: 'dmn_chain_transactions_total',
    help: 'Audit transactions settled, by outcome (confirmed, dropped, reverted)',
    labelNames: ['outcome'] as const,
    registers
  })
  const gas = new Counter({
    name: 'dmn_chain_gas_used_total',
    help: 'Gas used by the audit transactions the chain included',
    registers
  })
  const webhookLag = new Histogram({
    name: 'dmn_webhook_delivery_lag_seconds',
    help: "Time from an event to its webhook receiver's 2xx",
    buckets: WEBHOOK_BUCKETS,
    registers
  })
  const webhookFailures = new Counter({
    name: 'dmn_webhook_failures_total',
    help: 'Failed webhook attempts by reason; final is true when the subscription failed with it',
    labelNames: ['reason', 'final'] as const,
    registers
  })
  const label = errorLabel()

  const listeners: (() => void)[] = []
  const on = <E>(emitter: Emitter<E>, name: keyof E & string, listener: (...args: never[]) => void) => {
    emitter.on(name, listener)
    listeners.push(() => emitter.off(name, listener))
  }
  return {
    name: 'metrics-bridge',
    start() {
      on(p2p, 'share:queued', ({ share }: P2pEvents['share:queued'][0]) => {
        shares.inc({ direction: 'out', tier: share.tier })
      })
      on(p2p, 'share:received', ({ share }: P2pEvents['share:received'][0]) => {
        shares.inc({ direction: 'in', tier: share.tier })
      })
      on(p2p, 'share:delivered', ({ share }: P2pEvents['share:delivered'][0]) => {
        attempts.inc({ outcome: 'delivered' })
        const accepted = Date.parse(share.createdAt)
        if (Number.isFinite(accepted)) {
          deliverySeconds.observe({ tier: share.tier }, Math.max(0, (Date.now() - accepted) / 1000))
        }
      })
      on(p2p, 'batch:delivered', ({ shares }: P2pEvents['batch:delivered'][0]) => {
        batchShares.observe(shares)
      })
      on(p2p, 'share:attempt-failed', ({ error, final }: P2pEvents['share:attempt-failed'][0]) => {
        attempts.inc({ outcome: 'failed' })
        failures.inc({ error: label(error), final: String(final) })
      })
      on(audit, 'audit:transaction', (tx: AuditEvents['audit:transaction'][0]) => {
        transactions.inc({ outcome: tx.outcome })
        if (tx.outcome === 'confirmed') chainSeconds.observe(tx.seconds)
        if (tx.gasUsed !== null) gas.inc(tx.gasUsed)
      })
      on(webhooks, 'delivered', ({ lagSeconds }: WebhookDeliveryEvents['delivered'][0]) => {
        webhookLag.observe(lagSeconds)
      })
      on(webhooks, 'attempt-failed', ({ reason, final }: WebhookDeliveryEvents['attempt-failed'][0]) => {
        webhookFailures.inc({ reason, final: String(final) })
      })
    },
    stop() {
      for (const off of listeners.splice(0)) off()
    }
  }
}
