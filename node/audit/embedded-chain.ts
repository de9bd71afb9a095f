import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Startable } from '../core/lifecycle.ts'
import type { Logger } from '../log/logger.ts'
import { EmbeddedChainError } from './errors.ts'

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const GUARD = fileURLToPath(new URL('./hardhat-guard.ts', import.meta.url))
const CONFIG = fileURLToPath(new URL('./hardhat-node.config.ts', import.meta.url))

// The cli is not an export of the package; find it beside the package's main entry.
function hardhatCli(): string {
  const entry = createRequire(join(PROJECT_ROOT, 'package.json')).resolve('hardhat')
  const marker = `${join('node_modules', 'hardhat')}/`
  return join(entry.slice(0, entry.lastIndexOf(marker) + marker.length), 'dist', 'src', 'cli.js')
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))
      )
    })
  })
}

export interface EmbeddedChainInit {
  /** 0 picks a free port. */
  readonly port?: number
  readonly startTimeoutMs?: number
}

/**
 * A `hardhat node` on 127.0.0.1 owned by this process: started in its own process group behind a
 * guard that stops it when its owner dies, and stopped (whole group) with the owner. Its state lives
 * in memory only: every start is a fresh chain.
 */
export class EmbeddedChain implements Startable {
  readonly name = 'embedded-chain'
  readonly #init: EmbeddedChainInit
  readonly #logger: Logger | undefined
  #child: ChildProcess | undefined
  #exited: Promise<void> | undefined
  #url: string | undefined

  constructor(init: EmbeddedChainInit = {}, components: { logger?: Logger } = {}) {
    this.#init = init
    this.#logger = components.logger
  }

  get url(): string {
    if (!this.#url) throw new EmbeddedChainError('embedded chain is not started')
    return this.#url
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  async start(): Promise<void> {
    const port = this.#init.port || (await freePort())
    const cli = hardhatCli()
    const child = spawn(
      process.execPath,
      [GUARD, cli, '--config', CONFIG, 'node', '--hostname', '127.0.0.1', '--port', String(port)],
      {
        cwd: PROJECT_ROOT,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe']
      }
    )
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    let output = ''
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new EmbeddedChainError(
              `hardhat node did not start within ${this.#init.startTimeoutMs ?? 60_000} ms: ${output.slice(-500)}`
            )
          ),
        this.#init.startTimeoutMs ?? 60_000
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Started HTTP')) {
          clearTimeout(timer)
          resolve()
        }
        if (output.length > 100_000) output = output.slice(-10_000)
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(
          new EmbeddedChainError(
            `hardhat node exited with ${code} before it was ready: ${output.slice(-500)}`
          )
        )
      })
    })
    try {
      await ready
    } catch (err) {
      await this.stop()
      throw err
    }
    // Keep draining its output (else the pipe fills and Hardhat blocks); nothing in it is needed.
    child.stdout?.removeAllListeners('data').resume()
    child.stderr?.removeAllListeners('data').resume()
    this.#url = `http://127.0.0.1:${port}`
    // `pid` is the node's own (pino's base field); Hardhat's gets its own key.
    this.#logger?.info({ url: this.#url, hardhatPid: child.pid }, 'embedded hardhat node started')
  }

  /** Sends `signal` to the whole process group (guard and Hardhat). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined
      return
    }
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), 5_000)
    await this.#exited
    clearTimeout(timer)
    // The guard may exit first; make sure Hardhat is gone too.
    this.signal('SIGKILL')
    child.stdin?.destroy()
    this.#child = undefined
    this.#url = undefined
    this.#logger?.info('embedded hardhat node stopped')
  }
}
