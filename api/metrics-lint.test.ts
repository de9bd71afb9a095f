import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { AuditEvents } from '../node/audit/index.ts'
import type { StoredShare } from '../node/core/share-ports.ts'
import { createMetricsBridge } from '../node/metrics-bridge.ts'
import type { P2pEvents } from '../node/p2p/index.ts'
import type { WebhookDeliveryEvents } from '../node/webhooks/delivery-service.ts'
import { createApiMetrics } from './metrics.ts'
import { lintExposition } from './test-support/metrics-lint.ts'

const share = (over: Partial<StoredShare> = {}) =>
  ({
    shareId: 's1',
    tier: 'standard',
    createdAt: new Date(Date.now() - 1500).toISOString(),
    ...over
  }) as StoredShare

/** Every family the node exposes, from sources that answer and services that report once each. */
async function fullExposition(): Promise<string> {
  const metrics = createApiMetrics({
    shares: { countByState: async () => ({ queued: 1, delivered: 2 }) },
    audit: {
      status: async () => ({
        contractAddress: '0x0',
        chainId: 1,
        latestBlock: 7,
        pending: 1,
        sent: 0,
        failed: 0,
        lagSeconds: 2
      })
    },
    network: {
      stats: async () => ({
        peerId: 'P',
        totalPeers: 2,
        healthyPeers: 1,
        connections: 1,
        bytesSent: 1200,
        bytesReceived: 800,
        uptimeSeconds: 5,
        listenAddresses: [],
        bootstrapPeers: 0
      })
    },
    refusals: {
      refusalCounts: () => ({
        sent: [{ protocol: '/dmn/share/1.0.0', error: 'PeerDeniedError', count: 2 }],
        received: [{ protocol: '/dmn/share/1.0.0', error: 'RateLimitedError', count: 1 }]
      })
    },
    build: { version: '1.2.3', nodeVersion: 'v24.0.0', commit: 'a'.repeat(40) },
    defaultMetrics: true
  })
  const p2p = new EventEmitter<P2pEvents>()
  const audit = new EventEmitter<AuditEvents>()
  const webhooks = new EventEmitter<WebhookDeliveryEvents>()
  const bridge = createMetricsBridge({ registry: metrics.registry, p2p, audit, webhooks })
  await bridge.start()
  metrics.requests.inc({ api: 'internal', method: 'GET', route: '/health', status: '200' })
  metrics.duration.observe({ api: 'internal', method: 'GET', route: '/health' }, 0.002)
  metrics.rateLimited.inc({ api: 'external' })
  p2p.emit('share:queued', { share: share() })
  p2p.emit('share:received', { share: share({ shareId: 's2', tier: 'high' }), receipt: {} as never })
  p2p.emit('share:attempt-failed', { share: share(), error: 'PeerUnreachableError', final: false })
  p2p.emit('share:attempt-failed', { share: share(), error: 'not an error name', final: true })
  p2p.emit('share:delivered', { share: share(), receipt: {} as never })
  audit.emit('audit:transaction', { outcome: 'confirmed', seconds: 1.5, gasUsed: 52_000 })
  audit.emit('audit:transaction', { outcome: 'dropped', seconds: 30, gasUsed: null })
  webhooks.emit('delivered', { webhook: 'w', eventId: 1, lagSeconds: 0.2 })
  webhooks.emit('attempt-failed', { webhook: 'w', eventId: 2, reason: 'http_status', final: false })
  const text = await metrics.registry.metrics()
  await bridge.stop()
  return text
}

