import type { ChildProcess } from 'node:child_process'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { parseLog } from '../../node/audit/contract.ts'
import type { RpcClient } from '../../node/audit/rpc-client.ts'
import { spawnCli, waitForExit } from '../helpers/cli.ts'
import { waitFor } from './helpers.ts'

/** A node as an operator runs it (`dmn start` in a process of its own), with small RSA keys. */

export const NODE_ENV: Readonly<Record<string, string>> = {
  DMN_MASTER_PASSWORD: 'correct horse battery staple',
  DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
  DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
  DMN_P2P_HOST: '127.0.0.1',
  DMN_API_EXTERNAL_HOST: '127.0.0.1',
  DMN_LOG_LEVEL: 'info'
}

/** Fixed free ports for p2p and both APIs, so that a restarted node answers where it did. */
export async function nodePorts(): Promise<Record<string, string>> {
  const [p2p, internal, external] = await Promise.all([freePort(), freePort(), freePort()])
  return {
    DMN_P2P_PORT: String(p2p),
    DMN_API_INTERNAL_PORT: String(internal),
    DMN_API_EXTERNAL_PORT: String(external)
  }
}

export type LogLine = Record<string, unknown>

export class NodeProcess {
  readonly child: ChildProcess
  /** Every JSON log line written to stdout so far. */
  readonly logs: LogLine[] = []
  readonly internal: string
  readonly external: string
  #stderr = ''

  constructor(env: Record<string, string>) {
    this.internal = `http://127.0.0.1:${env['DMN_API_INTERNAL_PORT']}`
    this.external = `http://127.0.0.1:${env['DMN_API_EXTERNAL_PORT']}`
    this.child = spawnCli(['start'], env)
    let buffer = ''
    this.child.stdout?.on('data', (chunk) => {
      buffer += String(chunk)
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine)
        } catch {
          // not a log line
        }
      }
    })
    this.child.stderr?.on('data', (chunk) => {
      this.#stderr += String(chunk)
    })
  }

  /** The log lines with message `msg`. */
  lines(msg: string): LogLine[] {
    return this.logs.filter((l) => l['msg'] === msg)
  }

  /** The first log line with message `msg`, once it is there. */
  async waitForLog(msg: string, timeoutMs = 90_000): Promise<LogLine> {
    await waitFor(
      () => {
        if (this.child.exitCode !== null || this.child.signalCode !== null)
          throw new Error(`node exited before "${msg}": ${this.#stderr}`)
        return this.lines(msg).length > 0
      },
      `"${msg}" in the node's log`,
      timeoutMs
    )
    return this.lines(msg)[0] as LogLine
  }

  async ready(): Promise<this> {
    await this.waitForLog('node ready')
    return this
  }

  /** SIGTERM, as an operator stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    return (await waitForExit(this.child)).code
  }

  /** A crash: SIGKILL to the node, and to its embedded chain's process group when it has one. */
  async crash(): Promise<void> {
    const chainPid = this.lines('embedded chain started')[0]?.['chainPid']
    this.child.kill('SIGKILL')
    if (typeof chainPid === 'number') {
      try {
        process.kill(-chainPid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await waitForExit(this.child)
  }
}

export async function getJson(
  url: string,
  init: RequestInit = {}
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** An API key with every scope, made through the internal API. */
export async function createApiKey(node: NodeProcess): Promise<string> {
  const r = await getJson(`${node.internal}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'test', scopes: ['admin'] })
  })
  if (r.status !== 201) throw new Error(`api key: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body['key'] as string
}

/** `POST /share_data`; the share's id and data hash. */
export async function shareData(
  node: NodeProcess,
  key: string,
  data: string,
  recipient: string
): Promise<{ shareId: string; dataHash: string }> {
  const r = await getJson(`${node.external}/share_data`, {
    method: 'POST',
    headers: { 'X-API-Key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ data, recipient })
  })
  if (r.status !== 201) throw new Error(`share: ${r.status} ${JSON.stringify(r.body)}`)
  return { shareId: r.body['share_id'] as string, dataHash: r.body['data_hash'] as string }
}

export interface OutboxRow {
  readonly id: number
  readonly kind: string
  readonly share_id: string | null
  readonly state: string
  readonly tx_hash: string | null
  readonly last_error: string | null
}

export async function outbox(node: NodeProcess): Promise<OutboxRow[]> {
  return (await getJson(`${node.internal}/outbox?limit=1000`)).body['entries'] as OutboxRow[]
}

export async function health(node: NodeProcess): Promise<{
  status: string
  components: Record<string, { status: string; detail?: Record<string, unknown> }>
}> {
  return (await getJson(`${node.internal}/health`)).body as never
}

/** How many times each share id appears in the contract's events named `event`. */
export async function eventsPerShare(
  rpc: RpcClient,
  contract: string,
  event: string,
  fromBlock = 0
): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const log of await getLogs(rpc, contract, [], fromBlock)) {
    const parsed = parseLog(log)
    if (parsed?.name !== event) continue
    const shareId = String(parsed.args['shareId']).replace(/^0x/, '').toLowerCase()
    counts.set(shareId, (counts.get(shareId) ?? 0) + 1)
  }
  return counts
}
