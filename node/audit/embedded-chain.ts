/**
 * The embedded chain: anvil (Foundry's EVM node, from the npm package
 * `@foundry-rs/anvil-linux-amd64`) on 127.0.0.1, owned by the node. With a state directory it keeps
 * its chain there (`--state`, written every second and on SIGTERM) and reloads it at the next start,
 * so the audit trail survives restarts and kill -9 (a crash loses at most the last second, which the
 * node finds and sends again, see chain-state.ts). Without one (the demo, tests) it lives in memory.
 * It runs behind chain-guard.ts, in a process group of its own, and dies with the node; an anvil
 * left behind by a guard that was killed itself is stopped at the next start (its pid file).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Startable } from '../core/lifecycle.ts'
import type { Logger } from '../log/logger.ts'
import { ChainProcess, freePort } from './chain-process.ts'
import {
  ANVIL_STATE_INTERVAL_SECONDS,
  EMBEDDED_GENESIS_TIME_FILE,
  EMBEDDED_GOOD_STATE_FILE,
  EMBEDDED_PID_FILE,
  EMBEDDED_STATE_FILE
} from './constants.ts'
import { RpcClient } from './rpc-client.ts'
import { EmbeddedChainError, EmbeddedChainUnavailableError } from './errors.ts'

export { freePort } from './chain-process.ts'

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ANVIL_PACKAGE = '@foundry-rs/anvil-linux-amd64'

/** The anvil binary of the optional dependency; a typed error where it is not installed. */
export function anvilBinary(): string {
  let packageJson: string | undefined
  try {
    packageJson = createRequire(join(PROJECT_ROOT, 'package.json')).resolve(`${ANVIL_PACKAGE}/package.json`)
  } catch {
    packageJson = undefined
  }
  const binary = packageJson ? join(dirname(packageJson), 'bin', 'anvil') : undefined
  if (!binary || !existsSync(binary)) {
    throw new EmbeddedChainUnavailableError(
      `the embedded chain needs anvil (npm package ${ANVIL_PACKAGE}, Linux x86-64 only), which is not installed here (${process.platform}-${process.arch}): set CHAIN_RPC_URL (DMN_CHAIN_RPC_URL) to an EVM JSON-RPC endpoint`
    )
  }
  return binary
}

export interface EmbeddedChainInit {
  /** 0 picks a free port. */
  readonly port?: number
  /** Where the chain keeps its state across restarts; unset, it lives in memory only. */
  readonly stateDir?: string
  /** Mine a block every this many seconds besides those of transactions (confirmations > 1 need them). */
  readonly blockTimeSeconds?: number
  readonly startTimeoutMs?: number
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const commandLine = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return []
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

/** What the start needs of anvil's state file: the blocks it holds. */
interface AnvilState {
  readonly blocks?: readonly { readonly header?: { readonly number?: string; readonly timestamp?: string } }[]
}

/**
 * The genesis timestamp of the chain in `dir`: the one it was first started with, or now for a new
 * chain (no state to load). A state without the file (written by another start) gives its earliest
 * genesis block's.
 */
function genesisTimestamp(dir: string, loaded: AnvilState | undefined): number {
  const file = join(dir, EMBEDDED_GENESIS_TIME_FILE)
  const recorded = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : Number.NaN
  let time: number
  if (loaded && Number.isSafeInteger(recorded)) {
    time = recorded
  } else {
    const genesisTimes = (loaded?.blocks ?? [])
      .filter((b) => b.header?.number !== undefined && Number(b.header.number) === 0)
      .map((b) => Number(b.header?.timestamp))
      .filter((t) => Number.isSafeInteger(t))
    time = genesisTimes.length > 0 ? Math.min(...genesisTimes) : Math.floor(Date.now() / 1000)
  }
  writeFileSync(file, `${time}\n`, { mode: 0o600 })
  return time
}

export class EmbeddedChain implements Startable {
  readonly name = 'embedded-chain'
  readonly #init: EmbeddedChainInit
  readonly #logger: Logger | undefined
  #process: ChainProcess | undefined
  #url: string | undefined

  constructor(init: EmbeddedChainInit = {}, components: { logger?: Logger } = {}) {
    this.#init = init
    this.#logger = components.logger
  }

