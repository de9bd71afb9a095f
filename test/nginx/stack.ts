import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { configSchema } from '../../config/index.ts'
import { type NginxHarnessInit, type RunningNginx, startNginx } from '../../nginx/harness.ts'
import { ApiServer } from '../../api/server.ts'
import type { ApiKeyScope } from '../../node/core/ports.ts'
import { createNode, type DmnNode } from '../../node/main.ts'
import type { Target } from './client.ts'

/**
 * A real node (its own SQLite file, key ring, libp2p on loopback, embedded chain) whose
 * external API trusts X-Forwarded-For from 127.0.0.1 only, with real nginx in front of it, the
 * certificate made by scripts/tls-certs.sh with a local CA. Everything lives in one temp dir.
 */

export const SERVER_NAME = 'dmn.test'
const SCRIPT = join(import.meta.dirname, '../../scripts/tls-certs.sh')

export interface Stack {
  readonly node: DmnNode
  readonly nginx: RunningNginx
  readonly https: Target
  readonly http: Target
  readonly certDir: string
  /** The node's external API without nginx. */
  readonly direct: Target
  readonly bodyLimitBytes: number
  apiKey(scopes: ApiKeyScope[]): string
  /** Starts another nginx from the same template, in front of `upstreamPort`. */
  startNginx(init: Partial<NginxHarnessInit> & { readonly upstreamPort: number }): Promise<RunningNginx>
  /** Another API over the same node with other settings (stopped with the stack). */
  startApi(overrides: { readonly trustedProxies: string[] }): Promise<{ readonly port: number }>
  /** Security log entries of `kind` appended after `afterSeq`, with their detail parsed. */
  securityLog(kind: string, afterSeq: number): Record<string, unknown>[]
  securityLogHead(): number
  stop(): Promise<void>
}

export async function startStack(opts: {
  nodeRateLimit: { perSecond: number; burst: number }
}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-nginx-stack-'))
  const stoppers: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const certDir = join(dir, 'tls')
    execFileSync('bash', [SCRIPT, '--ca', '--out', certDir, '--san', '127.0.0.1', SERVER_NAME], {
      stdio: 'pipe'
    })
    const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8')
    const config = configSchema.parse({
      dataDir: join(dir, 'node'),
      masterPassword: 'nginx harness master password',
      logLevel: 'silent',
      crypto: { signingKeyBits: 2048, encryptionKeyBits: 2048 },
      p2p: { host: '127.0.0.1', port: 0 },
      api: {
        trustedProxies: ['127.0.0.1'],
        internal: { host: '127.0.0.1', port: 0 },
        external: { host: '127.0.0.1', port: 0, rateLimit: opts.nodeRateLimit }
      }
    })
    const logger = pino({ level: 'silent' })
    const node = createNode({ config, logger })
    stoppers.push(() => node.stop())
    await node.start()
    const nginxWith = async (init: Partial<NginxHarnessInit> & { readonly upstreamPort: number }) => {
      const running = await startNginx({
        serverName: SERVER_NAME,
        certificate: join(certDir, `${SERVER_NAME}.fullchain.pem`),
        certificateKey: join(certDir, `${SERVER_NAME}.key`),
        ...init
      })
      stoppers.push(() => running.stop())
      return running
    }
    const nginx = await nginxWith({ upstreamPort: node.api.listening.external.port })
    return {
      node,
      nginx,
      certDir,
      https: { port: nginx.httpsPort, tls: { ca, servername: SERVER_NAME } },
      http: { port: nginx.httpPort },
      direct: { port: node.api.listening.external.port },
      bodyLimitBytes: config.api.bodyLimitBytes,
      apiKey: (scopes) => node.apiKeys.create({ name: 'nginx-test', scopes }).key,
      startNginx: nginxWith,
      async startApi(overrides) {
        const api = new ApiServer(node.apiPorts, { config: { ...config.api, ...overrides } })
        stoppers.push(() => api.stop())
        await api.start()
        return { port: api.listening.external.port }
      },
      securityLog: (kind, afterSeq) =>
        node.audit.securityLog
          .list({ afterSeq, kind, limit: 1000 })
          .map((row) => JSON.parse(row.detail) as Record<string, unknown>),
      securityLogHead: () =>
        (
          node.store.db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM security_log').get() as {
            seq: number
          }
        ).seq,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
