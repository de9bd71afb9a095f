import { createHash, randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ClusterNode,
  introduce,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'

/**
 * `Idempotency-Key` and the lists' pages through real HTTP against a running node (its own SQLite
 * file, key ring, libp2p, the local chain) that shares with a second node it has met.
 */

let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
let key: string

beforeAll(async () => {
  cluster = await startLocalCluster({
    names: ['A', 'B'],
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 1000, burst: 1000 }
  })
  a = cluster.nodes[0] as ClusterNode
  b = cluster.nodes[1] as ClusterNode
  await introduce(a, b)
  key = a.node.apiKeys.create({ name: 'idempotency', scopes: ['share', 'read'] }).key
})
afterAll(async () => {
  await cluster?.stop()
})

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: Record<string, unknown>
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  /** null: no X-API-Key at all. */
  apiKey: string | null = key
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey !== null ? { 'x-api-key': apiKey } : {}),
      ...headers
    },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {}
  return { status: res.status, headers: res.headers, text, json }
}

const sharesOf = (dataHash: string) =>
  (
    a.node.store.db.prepare('SELECT count(*) AS n FROM shares WHERE data_hash = ?').get(dataHash) as {
      n: number
    }
  ).n

function fresh(): { body: { data: string; recipient: string }; dataHash: string } {
  const data = `idempotent ${randomBytes(8).toString('hex')}`
  return {
    body: { data, recipient: b.peerId },
    dataHash: createHash('sha256').update(data).digest('hex')
  }
}

describe('grouped acceptance over HTTP', () => {
  it('commits concurrent POSTs in fewer transactions than shares, each answered with its own share and kept key', async () => {
    const n = 40
    const requests = Array.from({ length: n }, (_, i) => ({
      ...fresh(),
      // Every other request with a fresh key: its answer is kept in its share's transaction.
      idem: i % 2 === 0 ? { 'idempotency-key': `grouped-${i}-${randomBytes(6).toString('hex')}` } : undefined
    }))
    // Connections open first, as a client's pool keeps them: the server accepts one new connection
    // per turn of its event loop, while requests on open connections arrive together.
    await Promise.all(requests.map(async () => (await fetch(`${a.externalUrl}/health`)).text()))
    const before = a.node.p2p.acceptanceStats()
    const answers = await Promise.all(
      requests.map((r, i) =>
        post(`${a.externalUrl}/${i % 4 < 2 ? 'share_data' : 'v1/shares'}`, r.body, r.idem)
      )
    )
    const after = a.node.p2p.acceptanceStats()
    expect(answers.map((r) => r.status)).toEqual(Array(n).fill(201))
    expect(after.committed - before.committed).toBe(n)
    expect(after.commits - before.commits).toBeLessThan(n)
    // /share_data answers the anchor's flat fields, /v1/shares the share resource.
    const shareOf = (json: Record<string, unknown>) =>
      (json['share'] as { id: string; data_hash: string } | undefined) ?? {
        id: json['share_id'] as string,
        data_hash: json['data_hash'] as string
      }
    const ids = answers.map((r) => shareOf(r.json).id)
    expect(new Set(ids).size).toBe(n)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
    requests.forEach((r, i) => {
      expect(shareOf(answers[i]?.json ?? {}).data_hash).toBe(r.dataHash)
      expect(sharesOf(r.dataHash)).toBe(1)
      const kept = a.node.store.db
        .prepare('SELECT status, body FROM idempotency_keys WHERE key = ?')
        .get(r.idem?.['idempotency-key'] ?? '') as { status: number; body: Uint8Array } | undefined
      if (r.idem) {
        // The kept bytes are the very bytes the client was answered.
        expect(kept?.status).toBe(201)
        expect(Buffer.from(kept?.body ?? []).toString()).toBe(answers[i]?.text)
      } else expect(kept).toBeUndefined()
    })
  })
})

