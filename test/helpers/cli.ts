import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Runs the real `dmn` CLI in a child process, as an operator would (without the bash wrapper). */

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = fileURLToPath(new URL('../../node/cli/main.ts', import.meta.url))
const NODE_FLAGS = ['--experimental-strip-types', '--disable-warning=ExperimentalWarning']
/** As the `dmn` wrapper runs it: `--` keeps Node from reading the CLI's `--env-file` as its own. */
const CLI_ARGS = [CLI, '--']

/** An environment without the caller's DMN_* and anchor variables, so tests see only what they set. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith('DMN_') ||
      [
        'KEY_MASTER_PASSWORD',
        'DATA_DIR',
        'P2P_PORT',
        'INITIAL_PEERS',
        'BLOCKCHAIN_URL',
        'PRIVATE_KEY',
        'CHAIN_RPC_URL',
        'LOG_LEVEL'
      ].includes(k)
    )
      continue
    env[k] = v
  }
  return { ...env, ...extra }
}

export interface CliResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The CLI reads `./.env` when present: by default it runs in an empty directory of its own, so a
 * developer's `.env` in the checkout never reaches a test.
 */
const NEUTRAL_CWD = mkdtempSync(join(tmpdir(), 'dmn-cli-cwd-'))

/** Where the CLI runs: an empty directory unless `cwd` is given (a `.env` there is read). */
export interface CliOptions {
  readonly cwd?: string
}

export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: CliOptions = {}
): CliResult {
  const result = spawnSync(process.execPath, [...NODE_FLAGS, ...CLI_ARGS, ...args], {
    cwd: options.cwd ?? NEUTRAL_CWD,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 30_000
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

export function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: CliOptions = {}
): ChildProcess {
  return spawn(process.execPath, [...NODE_FLAGS, ...CLI_ARGS, ...args], {
    cwd: options.cwd ?? NEUTRAL_CWD,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/** Resolves with the first stdout JSON log line whose `msg` is `msg`; rejects if the process exits first. */
export function waitForLog(
  child: ChildProcess,
  msg: string,
  timeoutMs = 30_000
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    let stderr = ''
    const timer = setTimeout(
      () => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs
    )
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk)
    })
    child.stdout?.on('data', (chunk) => {
      buffer += String(chunk)
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>
          if (parsed['msg'] === msg) {
            clearTimeout(timer)
            resolve(parsed)
          }
        } catch {
          // not a log line
        }
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`process exited with ${code} before "${msg}"; stderr: ${stderr}`))
    })
  })
}

export function waitForExit(
  child: ChildProcess
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
