/**
 * The stack's background processes: started detached (a session and process group of their own,
 * output to a log file), so they outlive `dmn dev up`; found again through pid files. A pid counts
 * as the stack's own only while its command line still names the file that identifies it (the
 * node's env file, anvil's state file), so a pid the system has since given to another program is
 * never signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { DevStackError } from './errors.ts'

export interface DetachedInit {
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly logFile: string
  readonly pidFile: string
}

/** Starts a detached process whose output goes to `logFile`; resolves once it runs (its pid file written). */
export async function startDetached(init: DetachedInit): Promise<ChildProcess> {
  const log = openSync(init.logFile, 'a', 0o600)
  let child: ChildProcess
  try {
    child = spawn(init.command, [...init.args], {
      cwd: init.cwd,
      env: init.env,
      detached: true,
      stdio: ['ignore', log, log]
    })
  } finally {
    closeSync(log)
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err) =>
      reject(new DevStackError(`cannot start ${init.command}: ${err.message}`, { cause: err }))
    )
  })
  writeFileSync(init.pidFile, `${child.pid}\n`, { mode: 0o600 })
  // The stack outlives this command: nothing here waits for the child.
  child.unref()
  return child
}

/** The pid in `pidFile` if that process runs and its command line names `marker`. */
export function runningPid(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined
  let cmdline: string[]
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return undefined
  }
  // A zombie keeps its /proc entry but has an empty command line.
  return cmdline.includes(marker) ? pid : undefined
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== ''
  } catch {
    return false
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (alive(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
  return true
}

/**
 * Stops the process of `pidFile` (when it is the one `marker` names) and its process group: SIGTERM
 * (a node drains and closes its database, anvil writes its state), SIGKILL after `graceMs`.
 * Returns whether a process was running.
 */
export async function stopDetached(pidFile: string, marker: string, graceMs: number): Promise<boolean> {
  const pid = runningPid(pidFile, marker)
  if (pid === undefined) {
    rmSync(pidFile, { force: true })
    return false
  }
  signalGroup(pid, 'SIGTERM')
  if (!(await gone(pid, graceMs))) {
    signalGroup(pid, 'SIGKILL')
    await gone(pid, 5_000)
  }
  rmSync(pidFile, { force: true })
  return true
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Started detached, the process leads its own group: the group holds whatever it started.
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // gone already
    }
  }
}

/** The last `lines` lines of a log file, for an error that points at it. */
export function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}
