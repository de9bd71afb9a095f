import { Writable } from 'node:stream'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../node/log/logger.ts'
import { currentRequestId } from '../../node/log/request-context.ts'
import type { ApiEnv } from '../context.ts'
import { accessLog } from './access-log.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  return { lines, logger: createLogger({ destination, level: 'debug' }) }
}

function app() {
  const { lines, logger } = capture()
  const hono = new Hono<ApiEnv>()
  hono.use(accessLog({ logger, api: 'external' }))
  hono.get('/work', async (c) => {
    await new Promise((r) => setTimeout(r, 1))
    return c.json({ seen: currentRequestId(), variable: c.get('requestId') })
  })
  hono.get('/health', (c) => c.json({ ok: true }))
  hono.get('/fails', () => {
    throw new Error('boom')
  })
  hono.onError((_err, c) => c.json({ error: 'x' }, 500))
  return { hono, lines }
}

describe('accessLog', () => {
  it('keeps a sane client request id, echoes it, runs the request inside it and logs one access line', async () => {
    const { hono, lines } = app()
    const res = await hono.request('/work?api_key=hunter2&x=1', {
      headers: { 'X-Request-Id': 'client-id.42' }
    })
    expect(res.headers.get('x-request-id')).toBe('client-id.42')
    expect(await res.json()).toEqual({ seen: 'client-id.42', variable: 'client-id.42' })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'http request',
      requestId: 'client-id.42',
      api: 'external',
      method: 'GET',
      path: '/work',
      status: 200
    })
    expect(typeof lines[0]?.['durationMs']).toBe('number')
    expect(JSON.stringify(lines)).not.toContain('hunter2')
  })

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'two words'],
    ['with a newline escape', 'x\\ny'],
    ['empty', '']
  ])('replaces a client request id that is %s with a fresh one', async (_what, offered) => {
    const { hono, lines } = app()
    const res = await hono.request('/work', { headers: { 'X-Request-Id': offered } })
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(lines[0]?.['requestId']).toBe(id)
  })

  it('generates a different id for each request without one, also on errors', async () => {
    const { hono, lines } = app()
    const a = await hono.request('/work')
    const b = await hono.request('/fails')
    expect(b.status).toBe(500)
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')]
    expect(ids[0]).not.toBe(ids[1])
    expect(lines.map((l) => [l['requestId'], l['status']])).toEqual([
      [ids[0], 200],
      [ids[1], 500]
    ])
  })

  it('logs successful health checks at debug, so probes stay out of the info stream', async () => {
    const { hono, lines } = app()
    await hono.request('/health')
    expect(lines[0]).toMatchObject({ level: 'debug', path: '/health', status: 200 })
  })

  it('leaves no request id behind once the request is answered', async () => {
    const { hono } = app()
    await hono.request('/work')
    expect(currentRequestId()).toBeUndefined()
  })
})