  get url(): string {
    if (!this.#url) throw new EmbeddedChainError('embedded chain is not started')
    return this.#url
  }

  /** The guard's pid (the process group's id). */
  get pid(): number | undefined {
    return this.#process?.pid
  }

  /** The state file anvil loads and writes; undefined for a chain in memory. */
  get stateFile(): string | undefined {
    return this.#init.stateDir ? join(this.#init.stateDir, EMBEDDED_STATE_FILE) : undefined
  }

  async start(): Promise<void> {
    const binary = anvilBinary()
    const port = this.#init.port || (await freePort())
    const args = ['--host', '127.0.0.1', '--port', String(port)]
    const guardOptions: string[] = []
    const dir = this.#init.stateDir
    if (dir) {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const state = join(dir, EMBEDDED_STATE_FILE)
      const good = join(dir, EMBEDDED_GOOD_STATE_FILE)
      const pidFile = join(dir, EMBEDDED_PID_FILE)
      await this.#stopLeftover(pidFile, state)
      const loaded = this.#prepareState(dir, state, good)
      const genesisTime = genesisTimestamp(dir, loaded)
      args.push('--state', state, '--state-interval', String(ANVIL_STATE_INTERVAL_SECONDS))
      // anvil makes a genesis block at every start (its hash is the chain's identity, see
      // chain-watch.ts); with the same timestamp every time it is the same block.
      args.push('--timestamp', String(genesisTime))
      guardOptions.push('--pid-file', pidFile, '--state-file', state, '--good-copy', good)
    }
    if (this.#init.blockTimeSeconds) {
      args.push('--block-time', String(this.#init.blockTimeSeconds), '--mixed-mining')
    }
    const chain = new ChainProcess({
      label: 'anvil',
      command: binary,
      args,
      readyText: 'Listening on',
      startTimeoutMs: this.#init.startTimeoutMs ?? 30_000,
      guardOptions
    })
    await chain.start()
    this.#process = chain
    this.#url = `http://127.0.0.1:${port}`
    if (dir) {
      // New blocks take the time of day, not the genesis timestamp the chain was started with.
      try {
        await new RpcClient({ url: this.#url, timeoutMs: 5_000 }).call('anvil_setTime', [
          Math.floor(Date.now() / 1000)
        ])
      } catch (err) {
        await this.stop()
        throw new EmbeddedChainError(`anvil did not take the time of day: ${(err as Error).message}`, {
          cause: err
        })
      }
    }
    // `pid` is the node's own (pino's base field); the chain's process group gets its own key.
    this.#logger?.info(
      { url: this.#url, chainPid: chain.pid, stateFile: this.stateFile ?? null },
      'embedded chain started'
    )
  }

  /**
   * An anvil whose guard was killed with it keeps running, holding the state file: stop it (SIGTERM,
   * so it writes its state) before a new one loads that file. A guard that is still alive belongs to
   * a node that is still running on this data directory, or is stopping its chain right now.
   */
  async #stopLeftover(pidFile: string, stateFile: string): Promise<void> {
    let left: { guard?: number; chain?: number }
    try {
      left = JSON.parse(readFileSync(pidFile, 'utf8')) as { guard?: number; chain?: number }
    } catch {
      return
    }
    const guard = left.guard
    if (typeof guard === 'number' && commandLine(guard).includes(pidFile) && !(await gone(guard, 10_000))) {
      throw new EmbeddedChainError(
        `another process runs the embedded chain of ${dirname(pidFile)} (guard pid ${guard}): is a node already running on this data directory?`
      )
    }
    const chain = left.chain
    if (typeof chain === 'number' && commandLine(chain).includes(stateFile)) {
      this.#logger?.warn({ chainPid: chain }, 'stopping an embedded chain left behind by an earlier run')
      process.kill(chain, 'SIGTERM')
      if (!(await gone(chain, 10_000))) {
        process.kill(chain, 'SIGKILL')
        await gone(chain, 5_000)
      }
    }
    rmSync(pidFile, { force: true })
  }

  /**
   * anvil refuses to start on a state file that does not parse (cut short by a crash while it was
   * written). Such a file is set aside and the guard's last complete copy takes its place; without
   * one, the chain starts empty and the node finds a new genesis (chain-watch.ts re-publishes).
   * Returns the state anvil will load, undefined for a new chain.
   */
  #prepareState(dir: string, state: string, good: string): AnvilState | undefined {
    const parsed = (path: string): AnvilState | undefined => {
      try {
        return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as AnvilState) : undefined
      } catch {
        return undefined
      }
    }
    const current = parsed(state)
    if (current) return current
    if (existsSync(state)) {
      const aside = join(dir, `${EMBEDDED_STATE_FILE}.broken-${Date.now()}`)
      renameSync(state, aside)
      this.#logger?.warn(
        { setAside: aside },
        'embedded chain state file is incomplete (cut short by a crash)'
      )
    }
    const kept = parsed(good)
    if (kept) {
      copyFileSync(good, state)
      this.#logger?.warn({ from: good }, 'embedded chain state restored from its last complete copy')
      return kept
    }
    return undefined
  }

  /** Sends `signal` to the whole process group (guard and anvil). */
  signal(signal: NodeJS.Signals): void {
    this.#process?.signal(signal)
  }

  async stop(): Promise<void> {
    if (!this.#process) return
    await this.#process.stop()
    this.#process = undefined
    this.#url = undefined
    this.#logger?.info('embedded chain stopped')
  }
}