describe('Idempotency-Key on POST /share_data', () => {
  it('turns 20 concurrent requests with one key into one share, and all 20 answer its id', async () => {
    const { body, dataHash } = fresh()
    const idem = { 'idempotency-key': `concurrent-${randomBytes(6).toString('hex')}` }
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(`${a.externalUrl}/share_data`, body, idem))
    )
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(201))
    const ids = new Set(answers.map((r) => r.json['share_id']))
    expect(ids.size).toBe(1)
    expect([...ids][0]).toMatch(/^[0-9a-f]{32}$/)
    expect(new Set(answers.map((r) => r.text)).size).toBe(1)
    // One answer ran; the other 19 are the same answer, marked replayed.
    expect(answers.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19)
    expect(sharesOf(dataHash)).toBe(1)
  })

  it('answers a retry after the first completed with the same status and body, marked replayed', async () => {
    const { body, dataHash } = fresh()
    const idem = { 'idempotency-key': 'retry-after-timeout' }
    const first = await post(`${a.externalUrl}/share_data`, body, idem)
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const again = await post(`${a.externalUrl}/share_data`, body, idem)
    expect(again.status).toBe(201)
    expect(again.text).toBe(first.text)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('content-type')).toMatch(/^application\/json/)
    expect(sharesOf(dataHash)).toBe(1)
  })

  it('refuses the same key with another body with 422 idempotency_key_reused, and shares nothing', async () => {
    const first = fresh()
    const other = fresh()
    const idem = { 'idempotency-key': 'one-key-two-bodies' }
    expect((await post(`${a.externalUrl}/share_data`, first.body, idem)).status).toBe(201)
    const reused = await post(`${a.externalUrl}/share_data`, other.body, idem)
    expect(reused.status).toBe(422)
    expect(reused.json).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key' })
    expect(sharesOf(other.dataHash)).toBe(0)
    // The body's bytes are the request: the same JSON written otherwise is another request.
    const respaced = await post(`${a.externalUrl}/share_data`, JSON.stringify(first.body, null, 2), idem)
    expect(respaced.json['code']).toBe('idempotency_key_reused')
    // And so is the same body on another path.
    const elsewhere = await post(`${a.externalUrl}/v1/shares`, first.body, idem)
    expect(elsewhere.json['code']).toBe('idempotency_key_reused')
  })

  it('keeps keys apart per API key: another key with the same Idempotency-Key makes its own share', async () => {
    const { body, dataHash } = fresh()
    const other = a.node.apiKeys.create({ name: 'idempotency other', scopes: ['share'] }).key
    const idem = { 'idempotency-key': 'shared-by-two-clients' }
    const mine = await post(`${a.externalUrl}/share_data`, body, idem)
    const theirs = await post(`${a.externalUrl}/share_data`, body, idem, other)
    expect([mine.status, theirs.status]).toEqual([201, 201])
    expect(theirs.headers.get('idempotent-replayed')).toBeNull()
    expect(theirs.json['share_id']).not.toBe(mine.json['share_id'])
    expect(sharesOf(dataHash)).toBe(2)
  })

  it('refuses a key that is not 1 to 255 printable ASCII characters with 422 idempotency_key_invalid', async () => {
    const { body, dataHash } = fresh()
    for (const bad of ['k'.repeat(256), 'tab\tinside']) {
      const r = await post(`${a.externalUrl}/share_data`, body, { 'idempotency-key': bad })
      expect(r.status).toBe(422)
      expect(r.json).toMatchObject({ code: 'idempotency_key_invalid', field: 'Idempotency-Key' })
    }
    expect(sharesOf(dataHash)).toBe(0)
    const longest = await post(`${a.externalUrl}/share_data`, body, { 'idempotency-key': '~'.repeat(255) })
    expect(longest.status).toBe(201)
  })

  it('answers a request without a valid API key 401 as without the header, and keeps nothing for it', async () => {
    const { body, dataHash } = fresh()
    const idem = { 'idempotency-key': 'no-api-key' }
    const missing = await post(`${a.externalUrl}/share_data`, body, idem, null)
    expect(missing.status).toBe(401)
    expect(missing.json['code']).toBe('api_key_missing')
    const bad = await post(
      `${a.externalUrl}/share_data`,
      body,
      { 'idempotency-key': 'k'.repeat(300) },
      'dmn_x'
    )
    expect(bad.status).toBe(401)
    expect(sharesOf(dataHash)).toBe(0)
    // The key string is still free for the client that holds an API key.
    const mine = await post(`${a.externalUrl}/share_data`, body, idem)
    expect(mine.status).toBe(201)
    expect(mine.headers.get('idempotent-replayed')).toBeNull()
  })

  it('keeps a validation failure, but runs again after an answer that depends on the node state', async () => {
    const idem = { 'idempotency-key': 'invalid-body' }
    const invalid = { data: 'x', recipient: 'nobody' }
    const first = await post(`${a.externalUrl}/share_data`, invalid, idem)
    expect(first.status).toBe(422)
    const again = await post(`${a.externalUrl}/share_data`, invalid, idem)
    expect(again.text).toBe(first.text)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    // So is a body that is no JSON, as the anchor's path answers it.
    const broken = { 'idempotency-key': 'broken-json' }
    const notJson = await post(`${a.externalUrl}/share_data`, '{"data": ', broken)
    expect(notJson.status).toBe(422)
    expect(notJson.json['code']).toBe('malformed_json')
    const notJsonAgain = await post(`${a.externalUrl}/share_data`, '{"data": ', broken)
    expect(notJsonAgain.text).toBe(notJson.text)
    expect(notJsonAgain.headers.get('idempotent-replayed')).toBe('true')

    // A refusal that depends on the node's state (B denied, until the operator allows it again).
    const denied = await post(`${a.internalUrl}/peers/${b.peerId}/deny`, '', {}, null)
    expect(denied.status).toBe(200)
    const refusedBody = { data: 'y', recipient: b.peerId }
    const later = { 'idempotency-key': 'denied-recipient' }
    try {
      const refused = await post(`${a.externalUrl}/share_data`, refusedBody, later)
      expect(refused.status).toBe(422)
      expect(refused.json['code']).toBe('request_refused')
      const retried = await post(`${a.externalUrl}/share_data`, refusedBody, later)
      expect(retried.json['code']).toBe('request_refused')
      expect(retried.headers.get('idempotent-replayed')).toBeNull()
    } finally {
      expect((await post(`${a.internalUrl}/peers/${b.peerId}/allow`, '', {}, null)).status).toBe(200)
    }
    // Allowed again, the same key and body now make the share: the refusal pinned nothing.
    const shared = await post(`${a.externalUrl}/share_data`, refusedBody, later)
    expect(shared.status).toBe(201)
  })

  it('replays POST /v1/shares with its Location, and leaves requests without a key alone', async () => {
    const { body, dataHash } = fresh()
    const idem = { 'idempotency-key': 'v1-create' }
    const first = await post(`${a.externalUrl}/v1/shares`, body, idem)
    expect(first.status).toBe(201)
    const again = await post(`${a.externalUrl}/v1/shares`, body, idem)
    expect(again.status).toBe(201)
    expect(again.text).toBe(first.text)
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(again.headers.get('location')).toMatch(/^\/v1\/shares\/[0-9a-f]{32}$/)
    expect(sharesOf(dataHash)).toBe(1)
    await post(`${a.externalUrl}/v1/shares`, body)
    expect(sharesOf(dataHash)).toBe(2)
  })

  it('makes the internal API POSTs idempotent too: one API key for one Idempotency-Key', async () => {
    const before = a.node.apiKeys.list().length
    const idem = { 'idempotency-key': 'create-api-key' }
    const created = await Promise.all(
      Array.from({ length: 5 }, () =>
        post(`${a.internalUrl}/api-keys`, { name: 'once', scopes: ['read'] }, idem, null)
      )
    )
    expect(created.map((r) => r.status)).toEqual(Array(5).fill(201))
    expect(new Set(created.map((r) => r.json['id'])).size).toBe(1)
    expect(a.node.apiKeys.list().length).toBe(before + 1)
    const rotated = await post(
      `${a.internalUrl}/keyring/rotate`,
      '',
      { 'idempotency-key': 'rotate' },
      undefined
    )
    const replayed = await post(
      `${a.internalUrl}/keyring/rotate`,
      '',
      { 'idempotency-key': 'rotate' },
      undefined
    )
    expect(rotated.status).toBe(200)
    expect(replayed.text).toBe(rotated.text)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
  })
})

