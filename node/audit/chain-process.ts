/**
 * A local chain process owned by this process: started behind chain-guard.ts in a process group of
 * its own (so it dies with its owner, even on SIGKILL), ready once its output says it listens, and
 * stopped with its owner. The embedded anvil (embedded-chain.ts) and the `hardhat node` of tests and
 * benchmarks (hardhat-node.ts) are both run this way.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { EmbeddedChainError } from './errors.ts'

const GUARD = fileURLToPath(new URL('./chain-guard.ts', import.meta.url))

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

export interface ChainProcessInit {
  /** What the chain is called in errors ('anvil', 'hardhat node'). */
  readonly label: string
  readonly command: string
  readonly args: readonly string[]
  readonly cwd?: string
  /** Output that means the chain answers requests. */
  readonly readyText: string
  readonly startTimeoutMs: number
  /** Options for the guard (`--pid-file`, `--state-file`, `--good-copy`). */
  readonly guardOptions?: readonly string[]
}

export class ChainProcess {
  readonly #init: ChainProcessInit
  #child: ChildProcess | undefined
  #exited: Promise<void> | undefined

  constructor(init: ChainProcessInit) {
    this.#init = init
  }

  /** The guard's pid, which is also the process group's id. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  async start(): Promise<void> {
    const init = this.#init
    const child = spawn(
      process.execPath,
      [GUARD, ...(init.guardOptions ?? []), '--', init.command, ...init.args],
      { cwd: init.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] }
    )
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    let output = ''
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new EmbeddedChainError(
              `${init.label} did not start within ${init.startTimeoutMs} ms: ${output.slice(-500)}`
            )
          ),
        init.startTimeoutMs
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes(init.readyText)) {
          clearTimeout(timer)
          resolve()
        }
        if (output.length > 100_000) output = output.slice(-10_000)
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(new EmbeddedChainError(`${init.label} could not be started: ${err.message}`, { cause: err }))
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(
          new EmbeddedChainError(
            `${init.label} exited with ${code} before it was ready: ${output.slice(-500).trim()}`
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
    // Keep draining its output (else the pipe fills and the chain blocks); nothing in it is needed.
    child.stdout?.removeAllListeners('data').resume()
    child.stderr?.removeAllListeners('data').resume()
  }

  /** Sends `signal` to the whole process group (guard and chain). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // already gone
    }
  }

  /**
   * Asks the guard to stop the chain (one SIGTERM to the chain, which lets anvil write its state),
   * then makes sure the whole group is gone.
   */
  async stop(): Promise<void> {
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined
      return
    }
    child.kill('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), 15_000)
    await this.#exited
    clearTimeout(timer)
    this.signal('SIGKILL')
    child.stdin?.destroy()
    this.#child = undefined
  }
}
