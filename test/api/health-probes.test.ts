import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { API_VERSION } from '../../api/deps.ts'
import { ApiServer } from '../../api/server.ts'
import { createHarness } from '../../api/test-support/fakes.ts'
import { configSchema } from '../../config/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import { StoreService } from '../../node/store/store-service.ts'

/** Calls `read` until `done` holds for its result, for at most `ms`; returns that result. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms; last: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('GET /health over a real database', () => {
  it('turns unhealthy once the database stops answering, though its report is reused, and healthy again once it answers', async () => {
    const h = createHarness()
    const dir = mkdtempSync(join(tmpdir(), 'dmn-health-'))
    const store = new StoreService(
      { logger: createLogger({ level: 'silent' }) },
      { dataDir: dir, synchronous: 'FULL', busyTimeoutMs: 1_000 }
    )
    store.start()
    const ports = {
      ...h.ports,
      health: [store.healthProbe(), ...h.ports.health.filter((probe) => probe.name !== 'database')]
    }
    const config = configSchema.parse({
      api: { internal: { host: '127.0.0.1', port: 0 }, external: { host: '127.0.0.1', port: 0 } }
    }).api
    const server = new ApiServer(ports, { config, drainMs: 200 })
    await server.start()
    const get = async (api: 'internal' | 'external') => {
      const res = await fetch(`${server.listening[api].url}/health`)
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
        cacheControl: res.headers.get('cache-control')
      }
    }
    try {
      expect(await get('external')).toMatchObject({ status: 200, body: { status: 'healthy' } })
      expect((await get('internal')).status).toBe(200)
      store.stop()
      const down = await until(
        () => get('external'),
        (r) => r.status === 503
      )
      expect(down.body).toEqual({
        status: 'unhealthy',
        p2p: { running: true, peers: 1 },
        version: API_VERSION
      })
      expect(down.cacheControl).toBe('no-store')
      const internal = await until(
        () => get('internal'),
        (r) => r.status === 503
      )
      expect(internal.body['components']).toMatchObject({
        database: { status: 'down', detail: { error: 'Error' } }
      })
      store.start()
      await until(
        () => get('external'),
        (r) => r.status === 200
      )
    } finally {
      await server.stop()
      store.stop()
      h.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
