/**
 * Runs a local chain process (the embedded anvil, or `hardhat node` for tests and benchmarks) and
 * makes sure it never outlives the process that started it. The owner holds this process's stdin
 * open; when the owner exits for any reason, even SIGKILL, the pipe closes and the guard stops the
 * chain with SIGTERM (anvil writes its state file on SIGTERM). The owner starts the guard in its own
 * process group, so stopping the group stops both.
 *
 *   node chain-guard.ts [--pid-file FILE] [--state-file FILE --good-copy FILE] -- <command> <args...>
 *
 * `--pid-file`: written once the chain runs (`{guard, chain, command}`), removed when it exits, so a
 * later owner can find and stop a chain left behind by a guard that was killed itself.
 * `--state-file` / `--good-copy`: anvil rewrites its state file in place (truncate, then write), so a
 * crash in the middle leaves a file it refuses to load. Every few seconds the guard copies the state
 * file, once it parses as JSON, to the good copy (temp file, fsync, rename): the owner falls back to
 * it when the state file is broken.
 */
import { spawn } from 'node:child_process'
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { parseArgs } from 'node:util'

// How often the state file is checked for a new complete version to keep.
const GOOD_COPY_INTERVAL_MS = 3_000

const { values, positionals } = parseArgs({
  options: {
    'pid-file': { type: 'string' },
    'state-file': { type: 'string' },
    'good-copy': { type: 'string' }
  },
  allowPositionals: true
})
const [command, ...args] = positionals
if (!command) {
  process.stderr.write(
    'usage: chain-guard.ts [--pid-file F] [--state-file F --good-copy F] -- <command> <args...>\n'
  )
  process.exit(2)
}
const pidFile = values['pid-file']
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
if (pidFile && child.pid !== undefined) {
  writeFileSync(pidFile, `${JSON.stringify({ guard: process.pid, chain: child.pid, command })}\n`, {
    mode: 0o600
  })
}

let stopping = false
const stopChild = () => {
  if (stopping) return
  stopping = true
  // One SIGTERM only: a second one could cut anvil's final state dump short.
  child.kill('SIGTERM')
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
}
process.stdin.on('end', stopChild)
process.stdin.on('close', stopChild)
process.stdin.on('error', stopChild)
process.stdin.resume()
process.on('SIGTERM', stopChild)
process.on('SIGINT', stopChild)

const stateFile = values['state-file']
const goodCopy = values['good-copy']
let keptMtimeMs = 0
const keepGoodCopy = () => {
  if (!stateFile || !goodCopy) return
  try {
    const { mtimeMs } = statSync(stateFile)
    if (mtimeMs === keptMtimeMs) return
    const text = readFileSync(stateFile, 'utf8')
    JSON.parse(text)
    const tmp = `${goodCopy}.tmp`
    writeFileSync(tmp, text, { mode: 0o600 })
    const fd = openSync(tmp, 'r')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, goodCopy)
    keptMtimeMs = mtimeMs
  } catch {
    // Not there yet, or caught in the middle of a rewrite: the next round tries again.
  }
}
const keeper = stateFile && goodCopy ? setInterval(keepGoodCopy, GOOD_COPY_INTERVAL_MS) : undefined

child.on('exit', (code, signal) => {
  if (keeper) clearInterval(keeper)
  // The final dump (on SIGTERM) is complete: keep it as the good copy too.
  if (code === 0 || signal === 'SIGTERM') keepGoodCopy()
  if (pidFile) rmSync(pidFile, { force: true })
  process.exit(code ?? (signal ? 0 : 1))
})
