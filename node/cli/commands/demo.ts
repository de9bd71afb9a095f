import type { Command } from 'commander'
import { pino } from 'pino'
import { RpcClient } from '../../audit/rpc-client.ts'
import { receiptHash } from '../../core/receipt.ts'
import type { CliContext } from '../context.ts'
import { type ClusterNode, introduce, type LocalCluster, startLocalCluster } from './demo-cluster.ts'

/**
 * `dmn demo`: a local chain and two nodes in temporary directories; a record goes from A to B
 * through A's external API, B decrypts it, and the audit is verified on chain. Everything it starts
 * is stopped and every directory removed at the end, also on Ctrl-C.
 */
export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a local chain and two nodes, share a record end to end, then clean up')
    .option('--logs', 'also write the nodes’ JSON logs to stderr')
    .action(async (opts: { logs?: boolean }) => {
      const controller = new AbortController()
      const onSignal = (signal: NodeJS.Signals) => {
        if (controller.signal.aborted) process.exit(130)
        ctx.print(`\n${signal}: stopping the nodes and the chain, removing temporary files ...`)
        controller.abort(new DemoInterruptedError(signal))
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      try {
        await runDemo({ print: ctx.print, logs: opts.logs ?? false, signal: controller.signal })
      } catch (err) {
        if (controller.signal.aborted) {
          // Everything is stopped and removed by now; 130 is the shell's code for an interrupted command.
          ctx.print('stopped; nothing left behind')
          process.exit(130)
        }
        throw err
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    })
}

class DemoInterruptedError extends Error {
  override name = 'DemoInterruptedError'
  constructor(signal: string) {
    super(`interrupted by ${signal}`)
  }
}

export interface DemoInit {
  readonly print: (line: string) => void
  readonly logs: boolean
  readonly signal: AbortSignal
}

// Continuation lines line up under the text of the numbered steps.
const INDENT = ' '.repeat(17)

export async function runDemo({ print, logs, signal }: DemoInit): Promise<void> {
  const started = performance.now()
  const logger = logs ? pino({ level: 'info' }, pino.destination(2)) : pino({ level: 'silent' })
  const step = (n: number, title: string, text: string) =>
    print(`${String(n).padStart(2)}. ${title.padEnd(13)}${text}`)
  print('DataMgmt Node demo: two nodes share a record end to end, audited on a local chain\n')
  let cluster: LocalCluster | undefined
  let cleaned = ''
  const onAbort = () => {
    void cluster?.stop()
  }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    cluster = await startLocalCluster({
      names: ['A', 'B'],
      logger,
      signal,
      onStep: (kind, d) => {
        if (kind === 'directory') {
          print(`Temporary directory ${d['path']} (removed at the end)\n`)
        } else if (kind === 'chain') {
          step(1, 'Local chain', `anvil at ${d['url']}; AuditTrail contract ${d['contract']}`)
        } else {
          step(d['name'] === 'A' ? 2 : 3, `Node ${d['name']}`, `PeerId ${d['peerId']}`)
          print(`${INDENT}external API ${d['external']}, internal API ${d['internal']}`)
        }
      }
    })
    cleaned = cluster.rootDir
    const [a, b] = cluster.nodes as [ClusterNode, ClusterNode]

    await introduce(a, b)
    step(4, 'Connect', 'A dialled B over libp2p (TCP, Noise, Yamux); node certificates exchanged and pinned')

    const created = await call(`${a.internalUrl}/api-keys`, signal, 'POST', {
      name: 'demo',
      scopes: ['share', 'read']
    })
    const key = created['key'] as string
    step(
      5,
      'API key',
      `created on A's internal API: id ${created['id']}, scopes share+read (shown once, stored hashed)`
    )

    const data = `Quarterly figures for B, sent ${new Date().toISOString()}`
    const shared = await call(
      `${a.externalUrl}/share_data`,
      signal,
      'POST',
      { data, recipient: b.peerId },
      key
    )
    const shareId = shared['share_id'] as string
    const dataHash = shared['data_hash'] as string
    step(6, 'Share', `POST ${a.externalUrl}/share_data -> 201`)
    print(`${INDENT}share_id ${shareId}`)
    print(`${INDENT}data_hash ${dataHash} (SHA-256 of the plaintext)`)

    await poll(signal, async () => {
      const s = (await call(`${a.externalUrl}/v1/shares/${shareId}`, signal, 'GET', undefined, key))[
        'share'
      ] as {
        status: { delivery: string }
      }
      return s.status.delivery === 'delivered' || undefined
    })
    const receipt = a.node.p2p.getShare(shareId).receipt
    step(
      7,
      'Delivered',
      'sealed for B (RSA-OAEP + Fernet, signed RSA-PSS), sent over libp2p; B checked and stored it'
    )
    if (!receipt) throw new Error('the share is delivered but A holds no receipt')
    const hash = Buffer.from(receiptHash(receipt.body)).toString('hex')
    print(`${INDENT}B's signed receipt is back at A: receipt hash ${hash}`)

    const keyB = (
      await call(`${b.internalUrl}/api-keys`, signal, 'POST', { name: 'demo', scopes: ['read'] })
    )['key'] as string
    const onB = await call(`${b.externalUrl}/data/${dataHash}`, signal, 'GET', undefined, keyB)
    const same = onB['data'] === data
    step(8, 'Read on B', `GET ${b.externalUrl}/data/<hash> -> "${String(onB['data'])}"`)
    print(
      `${INDENT}${same ? 'identical to what A sent' : 'DIFFERENT from what A sent'} (${onB['size_bytes']} bytes, decrypted from B's own store)`
    )
    if (!same) throw new Error('B returned different data')

    const audited = await poll(signal, async () => {
      const s = (await call(`${a.externalUrl}/v1/shares/${shareId}`, signal, 'GET', undefined, key))[
        'share'
      ] as {
        status: { audit: string }
        tx_hash: string | null
      }
      return s.status.audit === 'confirmed' && s.tx_hash ? s.tx_hash : undefined
    })
    step(9, 'On chain', `the receipt's audit event is confirmed: tx ${audited}`)

    const verified = await poll(signal, async () => {
      const v = await call(`${a.externalUrl}/verify_data/${dataHash}`, signal, 'GET', undefined, key)
      return v['verified'] === true ? v : undefined
    })
    const evidence = verified['evidence'] as { tx_hash: string; block_number: number }
    const rpc = new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
    const chainReceipt = await rpc.call<{ status: string }>('eth_getTransactionReceipt', [evidence.tx_hash], {
      signal
    })
    step(
      10,
      'Verified',
      `GET /verify_data/<hash> -> verified ${verified['verified']}, event ${verified['event_type']}`
    )
    print(
      `${INDENT}evidence: tx ${evidence.tx_hash}, block ${evidence.block_number}; the chain reports status ${chainReceipt.status === '0x1' ? 'success' : chainReceipt.status}`
    )
  } finally {
    signal.removeEventListener('abort', onAbort)
    await cluster?.stop()
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  print(`\nDone in ${seconds} s. Stopped both nodes and the chain${cleaned ? `; removed ${cleaned}` : ''}.`)
}

async function call(
  url: string,
  signal: AbortSignal,
  method: 'GET' | 'POST',
  body?: unknown,
  key?: string
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (key) headers['x-api-key'] = key
  const res = await fetch(url, {
    method,
    headers,
    signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const json = (await res.json()) as Record<string, unknown>
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`)
  return json
}

async function poll<T>(
  signal: AbortSignal,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    signal.throwIfAborted()
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`no result within ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
