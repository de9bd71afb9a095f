import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { devDown } from '../node/cli/dev/stack.ts'
import { getJson, isRunning, runCliAsync, share, stackIn, stackPids } from './helpers/dev-stack.ts'
import { waitFor } from './p2p/helpers.ts'

/**
 * `dmn dev up --nodes 3` as a developer runs it: real detached processes (anvil and three `dmn
 * start`), a share between two nodes that were never introduced to each other, by Ethereum address
 * through the external API, `dmn dev status`, a second `up` refused, `down --keep` and `up` again on
 * the same chain and data, and `down` leaving no process and no directory.
 */

const root = mkdtempSync(join(tmpdir(), 'dmn-dev-stack-'))
const dir = join(root, 'stack')
afterAll(async () => {
  // Whatever the test left running (it failed half-way) goes with the directory.
  if (existsSync(dir)) await devDown({ dir })
})

const dev = (args: string[]) => runCliAsync(['dev', ...args, '--dir', dir], {}, { timeoutMs: 150_000 })

describe('dmn dev', () => {
  it('starts three nodes on one chain, shares between two of them by address, and stops everything', async () => {
    const up = await dev(['up', '--nodes', '3'])
    expect([up.status, up.stderr]).toEqual([0, expect.any(String)])
    const stack = stackIn(dir)
    expect(stack.nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3'])
    for (const node of stack.nodes) {
      for (const shown of [
        node.external_url,
        node.internal_url,
        node.peer_id,
        node.eth_address,
        node.api_key
      ])
        expect(up.stdout).toContain(shown)
      expect(node.api_key_scopes).toEqual(['share', 'read'])
    }
    expect(up.stdout).toContain('a development stack, not for production data')
    // The README's walkthrough sources stack.env.
    const sourced = spawnSync(
      'bash',
      ['-c', `. '${join(dir, 'stack.env')}' && echo "$NODE2_API_KEY $NODE3_ETH_ADDRESS"`],
      {
        encoding: 'utf8'
      }
    )
    expect(sourced.stdout.trim()).toBe(`${stack.nodes[1]?.api_key} ${stack.nodes[2]?.eth_address}`)
    for (const file of ['master-password', 'stack.json', 'stack.env', 'node1/node.env'])
      expect([file, statSync(join(dir, file)).mode & 0o777]).toEqual([file, 0o600])
    const pids = stackPids(dir, stack)
    expect(pids).toHaveLength(4)

    // node2 and node3 both know only node1; node2 names node3 by its Ethereum address.
    const [, from, to] = stack.nodes as [unknown, (typeof stack.nodes)[number], (typeof stack.nodes)[number]]
    const data = `hello node3 from node2 ${Date.now()}`
    const shared = await share(from, to.eth_address, data)
    expect(shared.status).toBe(201)
    const hash = createHash('sha256').update(data).digest('hex')
    const read = await waitFor('the record on node3', async () => {
      const r = await getJson(`${to.external_url}/data/${hash}`, to.api_key)
      return r.status === 200 ? r.body : undefined
    })
    expect(read['data']).toBe(data)

    const status = await dev(['status', '--json'])
    expect(status.status).toBe(0)
    const parts = JSON.parse(status.stdout) as Record<string, unknown>[]
    expect(parts.map((p) => [p['name'], p['running']])).toEqual([
      ['chain', true],
      ['node1', true],
      ['node2', true],
      ['node3', true]
    ])
    expect(parts[0]?.['block_number']).toEqual(expect.any(Number))
    for (const node of parts.slice(1)) expect(['healthy', 'degraded']).toContain(node['health'])

    // A second `up` starts nothing.
    const again = await dev(['up'])
    expect(again.status).toBe(1)
    expect(again.stderr).toMatch(/^dmn: a dev stack is already up in .*dmn dev down/)
    expect(stackPids(dir, stack)).toEqual(pids)

    // Stopped and kept, the stack is reported down, then comes back on the same chain with its data.
    const kept = await dev(['down', '--keep'])
    expect(kept.status).toBe(0)
    for (const pid of pids) expect([pid, isRunning(pid)]).toEqual([pid, false])
    const stopped = await dev(['status'])
    expect(stopped.status).toBe(1)
    expect(stopped.stderr).toMatch(/^dmn: chain, node1, node2, node3 of the dev stack .* are down/)
    const resumed = await dev(['up'])
    expect([resumed.status, resumed.stderr]).toEqual([0, expect.stringContaining('started again')])
    expect(stackIn(dir)).toEqual(stack)
    const reread = await getJson(`${to.external_url}/data/${hash}`, to.api_key)
    expect([reread.status, reread.body['data']]).toEqual([200, data])
    await waitFor(
      'the share verified on chain, after the restart',
      async () =>
        (await getJson(`${to.external_url}/verify_data/${hash}`, to.api_key)).body['verified'] === true
    )

    const resumedPids = stackPids(dir, stack)
    const down = await dev(['down'])
    expect(down.status).toBe(0)
    expect(down.stdout).toContain(`removed ${dir}`)
    expect(existsSync(dir)).toBe(false)
    for (const pid of resumedPids) expect([pid, isRunning(pid)]).toEqual([pid, false])
  }, 240_000)
})

describe('dmn dev, refusals', () => {
  it('touches nothing that is not a stack, and says where there is none', async () => {
    const other = join(root, 'not-a-stack')
    mkdirSync(other)
    writeFileSync(join(other, 'keep-me'), 'data of something else')
    const onOther = (args: string[]) => runCliAsync(['dev', ...args, '--dir', other])

    const up = await onOther(['up'])
    expect([up.status, up.stderr]).toEqual([
      1,
      expect.stringMatching(/^dmn: .* exists and is not a dev stack: choose another --dir\n$/)
    ])
    const down = await onOther(['down'])
    expect([down.status, down.stderr]).toEqual([
      1,
      expect.stringMatching(/^dmn: .* is not a dev stack .*nothing was stopped or removed\n$/)
    ])
    expect(readdirSync(other)).toEqual(['keep-me'])

    const none = join(root, 'absent')
    const status = await runCliAsync(['dev', 'status', '--dir', none])
    expect([status.status, status.stderr]).toEqual([
      1,
      expect.stringMatching(/^dmn: no dev stack in .*: `dmn dev up --dir .*` starts one\n$/)
    ])
    const downNone = await runCliAsync(['dev', 'down', '--dir', none])
    expect([downNone.status, downNone.stdout]).toEqual([
      0,
      expect.stringMatching(/^no dev stack in .*: nothing to stop\n$/)
    ])

    const zero = await runCliAsync(['dev', 'up', '--nodes', '0', '--dir', none])
    expect([zero.status, zero.stderr]).toEqual([2, 'dmn: --nodes must be a whole number from 1 to 9\n'])
    expect(existsSync(none)).toBe(false)
  })
})
