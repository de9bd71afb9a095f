import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-webhooks-cli-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const ports = { DMN_API_INTERNAL_PORT: '18080', DMN_API_EXTERNAL_PORT: '18081' }
const cli = (...args: string[]) => runCli(['--data-dir', dir, 'webhooks', ...args], ports)

describe('dmn webhooks', () => {
  it('creates a subscription whose secret is printed once, lists it as one JSON array, pauses, resumes and deletes it', () => {
    const created = cli(
      'create',
      '--url',
      'http://127.0.0.1:9999/hooks',
      '--types',
      'share.,audit.confirmed',
      '--json'
    )
    expect(created.status, created.stderr).toBe(0)
    const { id, secret, state, event_types } = JSON.parse(created.stdout) as Record<string, unknown>
    expect(secret).toMatch(/^whsec_/)
    expect(state).toBe('active')
    expect(event_types).toEqual(['share.', 'audit.confirmed'])

    const listed = cli('list', '--json')
    expect(listed.status).toBe(0)
    expect(listed.stdout).not.toContain(String(secret))
    const list = JSON.parse(listed.stdout) as Record<string, unknown>[]
    expect(list).toHaveLength(1)
    expect(Object.keys(list[0] as object).sort()).toEqual(
      [
        'id',
        'url',
        'event_types',
        'state',
        'cursor',
        'failing_event_id',
        'failing_since',
        'attempts',
        'next_attempt_at',
        'last_error',
        'last_delivered_at',
        'created_at',
        'updated_at'
      ].sort()
    )

    expect(cli('pause', String(id)).stdout).toContain('paused')
    expect(cli('resume', String(id)).stdout).toContain('active')
    expect(cli('delete', String(id)).status).toBe(0)
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([])
    const again = cli('delete', String(id))
    expect(again.status).toBe(1)
    expect(again.stderr.trim().split('\n')).toHaveLength(1)
  })

  it("refuses the node's own API ports and other schemes, storing nothing", () => {
    for (const url of ['http://127.0.0.1:18080/hooks', 'http://localhost:18081/', 'ftp://127.0.0.1/']) {
      const r = cli('create', '--url', url)
      expect(r.status, url).toBe(1)
      expect(r.stderr).toMatch(/url/)
    }
    expect(cli('create', '--url', 'http://127.0.0.1:9999/', '--types', 'Share').status).toBe(2)
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([])
  })
})
