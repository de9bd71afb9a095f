import { spawnSync } from 'node:child_process'
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrol } from '../node/attest/enrolments.ts'
import { createKeyRing } from '../node/crypto/key-ring-open.ts'
import { keyRingPath } from '../node/crypto/index.ts'
import { generateRsaKeyPair } from '../node/crypto/rsa.ts'
import { AuditEventRepository } from '../node/store/audit-events.ts'
import { openDatabase } from '../node/store/database.ts'
import { EnrolmentRepository } from '../node/store/enrolments.ts'
import { migrate } from '../node/store/migrations.ts'
import { OutboxRepository } from '../node/store/outbox.ts'
import { RecordRepository } from '../node/store/records.ts'
import { ShareRepository } from '../node/store/shares.ts'
import { runCli } from './helpers/cli.ts'
import { nonSnakeCaseKeys } from './helpers/json-keys.ts'

/**
 * One CLI style: every list command takes `--json` and prints one JSON array on one line, its
 * fields snake_case as the API names them; `dmn completion bash|zsh` comes from the command tree;
 * an error is one `dmn: ` line that names what fixes it. Against a data directory holding one of
 * each thing the lists show.
 */

const SELF = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECJ2wxMeiiGtyXs7e'
const PEER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const PORTS = { DMN_API_INTERNAL_PORT: '18090', DMN_API_EXTERNAL_PORT: '18091' }

let dir: string
let shareId: string
const dmn = (...args: string[]) => runCli(['--data-dir', dir, ...args], PORTS)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-cli-style-'))
  const db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const [signing, encryption] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  const ring = await createKeyRing(keyRingPath(dir), 'cli style', { identity: { signing, encryption } })
  const data = new TextEncoder().encode('one of each')
  const dataHash = createHash('sha256').update(data).digest('hex')
  const record = new RecordRepository(db, ring).put(data, dataHash)
  shareId = randomBytes(16).toString('hex')
  new ShareRepository(db).insert({
    shareId,
    direction: 'out',
    recordId: record.id,
    dataHash,
    sender: SELF,
    recipient: PEER,
    recipientLabel: PEER,
    tier: 'standard',
    state: 'queued'
  })
  new OutboxRepository(db).enqueue({ kind: 'share', shareId, dataHash, payload: '{}', leaf: null })
  new AuditEventRepository(db).add({
    eventName: 'ShareRecorded',
    shareId,
    dataHash,
    sender: SELF,
    recipient: PEER,
    senderHash: null,
    recipientHash: null,
    tier: 'standard',
    timestampMs: 1_764_000_000_000,
    receiptHash: null,
    root: null,
    leafIndex: null,
    submitter: null,
    txHash: `0x${'ab'.repeat(32)}`,
    blockNumber: 7,
    blockHash: null,
    logIndex: 0,
    args: '{}'
  })
  enrol(new EnrolmentRepository(db), PEER, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)
  db.close()
  ring.close()
  expect(dmn('apikeys', 'create', '--name', 'style', '--json').status).toBe(0)
  expect(dmn('webhooks', 'create', '--url', 'http://127.0.0.1:9999/hooks').status).toBe(0)
  expect(dmn('peers', 'deny', PEER).status).toBe(0)
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('list commands with --json', () => {
  const lists: [string[], (rows: Record<string, unknown>[]) => void][] = [
    [['apikeys', 'list'], (rows) => expect(rows[0]).toMatchObject({ name: 'style', last_used_at: null })],
    [['webhooks', 'list'], (rows) => expect(rows[0]).toMatchObject({ url: 'http://127.0.0.1:9999/hooks' })],
    [['peers', 'list'], (rows) => expect(rows[0]).toMatchObject({ peer_id: PEER, status: 'denied' })],
    [
      ['shares', 'list'],
      // As GET /v1/shares shows a share.
      (rows) =>
        expect(rows[0]).toMatchObject({
          id: shareId,
          recipient_label: PEER,
          security_tier: 'standard',
          status: { delivery: 'queued' },
          created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
        })
    ],
    // Unix seconds, as the API's compliance history gives `timestamp`.
    [
      ['audit', 'history'],
      (rows) => expect(rows[0]).toMatchObject({ share_id: shareId, timestamp: 1_764_000_000 })
    ],
    [['audit', 'outbox'], (rows) => expect(rows[0]).toMatchObject({ share_id: shareId, state: 'pending' })],
    [['attest', 'list'], (rows) => expect(rows[0]).toMatchObject({ peer_id: PEER })],
    [['db', 'status'], (rows) => expect(rows[0]).toMatchObject({ version: 1, state: 'applied' })]
  ]
  for (const [command, check] of lists) {
    it(`dmn ${command.join(' ')} --json prints one JSON array of snake_case fields`, () => {
      const r = dmn(...command, '--json')
      expect([r.status, r.stderr]).toEqual([0, ''])
      expect(r.stdout.endsWith('\n') && r.stdout.indexOf('\n') === r.stdout.length - 1).toBe(true)
      const rows = JSON.parse(r.stdout) as Record<string, unknown>[]
      expect(Array.isArray(rows)).toBe(true)
      expect(rows.length).toBeGreaterThan(0)
      expect(nonSnakeCaseKeys(rows)).toEqual([])
      check(rows)
      // Without --json: text, not JSON.
      const text = dmn(...command)
      expect(text.status).toBe(0)
      expect(text.stdout.trimStart().startsWith('[')).toBe(false)
      expect(text.stdout.trimStart().startsWith('{')).toBe(false)
    })
  }

  it('prints [] for an empty list', () => {
    expect(dmn('audit', 'outbox', '--state', 'failed', '--json').stdout).toBe('[]\n')
  })

  it('prints snake_case single objects too (keys status)', () => {
    const r = runCli(['--data-dir', dir, 'keys', 'status', '--json'], {
      ...PORTS,
      DMN_MASTER_PASSWORD: 'cli style'
    })
    expect(r.status, r.stderr).toBe(0)
    expect(nonSnakeCaseKeys(JSON.parse(r.stdout), ['records_by_version'])).toEqual([])
  })
})

