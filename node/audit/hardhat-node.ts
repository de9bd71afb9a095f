/**
 * An in-memory `hardhat node` on 127.0.0.1 for the contract's own tooling runs, tests and benchmarks
 * (the node's embedded chain is anvil, embedded-chain.ts). Every start is a fresh chain; it lives
 * behind chain-guard.ts and dies with its owner.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../log/logger.ts'
import { ChainProcess, freePort } from './chain-process.ts'
import { EmbeddedChainError } from './errors.ts'

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CONFIG = fileURLToPath(new URL('./hardhat-node.config.ts', import.meta.url))

// The cli is not an export of the package; find it beside the package's main entry.
function hardhatCli(): string {
  const entry = createRequire(join(PROJECT_ROOT, 'package.json')).resolve('hardhat')
  const marker = `${join('node_modules', 'hardhat')}/`
  return join(entry.slice(0, entry.lastIndexOf(marker) + marker.length), 'dist', 'src', 'cli.js')
}

export interface HardhatNodeInit {
  /** 0 picks a free port. */
  readonly port?: number
  readonly startTimeoutMs?: number
}

export class HardhatNode {
  readonly name = 'hardhat-node'
  readonly #init: HardhatNodeInit
  readonly #logger: Logger | undefined
  #process: ChainProcess | undefined
  #url: string | undefined

  constructor(init: HardhatNodeInit = {}, components: { logger?: Logger } = {}) {
    this.#init = init
    this.#logger = components.logger
  }

  get url(): string {
    if (!this.#url) throw new EmbeddedChainError('hardhat node is not started')
    return this.#url
  }

  /** The guard's pid (the process group's id). */
  get pid(): number | undefined {
    return this.#process?.pid
  }

  async start(): Promise<void> {
    const port = this.#init.port || (await freePort())
    const chain = new ChainProcess({
      label: 'hardhat node',
      command: process.execPath,
      args: [hardhatCli(), '--config', CONFIG, 'node', '--hostname', '127.0.0.1', '--port', String(port)],
      cwd: PROJECT_ROOT,
      readyText: 'Started HTTP',
      startTimeoutMs: this.#init.startTimeoutMs ?? 60_000
    })
    await chain.start()
    this.#process = chain
    this.#url = `http://127.0.0.1:${port}`
    this.#logger?.info({ url: this.#url, chainPid: chain.pid }, 'hardhat node started')
  }

  /** Sends `signal` to the whole process group (guard and Hardhat). */
  signal(signal: NodeJS.Signals): void {
    this.#process?.signal(signal)
  }

  async stop(): Promise<void> {
    if (!this.#process) return
    await this.#process.stop()
    this.#process = undefined
    this.#url = undefined
    this.#logger?.info('hardhat node stopped')
  }
}
