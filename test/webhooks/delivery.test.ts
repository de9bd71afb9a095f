import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../node/store/database.ts'
import { EventLogRepository } from '../../node/store/event-log.ts'
import { databasePath } from '../../node/store/store-service.ts'
import { waitFor } from '../audit/helpers.ts'
import { runCli } from '../helpers/cli.ts'
import { getJson, NODE_ENV, NodeProcess, nodePorts } from '../audit/node-process.ts'
import { type Arrival, ReceiverProcess } from './receiver-process.ts'

/**
 * Webhooks end to end: a node as operators run it (`dmn start`, its own process) delivering to a
 * receiver in another process that verifies every signature with `standardwebhooks`. The events
 * are the node's own: each API key made through the internal API appends one
 * `security.api_key.created` to the event log.
 */

const TYPE = 'security.api_key.created'
const dirs: string[] = []
const processes: { crash?: () => Promise<void>; stop: () => Promise<unknown> }[] = []
afterEach(async () => {
  for (const p of processes.splice(0).reverse()) await (p.crash ? p.crash() : p.stop())
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-webhooks-'))
  dirs.push(dir)
  return dir
}

function startNode(env: Record<string, string>): NodeProcess {
  const node = new NodeProcess(env)
  processes.push(node)
  return node
}

async function startReceiver(dir: string, name: string): Promise<ReceiverProcess> {
  const receiver = await ReceiverProcess.start(join(dir, `${name}.jsonl`))
  processes.push(receiver)
  return receiver
}

function forget(p: NodeProcess): void {
  processes.splice(processes.indexOf(p), 1)
}

async function post(url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
}

/** Subscribes `receiver` and hands it the secret. */
async function subscribe(node: NodeProcess, receiver: ReceiverProcess, types: string[]): Promise<string> {
  const r = await post(`${node.internal}/webhooks`, { url: receiver.url, event_types: types })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  expect(String(r.body['secret'])).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  await receiver.control('/secret', String(r.body['secret']))
  return String(r.body['id'])
}

/** Appends `n` events of TYPE to the node's log. */
async function makeEvents(node: NodeProcess, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await post(`${node.internal}/api-keys`, { name: `k${i}`, scopes: ['read'] })
    expect(r.status).toBe(201)
  }
}

async function webhook(node: NodeProcess, id: string): Promise<Record<string, unknown>> {
  const list = (await getJson(`${node.internal}/webhooks`)).body['webhooks'] as Record<string, unknown>[]
  return list.find((w) => w['id'] === id) as Record<string, unknown>
}

/** The event ids the receiver has answered 2xx for. */
const acknowledged = (arrivals: readonly Arrival[]) =>
  new Set(arrivals.filter((a) => typeof a.answer === 'number' && a.answer < 300).map((a) => a.event_id))

