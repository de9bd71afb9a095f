import { describe, expect, it } from 'vitest'
import { ApiServer } from '../../api/server.ts'
import { createHarness } from '../../api/test-support/fakes.ts'
import { configSchema } from '../../config/index.ts'

const apiConfig = () =>
  configSchema.parse({
    api: { internal: { host: '127.0.0.1', port: 0 }, external: { host: '127.0.0.1', port: 0 } }
  }).api

describe('API server lifecycle', () => {
  it('ends live event streams and closes both ports on stop', async () => {
    const h = createHarness()
    const server = new ApiServer(h.ports, { config: apiConfig(), drainMs: 2_000 })
    await server.start()
    const { internal, external } = server.listening
    try {
      const res = await fetch(`${internal.url}/events`)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      expect(first).toContain('event: ready')
      await server.stop()
      // The stream ends instead of holding the stop until the drain timeout.
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }))
        if (done) break
      }
      await expect(fetch(`${external.url}/health`)).rejects.toThrow()
      await expect(fetch(`${internal.url}/health`)).rejects.toThrow()
    } finally {
      await server.stop()
      h.close()
    }
  })

  it('refuses to start on a port that is taken, and leaves nothing listening', async () => {
    const h = createHarness()
    const first = new ApiServer(h.ports, { config: apiConfig() })
    await first.start()
    const taken = configSchema.parse({
      api: {
        internal: { host: '127.0.0.1', port: 0 },
        external: { host: '127.0.0.1', port: first.listening.external.port }
      }
    }).api
    const second = new ApiServer(h.ports, { config: taken })
    try {
      await expect(second.start()).rejects.toMatchObject({ name: 'ApiListenError' })
      expect(() => second.listening).toThrow()
    } finally {
      await first.stop()
      h.close()
    }
  })
})
