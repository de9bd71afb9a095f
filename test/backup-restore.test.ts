import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { devDown } from '../node/cli/dev/stack.ts'
import { spawnCli, waitForExit, waitForLog } from './helpers/cli.ts'
import { getJson, isRunning, runCliAsync, share, stackIn } from './helpers/dev-stack.ts'
import { waitFor } from './p2p/helpers.ts'

/**
 * The README's "Backup and restore" runbook, step by step, on a node with shares: `dmn db backup`
 * while the node runs, the key ring copied beside it; the node stopped; both restored into a new
 * data directory; the runbook's checks; the node started there. It holds the same identity and API
 * keys, reads its records back, verifies its earlier shares on chain (the API and a bundle checked
 * by `dmn audit check`), and shares again with the peer that knew it before. The CLI runs without
 * blocking this process (`runCliAsync`): a pooled keep-alive connection that a node closes while
 * the event loop is blocked would be reused before its close is seen.
 */

const root = mkdtempSync(join(tmpdir(), 'dmn-backup-'))
const stackDir = join(root, 'stack')
const running: ChildProcess[] = []
afterAll(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await waitForExit(child)
  }
  if (existsSync(stackDir)) await devDown({ dir: stackDir })
})

const verified = async (url: string, key: string, hash: string) =>
  (await getJson(`${url}/verify_data/${hash}`, key)).body['verified'] === true

describe('backup and restore, as the README runs them', () => {
  it('restores a running node into a new data directory, where it verifies its earlier shares', async () => {
    const up = await runCliAsync(['dev', 'up', '--nodes', '2', '--dir', stackDir], {}, { timeoutMs: 150_000 })
    expect([up.status, up.stderr]).toEqual([0, expect.any(String)])
    const [a, b] = stackIn(stackDir).nodes as [
      ReturnType<typeof stackIn>['nodes'][number],
      ReturnType<typeof stackIn>['nodes'][number]
    ]

    const records = ['first record from node1', 'second record from node1']
    const hashes = records.map((r) => createHash('sha256').update(r).digest('hex'))
    for (const record of records) expect((await share(a, b.peer_id, record)).status).toBe(201)
    for (const hash of hashes)
      await waitFor('the share verified on chain', () => verified(a.external_url, a.api_key, hash), 60_000)
    const identity = JSON.parse(
      (await runCliAsync(['--env-file', a.env_file, 'id', '--json'])).stdout
    ) as Record<string, unknown>

    // Back up, the node running: the database (online), then the key ring.
    const backup = join(root, 'backup')
    mkdirSync(backup, { mode: 0o700 })
    const dbBackup = await runCliAsync(['--env-file', a.env_file, 'db', 'backup', join(backup, 'node.db')])
    expect([dbBackup.status, dbBackup.stderr]).toEqual([0, ''])
    expect(dbBackup.stdout).toMatch(
      /^backed up .*node\.db to .*backup\/node\.db: \d+ pages, \d+ bytes, schema version \d+\n/
    )
    expect(statSync(join(backup, 'node.db')).mode & 0o777).toBe(0o600)
    copyFileSync(join(a.data_dir, 'keyring.json'), join(backup, 'keyring.json'))
    // A second backup to the same file is refused rather than overwritten.
    const twice = await runCliAsync(['--env-file', a.env_file, 'db', 'backup', join(backup, 'node.db')])
    expect([twice.status, twice.stderr]).toEqual([
      1,
      expect.stringMatching(/^dmn: .*exists already: .*--force/)
    ])

    // The node is lost; it must not run beside its restored copy (one PeerId, one account).
    const pid = Number(readFileSync(join(stackDir, a.name, 'node.pid'), 'utf8'))
    process.kill(pid, 'SIGTERM')
    await waitFor('node1 stopped', () => !isRunning(pid), 40_000)

    // Restore into a new data directory, owner-only, and point the node's settings at it.
    const restored = join(root, 'restored-data')
    mkdirSync(restored, { mode: 0o700 })
    for (const file of ['node.db', 'keyring.json']) {
      copyFileSync(join(backup, file), join(restored, file))
      expect(statSync(join(restored, file)).mode & 0o777).toBe(0o600)
    }
    const envFile = join(root, 'restored.env')
    writeFileSync(
      envFile,
      readFileSync(a.env_file, 'utf8').replace(/^DMN_DATA_DIR=.*$/m, `DMN_DATA_DIR=${restored}`),
      { mode: 0o600 }
    )
    const dbStatus = await runCliAsync(['--env-file', envFile, 'db', 'status', '--json'])
    expect(dbStatus.status).toBe(0)
    const migrations = JSON.parse(dbStatus.stdout) as { name: string; state: string }[]
    expect(migrations.length).toBeGreaterThan(0)
    expect(migrations.filter((m) => m.state !== 'applied')).toEqual([])
    const keys = await runCliAsync(['--env-file', envFile, 'keys', 'status'])
    expect([keys.status, keys.stderr]).toEqual([0, ''])

    const node = spawnCli(['--env-file', envFile, 'start'])
    running.push(node)
    await waitForLog(node, 'node ready', 90_000)

    const again = JSON.parse((await runCliAsync(['--env-file', envFile, 'id', '--json'])).stdout) as Record<
      string,
      unknown
    >
    expect(again['peer_id']).toBe(identity['peer_id'])
    expect(again['eth_address']).toBe(identity['eth_address'])
    for (const [i, hash] of hashes.entries()) {
      // The application's API key is in the restored database; the record opens with the restored ring.
      const read = await getJson(`${a.external_url}/data/${hash}`, a.api_key)
      expect([read.status, read.body['data']]).toEqual([200, records[i]])
      const check = await getJson(`${a.external_url}/verify_data/${hash}`, a.api_key)
      expect([check.body['verified'], check.body['reason']]).toEqual([true, null])
    }
    const bundleFile = join(root, 'bundle.json')
    const exported = await runCliAsync([
      '--env-file',
      envFile,
      'audit',
      'export',
      hashes[0] as string,
      '-o',
      bundleFile
    ])
    expect([exported.status, exported.stderr]).toEqual([0, ''])
    const stack = stackIn(stackDir)
    const checked = await runCliAsync(['audit', 'check', bundleFile, '--rpc', stack.chain.rpc_url])
    expect([checked.status, checked.stdout]).toEqual([0, expect.stringMatching(/: verified\n$/)])

    // The peer that knew the node before takes its new shares: same keys, same PeerId.
    const after = 'a record shared after the restore'
    expect((await share(a, b.peer_id, after)).status).toBe(201)
    const afterHash = createHash('sha256').update(after).digest('hex')
    await waitFor('the new share on node2', async () => {
      const r = await getJson(`${b.external_url}/data/${afterHash}`, b.api_key)
      return r.status === 200 && r.body['data'] === after
    })

    node.kill('SIGTERM')
    expect((await waitForExit(node)).code).toBe(0)
    const down = await runCliAsync(['dev', 'down', '--dir', stackDir])
    expect(down.status).toBe(0)
  }, 240_000)
})
