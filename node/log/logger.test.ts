import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { componentLogger, createLogger, SECRET_FIELDS } from './logger.ts'

function capture() {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  return { lines, destination }
}

describe('createLogger', () => {
  it('writes JSON lines with level, time and message', () => {
    const { lines, destination } = capture()
    createLogger({ destination }).info({ shareId: 's1' }, 'share queued')
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'share queued', shareId: 's1' })
    expect(typeof lines[0]?.['time']).toBe('string')
  })

  it('redacts every secret-bearing field at any of the first levels', () => {
    const { lines, destination } = capture()
    const secrets = Object.fromEntries(SECRET_FIELDS.map((f) => [f, `secret-${f}`]))
    createLogger({ destination }).info({ ...secrets, nested: { ...secrets, deeper: { ...secrets } } }, 'x')
    const text = JSON.stringify(lines[0])
    for (const field of SECRET_FIELDS) expect(text).not.toContain(`secret-${field}`)
    expect((lines[0]?.['nested'] as Record<string, unknown> | undefined)?.['password']).toBe('[redacted]')
  })

  it('honours the configured level', () => {
    const { lines, destination } = capture()
    const logger = createLogger({ destination, level: 'warn' })
    logger.info('hidden')
    logger.warn('shown')
    expect(lines.map((l) => l['msg'])).toEqual(['shown'])
  })

  it('tags a component logger and keeps redaction', () => {
    const { lines, destination } = capture()
    componentLogger(createLogger({ destination }), 'p2p').info({ apiKey: 'k' }, 'hello')
    expect(lines[0]).toMatchObject({ component: 'p2p', apiKey: '[redacted]' })
  })
})
