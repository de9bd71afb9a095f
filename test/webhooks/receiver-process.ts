import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { waitForExit } from '../helpers/cli.ts'

/** The receiver fixture (fixtures/receiver.ts) in a process of its own, and what it recorded. */

const SCRIPT = fileURLToPath(new URL('./fixtures/receiver.ts', import.meta.url))

export interface Arrival {
  readonly webhook_id: string
  readonly type: string | null
  readonly event_id: number | null
  readonly body_sha256: string
  readonly verified: boolean
  readonly answer: number | 'held'
}

export class ReceiverProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly #control: number
  readonly #file: string

  private constructor(child: ChildProcess, port: number, control: number, file: string) {
    this.child = child
    this.port = port
    this.#control = control
    this.#file = file
  }

  static async start(file: string): Promise<ReceiverProcess> {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SCRIPT, '0', file], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr?.on('data', (d) => {
      stderr += String(d)
    })
    const ports = await new Promise<{ port: number; control: number }>((resolve, reject) => {
      let out = ''
      child.stdout?.on('data', (d) => {
        out += String(d)
        const line = out.split('\n')[0]
        if (out.includes('\n') && line) resolve(JSON.parse(line) as { port: number; control: number })
      })
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}: ${stderr}`)))
    })
    return new ReceiverProcess(child, ports.port, ports.control, file)
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`
  }

  async control(path: string, body = ''): Promise<void> {
    const r = await fetch(`http://127.0.0.1:${this.#control}${path}`, { method: 'POST', body })
    if (r.status !== 204) throw new Error(`receiver control ${path}: ${r.status}`)
  }

  arrivals(): Arrival[] {
    if (!existsSync(this.#file)) return []
    return readFileSync(this.#file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Arrival)
  }

  async stop(): Promise<void> {
    this.child.kill('SIGKILL')
    await waitForExit(this.child)
  }
}
