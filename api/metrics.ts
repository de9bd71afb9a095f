import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AuditReader, NetworkService, ShareService } from '../node/core/ports.ts'

/**
 * Prometheus metrics of the node, in a registry of its own (not prom-client's global one), so two
 * nodes in one process (tests, the demo) never mix their figures.
 */
export interface ApiMetrics {
  readonly registry: Registry
  readonly requests: Counter<'api' | 'method' | 'route' | 'status'>
  readonly duration: Histogram<'api' | 'method' | 'route'>
  readonly rateLimited: Counter<'api'>
}

/** One refusal series: how often `error` was the answer on `protocol`. */
export interface RefusalSeries {
  readonly protocol: string
  readonly error: string
  readonly count: number
}

/** The peer-to-peer layer's refusal counts: those it sent to peers, those peers sent it. */
export interface RefusalSource {
  refusalCounts(): { readonly sent: readonly RefusalSeries[]; readonly received: readonly RefusalSeries[] }
}

/** Where the gauges read from when scraped; each is optional until its component is wired. */
export interface MetricSources {
  readonly shares?: Pick<ShareService, 'countByState'>
  readonly audit?: Pick<AuditReader, 'status'>
  readonly network?: Pick<NetworkService, 'stats'>
  readonly refusals?: RefusalSource
}

const SCRAPE_TIMEOUT_MS = 2_000

export function createApiMetrics(sources: MetricSources = {}): ApiMetrics {
  const registry = new Registry()
  const requests = new Counter({
    name: 'dmn_http_requests_total',
    help: 'HTTP requests answered, by API, method, route pattern and status',
    labelNames: ['api', 'method', 'route', 'status'] as const,
    registers: [registry]
  })
  const duration = new Histogram({
    name: 'dmn_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['api', 'method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  const rateLimited = new Counter({
    name: 'dmn_rate_limit_hits_total',
    help: 'Requests refused with 429',
    labelNames: ['api'] as const,
    registers: [registry]
  })
  const signal = () => AbortSignal.timeout(SCRAPE_TIMEOUT_MS)
  const { shares, audit, network, refusals } = sources
  if (shares) {
    new Gauge({
      name: 'dmn_shares',
      help: 'Shares by delivery state',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        const counts = await shares.countByState({ signal: signal() })
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n ?? 0)
      }
    })
  }
  if (audit) {
    const read = () => audit.status({ signal: signal() })
    new Gauge({
      name: 'dmn_outbox_depth',
      help: 'Audit events not yet confirmed, by state',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        const s = await read()
        this.set({ state: 'pending' }, s.pending)
        this.set({ state: 'sent' }, s.sent)
        this.set({ state: 'failed' }, s.failed)
      }
    })
    new Gauge({
      name: 'dmn_publisher_lag_seconds',
      help: 'Age of the oldest audit event still waiting for the chain',
      registers: [registry],
      async collect() {
        this.set((await read()).lagSeconds)
      }
    })
  }
  if (network) {
    new Gauge({
      name: 'dmn_peers',
      help: 'Known peers, all and healthy',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        const s = await network.stats({ signal: signal() })
        this.set({ kind: 'total' }, s.totalPeers)
        this.set({ kind: 'healthy' }, s.healthyPeers)
        this.set({ kind: 'connections' }, s.connections)
      }
    })
  }
  if (refusals) {
    // Counted by the p2p layer; these counters mirror its totals at each scrape.
    const mirror = (counter: Counter<'protocol' | 'error'>, series: readonly RefusalSeries[]) => {
      counter.reset()
      for (const { protocol, error, count } of series) counter.inc({ protocol, error }, count)
    }
    new Counter({
      name: 'dmn_p2p_refusals_total',
      help: 'Peer messages, streams and connections this node refused, by protocol and error name',
      labelNames: ['protocol', 'error'] as const,
      registers: [registry],
      collect() {
        mirror(this, refusals.refusalCounts().sent)
      }
    })
    new Counter({
      name: 'dmn_p2p_refusals_received_total',
      help: 'Refusals peers answered this node with, by protocol and error name',
      labelNames: ['protocol', 'error'] as const,
      registers: [registry],
      collect() {
        mirror(this, refusals.refusalCounts().received)
      }
    })
  }
  return { registry, requests, duration, rateLimited }
}
