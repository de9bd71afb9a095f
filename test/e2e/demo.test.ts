import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import { spawnCli, waitForExit } from '../helpers/cli.ts'

/** `dmn demo` as a newcomer runs it: it must finish, tell what happened, and leave nothing behind. */

function capture(child: ReturnType<typeof spawnCli>) {
  const out = { text: '' }
  child.stdout?.on('data', (c) => {
    out.text += String(c)
  })
  child.stderr?.on('data', (c) => {
    out.text += String(c)
  })
  return out
}

async function chainIsGone(url: string): Promise<boolean> {
  try {
    await new RpcClient({ url, timeoutMs: 1_000 }).call('eth_chainId', [])
    return false
  } catch (err) {
    return (err as Error).name === 'ChainUnavailableError'
  }
}

// A whole demo is two nodes and a chain; on a loaded 2-core CI machine it can take far longer than here.
describe('dmn demo', { timeout: 180_000 }, () => {
  it('shares a record from A to B, verifies it on chain, and cleans up', async () => {
    const child = spawnCli(['demo'])
    const out = capture(child)
    const exit = await waitForExit(child)
    expect(exit.code, out.text).toBe(0)
    expect(out.text).toMatch(/share_id [0-9a-f]{32}/)
    expect(out.text).toMatch(/data_hash [0-9a-f]{64}/)
    expect(out.text).toMatch(/receipt hash [0-9a-f]{64}/)
    expect(out.text).toContain('identical to what A sent')
    expect(out.text).toMatch(/verified true, event data_share/)
    expect(out.text).toMatch(/tx 0x[0-9a-f]{64}, block \d+; the chain reports status success/)
    const dir = /removed (\S+)\./.exec(out.text)?.[1]
    expect(dir).toBeDefined()
    expect(existsSync(dir as string)).toBe(false)
    const chainUrl = /anvil at (http:\/\/127\.0\.0\.1:\d+)/.exec(out.text)?.[1] as string
    expect(await chainIsGone(chainUrl)).toBe(true)
  })

  it('stops everything and removes its files when interrupted with Ctrl-C', async () => {
    const child = spawnCli(['demo'])
    const out = capture(child)
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (out.text.includes('2. Node A')) {
          clearInterval(timer)
          resolve()
        }
        if (child.exitCode !== null) {
          clearInterval(timer)
          reject(new Error(`demo exited early: ${out.text}`))
        }
      }, 50)
    })
    child.kill('SIGINT')
    const exit = await waitForExit(child)
    expect(exit.code, out.text).toBe(130)
    const chainUrl = /anvil at (http:\/\/127\.0\.0\.1:\d+)/.exec(out.text)?.[1] as string
    expect(await chainIsGone(chainUrl)).toBe(true)
    const dir = /Temporary directory (\S+)/.exec(out.text)?.[1]
    expect(dir).toMatch(/dmn-cluster-/)
    expect(existsSync(dir as string)).toBe(false)
    expect(out.text).toContain('nothing left behind')
  })
})