describe('the OpenAPI documents', () => {
  it("name Idempotency-Key on every POST, Idempotent-Replayed on their 2xx answers, and the lists' after", async () => {
    for (const url of [a.externalUrl, a.internalUrl]) {
      const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: { $ref?: string; name?: string }[]
              responses: Record<string, { headers?: object }>
            }
          >
        >
        components: { parameters: Record<string, { name: string; in: string }> }
      }
      expect(doc.components.parameters['IdempotencyKey']).toMatchObject({
        name: 'Idempotency-Key',
        in: 'header'
      })
      const posts = Object.values(doc.paths).flatMap((item) => (item['post'] ? [item['post']] : []))
      expect(posts.length).toBeGreaterThan(0)
      for (const post of posts) {
        expect(post.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' })
        const ok = Object.entries(post.responses).filter(([status]) => status.startsWith('2'))
        for (const [, response] of ok) expect(response.headers).toHaveProperty('Idempotent-Replayed')
      }
    }
    const external = (await (await fetch(`${a.externalUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: { name?: string }[] }>>
    }
    for (const path of ['/v1/shares', '/v1/audit']) {
      const names = external.paths[path]?.['get']?.parameters?.map((p) => p.name)
      expect(names).toEqual(expect.arrayContaining(['limit', 'after']))
    }
  })
})

describe('pages of /v1/shares', () => {
  const list = async (query: string) => {
    const res = await fetch(`${a.externalUrl}/v1/shares${query}`, { headers: { 'x-api-key': key } })
    return { status: res.status, json: (await res.json()) as Record<string, unknown> }
  }

  it('yields every share once when paged with a small limit, also while shares are added', async () => {
    for (let i = 0; i < 7; i++)
      expect((await post(`${a.externalUrl}/share_data`, fresh().body)).status).toBe(201)
    const total = (
      a.node.store.db.prepare('SELECT count(*) AS n FROM shares').get() as {
        n: number
      }
    ).n
    const seen: string[] = []
    let after: string | null = null
    let pages = 0
    do {
      const page = await list(`?limit=3${after === null ? '' : `&after=${after}`}`)
      expect(page.status).toBe(200)
      const shares = page.json['shares'] as { id: string }[]
      expect(shares.length).toBeLessThanOrEqual(3)
      seen.push(...shares.map((s) => s.id))
      after = page.json['next_after'] as string | null
      // A share added between pages is newer than every cursor: it never shows up further on.
      if (pages === 0) expect((await post(`${a.externalUrl}/share_data`, fresh().body)).status).toBe(201)
      pages++
    } while (after !== null)
    expect(seen.length).toBe(total)
    expect(new Set(seen).size).toBe(total)
    expect(pages).toBe(Math.ceil(total / 3))
  })

  it('refuses an unknown query parameter and a cursor that is not one with 422', async () => {
    const misspelt = await list('?limt=3')
    expect(misspelt.status).toBe(422)
    expect(misspelt.json).toMatchObject({ code: 'unknown_query_parameter', field: 'limt' })
    const badCursor = await list('?after=not-a-cursor')
    expect(badCursor.status).toBe(422)
    expect(badCursor.json).toMatchObject({ code: 'validation_failed', field: 'after' })
  })
})

/** Follows `next_after` from the first page of `url` (which takes `limit`) to the last; every page's items. */
async function pageThrough(
  url: string,
  field: string,
  limit: number,
  headers: Record<string, string> = {}
): Promise<{ items: unknown[]; pages: number }> {
  const items: unknown[] = []
  let after: string | null = null
  let pages = 0
  do {
    const sep = url.includes('?') ? '&' : '?'
    const res = await fetch(`${url}${sep}limit=${limit}${after === null ? '' : `&after=${after}`}`, {
      headers
    })
    expect(res.status).toBe(200)
    const json = (await res.json()) as Record<string, unknown>
    const page = json[field] as unknown[]
    expect(page.length).toBeLessThanOrEqual(limit)
    items.push(...page)
    after = json['next_after'] as string | null
    pages++
    // A cursor that does not move on would page forever.
    if (pages > 500) throw new Error(`${url} did not reach its last page in 500 pages; last cursor ${after}`)
  } while (after !== null)
  return { items, pages }
}

describe('pages of /v1/audit and of the internal lists', () => {
  it('pages /v1/audit by place on chain: the pages together are the whole history, in order', async () => {
    const headers = { 'x-api-key': key }
    const whole = async () => {
      const res = await fetch(`${a.externalUrl}/v1/audit?limit=1000`, { headers })
      return ((await res.json()) as { history: unknown[] }).history
    }
    // The shares made above are confirmed on the local chain and indexed a moment later.
    const deadline = Date.now() + 30_000
    let all = await whole()
    while (all.length < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      all = await whole()
    }
    expect(all.length).toBeGreaterThanOrEqual(6)
    const paged = (await pageThrough(`${a.externalUrl}/v1/audit`, 'history', 4, headers)).items.map((e) =>
      JSON.stringify(e)
    )
    const after = (await whole()).map((e) => JSON.stringify(e))
    // Each event once, in the history's order; an event indexed while paging is newer than every
    // cursor, so it is on no page or on the first, and every event indexed before paging is on one.
    expect(new Set(paged).size).toBe(paged.length)
    expect(paged).toEqual(after.filter((e) => paged.includes(e)))
    for (const e of all) expect(paged).toContain(JSON.stringify(e))
    const typed = await pageThrough(`${a.externalUrl}/v1/audit?filters=data_share`, 'history', 2, headers)
    expect(typed.items.length).toBeGreaterThan(0)
    expect(typed.items.every((e) => (e as { event_type: string }).event_type === 'data_share')).toBe(true)
    const unknown = await fetch(`${a.externalUrl}/v1/audit?page=2`, { headers })
    expect(unknown.status).toBe(422)
    expect(await unknown.json()).toMatchObject({ code: 'unknown_query_parameter', field: 'page' })
  })

  it('pages /api-keys, /outbox, /peers and /webhooks: each item once, and unknown parameters refused', async () => {
    for (let i = 0; i < 5; i++) a.node.apiKeys.create({ name: `page ${i}`, scopes: ['read'] })
    const keys = await pageThrough(`${a.internalUrl}/api-keys`, 'api_keys', 2)
    const ids = keys.items.map((k) => (k as { id: string }).id)
    expect(ids).toEqual(a.node.apiKeys.list().map((k) => k.id))

    const outboxRows = (
      a.node.store.db.prepare('SELECT count(*) AS n FROM outbox').get() as {
        n: number
      }
    ).n
    const outbox = await pageThrough(`${a.internalUrl}/outbox`, 'entries', 3)
    const entryIds = outbox.items.map((e) => (e as { id: number }).id)
    expect(new Set(entryIds).size).toBe(entryIds.length)
    // Newest first; entries queued while paging are newer than every cursor.
    expect(entryIds).toEqual([...entryIds].sort((x, y) => y - x))
    expect(entryIds.length).toBeGreaterThanOrEqual(outboxRows)

    const everyPeer = await pageThrough(`${a.internalUrl}/peers`, 'peers', 1000)
    const peers = await pageThrough(`${a.internalUrl}/peers`, 'peers', 1)
    expect(peers.items).toHaveLength(everyPeer.items.length)
    expect(peers.items.map((p) => (p as { peer_id: string }).peer_id)).toContain(b.peerId)
    expect(peers.pages).toBe(Math.max(1, everyPeer.items.length))

    // Subscriptions (to a receiver that is not there: their deliveries just wait), one per key.
    for (let i = 0; i < 3; i++) {
      const body = { url: `http://127.0.0.1:9/hook/${i}`, event_types: ['share.'] }
      const idem = { 'idempotency-key': `webhook-${i}` }
      const created = await post(`${a.internalUrl}/webhooks`, body, idem, null)
      expect(created.status).toBe(201)
      const again = await post(`${a.internalUrl}/webhooks`, body, idem, null)
      expect(again.text).toBe(created.text)
    }
    const hooks = await pageThrough(`${a.internalUrl}/webhooks`, 'webhooks', 2)
    expect(hooks.items.map((w) => (w as { url: string }).url)).toEqual(
      [0, 1, 2].map((i) => `http://127.0.0.1:9/hook/${i}`)
    )
    expect(hooks.pages).toBe(2)

    for (const path of [
      '/api-keys?offset=1',
      '/outbox?status=failed',
      '/peers?healthy=true&sort=id',
      '/webhooks?page=1'
    ]) {
      const res = await fetch(`${a.internalUrl}${path}`)
      expect(res.status).toBe(422)
      expect(((await res.json()) as { code: string }).code).toBe('unknown_query_parameter')
    }
  })
})
