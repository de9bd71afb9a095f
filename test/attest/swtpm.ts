import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A software TPM 2.0 (swtpm) on a loopback TCP port, with its state in a temp dir. */
export interface SoftTpm {
  /** TCTI for tpm2-tools: `swtpm:host=127.0.0.1,port=P`. */
  readonly tcti: string
  /** Runs a tpm2-tools command against this TPM. */
  run(tool: string, args: readonly string[]): Promise<string>
  /** Extends a sha256 PCR with `digestHex`, as a boot measurement would. */
  extend(pcr: number, digestHex: string): Promise<void>
  stop(): Promise<void>
}

function freePort(port = 0): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(undefined))
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined))
    })
  })
}

/** Two consecutive free ports: the swtpm TCTI always finds the control channel at port + 1. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port !== undefined && port < 65_535 && (await freePort(port + 1)) !== undefined) return port
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

/** Starts swtpm (`--flags startup-clear`, so it is ready for commands) and waits until it listens. */
export async function startSoftTpm(): Promise<SoftTpm> {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-swtpm-'))
  for (let attempt = 0; ; attempt++) {
    const port = await freePortPair()
    const ctrl = port + 1
    const child = spawn(
      'swtpm',
      [
        'socket',
        '--tpm2',
        '--server',
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl',
        `type=tcp,port=${ctrl},bindaddr=127.0.0.1`,
        '--tpmstate',
        `dir=${dir}`,
        '--flags',
        'startup-clear'
      ],
      { stdio: 'ignore' }
    )
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline && child.exitCode === null && !(await accepts(port)))
      await new Promise((r) => setTimeout(r, 20))
    if (child.exitCode === null && (await accepts(port))) {
      const tcti = `swtpm:host=127.0.0.1,port=${port}`
      const run = (tool: string, args: readonly string[]) =>
        new Promise<string>((resolve, reject) => {
          execFile(
            tool,
            [...args],
            { env: { ...process.env, TPM2TOOLS_TCTI: tcti }, timeout: 10_000 },
            (err, out, stderr) =>
              err ? reject(new Error(`${tool}: ${stderr}`, { cause: err })) : resolve(out)
          )
        })
      return {
        tcti,
        run,
        extend: async (pcr, digestHex) => {
          await run('tpm2_pcrextend', [`${pcr}:sha256=${digestHex}`])
        },
        stop: async () => {
          child.kill('SIGTERM')
          await exited(child)
          rmSync(dir, { recursive: true, force: true })
        }
      }
    }
    child.kill('SIGKILL')
    await exited(child)
    // Another process took the port between the probe and swtpm's bind: try other ports.
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error('swtpm did not start')
    }
  }
}