describe('dmn completion', () => {
  const script = (shell: string) => {
    const r = runCli(['completion', shell])
    expect([r.status, r.stderr]).toEqual([0, ''])
    return r.stdout
  }
  /**
   * What bash completes for `line` (the cursor at its end), through the generated function. zsh's
   * bashcompinit runs the same function; here its loader is a no-op so bash can source the file.
   */
  const complete = (file: string, line: string): string[] => {
    const words = line.split(' ')
    const r = spawnSync(
      'bash',
      [
        '-c',
        `autoload() { :; }; bashcompinit() { :; }; source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dmn_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'complete',
        file,
        ...words
      ],
      { encoding: 'utf8' }
    )
    expect(r.stderr).toBe('')
    return r.stdout.split('\n').filter((w) => w !== '')
  }

  for (const shell of ['bash', 'zsh']) {
    it(`writes a ${shell} script that bash -n accepts and that completes dmn pe<TAB> to peers`, () => {
      const file = join(dir, `dmn.${shell}`)
      const text = script(shell)
      if (shell === 'zsh')
        expect(text).toMatch(/^#compdef dmn\n[\s\S]*autoload -U \+X bashcompinit && bashcompinit\n/)
      writeFileSync(file, text)
      const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' })
      expect([syntax.status, syntax.stderr]).toEqual([0, ''])
      expect(complete(file, 'dmn pe')).toEqual(['peers'])
    })
  }

  it('completes subcommands and options at any depth, past global options and their values', () => {
    const file = join(dir, 'dmn.bash')
    writeFileSync(file, script('bash'))
    expect(complete(file, 'dmn peers l')).toEqual(['list'])
    expect(complete(file, 'dmn --data-dir /srv/dmn peers list --j')).toEqual(['--json'])
    expect(complete(file, 'dmn audit h')).toEqual(['history', 'help'])
    expect(complete(file, 'dmn completion')).toEqual(['completion'])
    // An argument is not a command: after `peers allow <peerId>` come options only.
    expect(complete(file, `dmn peers allow ${PEER} --he`)).toEqual(['--help'])
    const top = complete(file, 'dmn ')
    for (const command of [
      'start',
      'peers',
      'shares',
      'audit',
      'apikeys',
      'webhooks',
      'completion',
      'help'
    ]) {
      expect(top).toContain(command)
    }
  })
})

describe('errors', () => {
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [['completion', 'fish'], {}, 2, /^dmn: unknown shell fish: `dmn completion` writes bash or zsh$/],
    [['peers', 'deny', 'nobody'], {}, 2, /`dmn peers list`/],
    [['audit', 'history', '--limit', '0'], {}, 2, /^dmn: --limit must be 1\.\.1000$/],
    [['audit', 'outbox', '--state', 'lost'], {}, 2, /^dmn: --state must be one of /],
    [['id', '--api', 'http://127.0.0.1:1'], {}, 1, /`dmn start`/],
    [['peers', 'list', '--jsn'], {}, 2, /^dmn: unknown option '--jsn'.*`dmn --help`/]
  ]
  for (const [args, env, code, message] of cases) {
    it(`dmn ${args.join(' ')}: exit ${code}, one dmn: line naming the fix`, () => {
      const r = runCli(['--data-dir', dir, ...args], { ...PORTS, ...env })
      expect(r.status).toBe(code)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^dmn: /)
      expect(lines[0]).toMatch(message)
    })
  }

  it('names the setting behind a database that does not open', () => {
    const bad = mkdtempSync(join(tmpdir(), 'dmn-cli-style-bad-'))
    writeFileSync(join(bad, 'node.db'), 'not a database '.repeat(300))
    const r = runCli(['--data-dir', bad, 'db', 'status'])
    rmSync(bad, { recursive: true, force: true })
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dmn: cannot open database .*--data-dir or DATA_DIR\)$/)
    ])
  })
})