function checkArrivals(arrivals: readonly Arrival[], expected: readonly number[]): void {
  expect(
    arrivals.every((a) => a.verified),
    'every signature verifies'
  ).toBe(true)
  expect(arrivals.every((a) => a.type === TYPE)).toBe(true)
  const bodies = new Map<string, string>()
  for (const a of arrivals) {
    expect(a.webhook_id).toBe(`evt_${a.event_id}`)
    expect(bodies.get(a.webhook_id) ?? a.body_sha256, `one body per webhook-id (${a.webhook_id})`).toBe(
      a.body_sha256
    )
    bodies.set(a.webhook_id, a.body_sha256)
  }
  const firsts = [...new Set(arrivals.map((a) => a.event_id as number))]
  expect(firsts, 'first arrivals in event order, each event once').toEqual([...firsts].sort((x, y) => x - y))
  expect(firsts).toEqual(expected)
  expect([...acknowledged(arrivals)].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(expected)
}

describe('webhook deliveries', { timeout: 180_000 }, () => {
  it('reach a receiver in another process across its downtime, 500s, a node restart and kill -9 mid-delivery: every event, one body per webhook-id, in order, signed', async () => {
    const dir = tempDir()
    const env = {
      ...NODE_ENV,
      ...(await nodePorts()),
      DMN_DATA_DIR: join(dir, 'node'),
      DMN_WEBHOOK_BACKOFF_BASE_MS: '100',
      DMN_WEBHOOK_BACKOFF_MAX_MS: '1000',
      DMN_WEBHOOK_TIMEOUT_MS: '5000',
      DMN_WEBHOOK_RETRY_SECONDS: '600',
      DMN_WEBHOOK_POLL_INTERVAL_MS: '200'
    }
    const receiver = await startReceiver(dir, 'receiver')
    let node = await startNode(env).ready()
    const id = await subscribe(node, receiver, [TYPE])
    const start = (await webhook(node, id))['cursor'] as number
    let made = 0
    const deliveredAll = () =>
      waitFor(() => acknowledged(receiver.arrivals()).size === made, `${made} events acknowledged`, 60_000)

    await makeEvents(node, 3)
    made += 3
    await deliveredAll()

    // Down for a minute, with a node restart in the middle: the retries' state is in the database.
    await receiver.control('/listen/off')
    const downAt = Date.now()
    await makeEvents(node, 2)
    made += 2
    await waitFor(async () => ((await webhook(node, id))['attempts'] as number) >= 2, 'failed attempts')
    forget(node)
    expect(await node.stop()).toBe(0)
    node = await startNode(env).ready()
    const afterRestart = await webhook(node, id)
    expect(afterRestart).toMatchObject({ state: 'active', failing_event_id: expect.any(Number) })
    expect(afterRestart['last_error']).toMatch(/ECONNREFUSED/)
    await makeEvents(node, 1)
    made += 1
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - downAt))))
    await receiver.control('/listen/on')
    await deliveredAll()

    // Answering 500 for a while.
    await receiver.control('/mode/fail')
    const before = receiver.arrivals().length
    await makeEvents(node, 2)
    made += 2
    await waitFor(() => receiver.arrivals().filter((a) => a.answer === 500).length >= 3, 'three 500s')
    expect(receiver.arrivals().length).toBeGreaterThan(before)
    await receiver.control('/mode/ok')
    await deliveredAll()

    // kill -9 while the receiver holds a request open: the same webhook-id comes again after the restart.
    await receiver.control('/mode/hold')
    await makeEvents(node, 1)
    made += 1
    await waitFor(() => receiver.arrivals().some((a) => a.answer === 'held'), 'a request held open')
    const held = receiver.arrivals().find((a) => a.answer === 'held') as Arrival
    forget(node)
    await node.crash()
    await receiver.control('/mode/ok')
    node = await startNode(env).ready()
    await makeEvents(node, 1)
    made += 1
    await deliveredAll()
    expect(receiver.arrivals().filter((a) => a.webhook_id === held.webhook_id).length).toBeGreaterThanOrEqual(
      2
    )
    expect(await webhook(node, id)).toMatchObject({ state: 'active', attempts: 0, last_error: null })

    forget(node)
    expect(await node.stop()).toBe(0)
    const db = openDatabase(databasePath(env.DMN_DATA_DIR))
    const expected = new EventLogRepository(db).after(start, 1_000, [TYPE]).map((e) => e.id)
    db.close()
    expect(expected).toHaveLength(made)
    checkArrivals(receiver.arrivals(), expected)
  })

  it("keep a second subscription going while a receiver hangs, refuse the node's own API ports, and fail a subscription past its retry window with its last error", async () => {
    const dir = tempDir()
    const ports = await nodePorts()
    const env = {
      ...NODE_ENV,
      ...ports,
      DMN_DATA_DIR: join(dir, 'node'),
      DMN_WEBHOOK_BACKOFF_BASE_MS: '100',
      DMN_WEBHOOK_BACKOFF_MAX_MS: '500',
      DMN_WEBHOOK_TIMEOUT_MS: '60000',
      DMN_WEBHOOK_RETRY_SECONDS: '3',
      DMN_WEBHOOK_POLL_INTERVAL_MS: '200'
    }
    const hanging = await startReceiver(dir, 'hanging')
    const healthy = await startReceiver(dir, 'healthy')
    const node = await startNode(env).ready()

    for (const url of [
      `http://127.0.0.1:${ports.DMN_API_INTERNAL_PORT}/hooks`,
      `http://localhost:${ports.DMN_API_EXTERNAL_PORT}/`,
      `http://[::1]:${ports.DMN_API_INTERNAL_PORT}/`,
      `http://0.0.0.0:${ports.DMN_API_EXTERNAL_PORT}/`,
      'ftp://127.0.0.1/hooks'
    ]) {
      const r = await post(`${node.internal}/webhooks`, { url })
      expect(r.status, url).toBe(422)
      expect(r.body).toMatchObject({ code: 'webhook_url_refused', field: 'url' })
    }

    await hanging.control('/mode/hold')
    const stuck = await subscribe(node, hanging, [TYPE])
    const going = await subscribe(node, healthy, [TYPE])
    // Nothing listens there: every attempt is refused, and 3 s after the first the subscription fails.
    const closed = await startReceiver(dir, 'closed')
    const closedUrl = closed.url
    await closed.stop()
    processes.splice(processes.indexOf(closed), 1)
    const refused = await post(`${node.internal}/webhooks`, { url: closedUrl, event_types: [TYPE] })
    expect(refused.status).toBe(201)
    const failing = String(refused.body['id'])

    // Made by `dmn webhooks` on the running node's database: the node picks it up by itself.
    const viaCli = await startReceiver(dir, 'via-cli')
    const cliEnv = { ...ports, DMN_DATA_DIR: env.DMN_DATA_DIR }
    const cli = runCli(['webhooks', 'create', '--url', viaCli.url, '--types', TYPE, '--json'], cliEnv)
    expect(cli.status, cli.stderr).toBe(0)
    await viaCli.control('/secret', String((JSON.parse(cli.stdout) as Record<string, unknown>)['secret']))
    const ownPort = `http://127.0.0.1:${ports.DMN_API_INTERNAL_PORT}/`
    expect(runCli(['webhooks', 'create', '--url', ownPort], cliEnv).status).toBe(1)

    await makeEvents(node, 5)
    await waitFor(
      () => acknowledged(healthy.arrivals()).size === 5,
      'five events at the healthy receiver',
      30_000
    )
    await waitFor(
      () => acknowledged(viaCli.arrivals()).size === 5,
      'five events at the CLI-made subscription',
      30_000
    )
    expect(viaCli.arrivals().every((a) => a.verified)).toBe(true)
    // The hanging receiver still holds the first event; the other subscription did not wait for it.
    expect(hanging.arrivals().map((a) => a.answer)).toEqual(['held'])
    expect(await webhook(node, stuck)).toMatchObject({ state: 'active', attempts: 0 })
    expect(
      ((await webhook(node, going))['cursor'] as number) > ((await webhook(node, stuck))['cursor'] as number)
    ).toBe(true)

    await waitFor(
      async () => (await webhook(node, failing))['state'] === 'failed',
      'the failed state',
      30_000
    )
    const failed = await webhook(node, failing)
    expect(failed['last_error']).toMatch(/ECONNREFUSED/)
    expect(failed['failing_event_id']).toBe(hanging.arrivals()[0]?.event_id)
    expect(failed['cursor']).toBe(refused.body['cursor'])

    const resumed = await post(`${node.internal}/webhooks/${failing}/resume`)
    expect(resumed.status).toBe(200)
    expect(resumed.body).toMatchObject({ state: 'active', attempts: 0, failing_since: null })
    const paused = await post(`${node.internal}/webhooks/${failing}/pause`)
    expect(paused.body).toMatchObject({ state: 'paused' })
    const gone = await getJson(`${node.internal}/webhooks/${failing}`, { method: 'DELETE' })
    expect(gone.status).toBe(200)
    expect((await getJson(`${node.internal}/webhooks/${failing}`, { method: 'DELETE' })).status).toBe(404)
  })
})
