import type { ComponentHealth, HealthProbe } from '../node/core/ports.ts'

/** Runs every probe at once, each bounded by a timeout, and folds them into one status. */

export type OverallHealth = 'healthy' | 'degraded' | 'unhealthy'

export interface HealthReport {
  readonly status: OverallHealth
  readonly components: Readonly<Record<string, ComponentHealth>>
}

const PROBE_TIMEOUT_MS = 2_000
// Without its database the node can do nothing; any other component down leaves it degraded.
const CRITICAL = new Set(['database'])

export async function checkHealth(
  probes: readonly HealthProbe[],
  signal?: AbortSignal
): Promise<HealthReport> {
  const results = await Promise.all(
    probes.map(async (probe): Promise<[string, ComponentHealth]> => {
      const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS)
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
      try {
        const result = await Promise.race([
          probe.check({ signal: combined }),
          new Promise<never>((_, reject) => {
            combined.addEventListener('abort', () => reject(new Error('probe timed out')), { once: true })
          })
        ])
        return [probe.name, result]
      } catch (err) {
        // The reason stays in the logs of the component; the API tells only that it failed.
        return [probe.name, { status: 'down', detail: { error: err instanceof Error ? err.name : 'error' } }]
      }
    })
  )
  const components = Object.fromEntries(results)
  let status: OverallHealth = 'healthy'
  for (const [name, health] of results) {
    if (health.status === 'down' && CRITICAL.has(name)) return { status: 'unhealthy', components }
    if (health.status !== 'up') status = 'degraded'
  }
  return { status, components }
}

/** A report no older than the check's TTL: the one in hand, or a fresh one once it is due. */
export interface HealthCheck {
  (): Promise<HealthReport>
  /** The report in hand while it is within the TTL, without waiting; undefined once a check is due. */
  fresh(): HealthReport | undefined
}

/**
 * A health check whose report is reused for `ttlMs`, with one check in flight at a time: load
 * balancers and monitors poll `/health` often, and a flood of it must not become a flood of probes.
 */
export function createHealthCheck(
  probes: readonly HealthProbe[],
  init: { readonly ttlMs?: number; readonly now?: () => number } = {}
): HealthCheck {
  const ttlMs = init.ttlMs ?? 1_000
  const now = init.now ?? (() => performance.now())
  let last: { at: number; report: HealthReport } | undefined
  let inFlight: Promise<HealthReport> | undefined
  const fresh = () => (last && now() - last.at < ttlMs ? last.report : undefined)
  const check = async () => {
    const report = fresh()
    if (report) return report
    inFlight ??= checkHealth(probes)
      .then((report) => {
        last = { at: now(), report }
        return report
      })
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }
  return Object.assign(check, { fresh })
}
