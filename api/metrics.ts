import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { BuildInfo } from '../node/build-info.ts'
import type { AuditReader, NetworkService, ShareService } from '../node/core/ports.ts'

/**
 * Prometheus metrics of the node, in a registry of its own (not prom-client's global one), so two
 * nodes in one process (tests, the demo) never mix their figures. Here: the HTTP figures, the
 * gauges read from the node's ports at each scrape, prom-client's process and Node.js metrics and
 * `dmn_build_info`; what the node's services report as it happens (deliveries, chain transactions,
 * webhooks) is counted by node/metrics-bridge.ts in the same registry.
 */
export interface ApiMetrics {
  readonly registry: Registry
  readonly requests: Counter<'api' | 'method' | 'route' | 'status'>
  readonly duration: Histogram<'api' | 'method' | 'route'>
  readonly rateLimited: Counter<'api'>
  /**
   * A cheaper count in `requests` for a path answered often (the external `/health`): the returned
   * function adds one to a plain number, folded into the series of `labels` at each read of the
   * registry, so no request hashes and checks the labels.
   */
  countLater(labels: RequestLabels): () => void
}

/** The labels of one `dmn_http_requests_total` series. */
export interface RequestLabels {
  readonly api: string
  readonly method: string
  readonly route: string
  readonly status: string
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
  /** JSON-RPC requests to the chain, by method, as the node's client counts them. */
  readonly rpc?: { rpcCallCounts(): readonly { readonly method: string; readonly count: number }[] }
  /** The `dmn_build_info` labels; the series is left out without it. */
  readonly build?: BuildInfo
  /**
   * prom-client's process and Node.js metrics (`process_*`, `nodejs_*`): the node turns them on; off
   * by default, since each registry that has them keeps an event-loop monitor for good.
   */
  readonly defaultMetrics?: boolean
}

/** Shares one reading among the collectors of a scrape (they run at once), so each source is asked once. */
function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }
}

const SCRAPE_TIMEOUT_MS = 2_000

/** prom-client's default gauges whose names end in `_total`. */
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total'
]

export function createApiMetrics(sources: MetricSources = {}): ApiMetrics {
  const registry = new Registry()
  const later: { readonly labels: RequestLabels; n: number }[] = []
  const requests = new Counter({
    name: 'dmn_http_requests_total',
    help: 'HTTP requests answered, by API, method, route pattern and status',
    labelNames: ['api', 'method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      for (const slot of later) {
        if (slot.n === 0) continue
        this.inc({ ...slot.labels }, slot.n)
        slot.n = 0
      }
    }
  })
  const countLater = (labels: RequestLabels) => {
    const slot = { labels, n: 0 }
    later.push(slot)
    return () => {
      slot.n += 1
    }
  }
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
  const { shares, audit, network, refusals, rpc, build } = sources
  if (sources.defaultMetrics === true) {
    collectDefaultMetrics({ register: registry })
    // Gauges named like counters, which `promtool check metrics` refuses; the same figures are in
    // nodejs_active_handles, _requests and _resources by type.
    for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name)
  }
  if (build) {
    new Gauge({
      name: 'dmn_build_info',
      help: 'The running build: package version, Node.js version and git commit; always 1',
      labelNames: ['version', 'node_version', 'commit'] as const,
      registers: [registry]
    }).set({ version: build.version, node_version: build.nodeVersion, commit: build.commit }, 1)
  }
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
    const read = perScrape(() => audit.status({ signal: signal() }))
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
    new Gauge({
      name: 'dmn_chain_rpc_up',
      help: 'Whether the chain answered its JSON-RPC (the head block) at this scrape: 1 or 0',
      registers: [registry],
      async collect() {
        const status = await read().catch(() => undefined)
        this.set(status && status.latestBlock !== null ? 1 : 0)
      }
    })
  }
  if (network) {
    const read = perScrape(() => network.stats({ signal: signal() }))
    new Gauge({
      name: 'dmn_peers',
      help: 'Known peers, all and healthy',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        const s = await read()
        this.set({ kind: 'total' }, s.totalPeers)
        this.set({ kind: 'healthy' }, s.healthyPeers)
        this.set({ kind: 'connections' }, s.connections)
      }
    })
    // Counted by the p2p layer's protocols as messages pass; mirrored at each scrape.
    const bytes = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof read>>) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        async collect() {
          this.reset()
          this.inc(pick(await read()))
        }
      })
    bytes(
      'dmn_p2p_sent_bytes_total',
      'Bytes this node sent on its peer-to-peer protocols',
      (s) => s.bytesSent
    )
    bytes(
      'dmn_p2p_received_bytes_total',
      'Bytes this node received on its peer-to-peer protocols',
      (s) => s.bytesReceived
    )
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
  if (rpc) {
    new Counter({
      name: 'dmn_chain_rpc_requests_total',
      help: 'JSON-RPC requests this node sent its chain, by method',
      labelNames: ['method'] as const,
      registers: [registry],
      collect() {
        this.reset()
        for (const { method, count } of rpc.rpcCallCounts()) this.inc({ method }, count)
      }
    })
  }
  return { registry, requests, duration, rateLimited, countLater }
}