describe('the metrics exposition', () => {
  it('is clean by the text format and promtool rules with every family present', async () => {
    const text = await fullExposition()
    expect(lintExposition(text)).toEqual([])
    for (const line of [
      'dmn_build_info{version="1.2.3",node_version="v24.0.0",commit="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} 1',
      'dmn_shares_accepted_total{direction="out",tier="standard"} 1',
      'dmn_shares_accepted_total{direction="in",tier="high"} 1',
      'dmn_share_delivery_seconds_count{tier="standard"} 1',
      'dmn_share_delivery_attempts_total{outcome="failed"} 2',
      'dmn_share_delivery_attempts_total{outcome="delivered"} 1',
      'dmn_share_delivery_failures_total{error="PeerUnreachableError",final="false"} 1',
      'dmn_share_delivery_failures_total{error="Other",final="true"} 1',
      'dmn_chain_transaction_seconds_count 1',
      'dmn_chain_transactions_total{outcome="dropped"} 1',
      'dmn_chain_gas_used_total 52000',
      'dmn_chain_rpc_up 1',
      'dmn_webhook_delivery_lag_seconds_count 1',
      'dmn_webhook_failures_total{reason="http_status",final="false"} 1',
      'dmn_p2p_sent_bytes_total 1200',
      'dmn_p2p_received_bytes_total 800',
      'dmn_p2p_refusals_total{protocol="/dmn/share/1.0.0",error="PeerDeniedError"} 2',
      '# TYPE process_cpu_seconds_total counter',
      '# TYPE nodejs_eventloop_lag_seconds gauge'
    ]) {
      expect(text).toContain(line)
    }
    // Acceptance to receipt took 1.5 s here: below the 2.5 s bucket, above the 1 s one.
    expect(text).toContain('dmn_share_delivery_seconds_bucket{le="1",tier="standard"} 0')
    expect(text).toContain('dmn_share_delivery_seconds_bucket{le="2.5",tier="standard"} 1')
  })

  it('reports the chain down when it does not answer its head block', async () => {
    const metrics = createApiMetrics({
      audit: {
        status: async () => ({
          contractAddress: null,
          chainId: null,
          latestBlock: null,
          pending: 0,
          sent: 0,
          failed: 0,
          lagSeconds: 0
        })
      }
    })
    expect(await metrics.registry.metrics()).toContain('dmn_chain_rpc_up 0')
  })
})

describe('lintExposition', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total 1\n'

  it('accepts a minimal clean exposition', () => {
    expect(lintExposition(ok)).toEqual([])
  })

  it.each([
    ['a missing HELP', '# TYPE a_total counter\na_total 1\n', 'a_total: no HELP text'],
    ['a missing TYPE', '# HELP a A.\na 1\n', 'a: no TYPE'],
    ['a counter without _total', '# HELP a A.\n# TYPE a counter\na 1\n', 'a: a counter without _total'],
    [
      '_total on a gauge',
      '# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n',
      'a_total: _total on a gauge'
    ],
    [
      'a non-base unit',
      '# HELP a_milliseconds A.\n# TYPE a_milliseconds gauge\na_milliseconds 1\n',
      'non-base unit'
    ],
    ['camelCase', '# HELP aB A.\n# TYPE aB gauge\naB 1\n', 'aB: not snake_case'],
    ['a series twice', `${ok}a_total 2\n`, 'given twice'],
    ['a second HELP', `# HELP a_total A.\n${ok}`, 'second HELP'],
    ['TYPE after samples', '# HELP a A.\na 1\n# TYPE a gauge\n', 'TYPE of a after its samples'],
    ['split families', `${ok}# HELP b B.\n# TYPE b gauge\nb 1\na_total{x="1"} 1\n`, 'not together'],
    ['a bad escape', '# HELP a A.\n# TYPE a gauge\na{x="\\t"} 1\n', 'invalid escape'],
    ['a bad value', '# HELP a A.\n# TYPE a gauge\na one\n', 'invalid value'],
    ['a missing newline', '# HELP a A.\n# TYPE a gauge\na 1', 'does not end with a newline'],
    [
      'a histogram without +Inf',
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      'no +Inf bucket'
    ],
    [
      'decreasing buckets',
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      'buckets decrease'
    ],
    ['an abbreviated unit', '# HELP a_ms A.\n# TYPE a_ms gauge\na_ms 1\n', 'abbreviated unit ms'],
    ['a type in the name', '# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge 1\n', 'the type gauge'],
    ['a colon', '# HELP a:b A.\n# TYPE a:b gauge\na:b 1\n', 'a colon'],
    ['le outside a histogram', '# HELP a A.\n# TYPE a gauge\na{le="1"} 1\n', 'le label on a gauge'],
    [
      'a counter clashing with a family',
      `${ok}# HELP a A.\n# TYPE a gauge\na 1\n`,
      'a_total: clashes with the family a'
    ]
  ])('flags %s', (_what, text, problem) => {
    expect(lintExposition(text).join('\n')).toContain(problem)
  })
})
