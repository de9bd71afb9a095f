import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StackDocument } from '../../node/cli/dev/layout.ts'
import { type CliOptions, type CliResult, spawnCli } from './cli.ts'

/**
 * The real `dmn` CLI in a child process, awaited: for commands that run longer than `runCli`'s
 * 30 s bound (`dmn dev up` starts a chain and nodes) and that must not block the test's event loop.
 */
export function runCliAsync(
  args: readonly string[],
  env: Record<string, string> = {},
  options: CliOptions & { timeoutMs?: number } = {}
): Promise<CliResult> {
  const child = spawnCli(args, env, options)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk)
  })
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(`dmn ${args.join(' ')} did not end within ${options.timeoutMs ?? 120_000} ms: ${stderr}`)
      )
    }, options.timeoutMs ?? 120_000)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

/** The stack document `dmn dev up` wrote in `dir`. */
export function stackIn(dir: string): StackDocument {
  return JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as StackDocument
}

/** Every pid file of the stack in `dir` and the pid it holds. */
export function stackPids(dir: string, stack: StackDocument): number[] {
  const files = [join(dir, 'chain', 'anvil.pid'), ...stack.nodes.map((n) => join(dir, n.name, 'node.pid'))]
  return files.filter((f) => existsSync(f)).map((f) => Number(readFileSync(f, 'utf8').trim()))
}

/** Sends `data` from `from` to `recipient` through the external API (`POST /share_data`). */
export async function share(
  from: { external_url: string; api_key: string },
  recipient: string,
  data: string
): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response
  try {
    response = await fetch(`${from.external_url}/share_data`, {
      method: 'POST',
      headers: { 'X-API-Key': from.api_key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ data, recipient })
    })
  } catch (err) {
    throw new Error(
      `POST ${from.external_url}/share_data: ${(err as Error).message} (${String((err as Error).cause)})`,
      { cause: err }
    )
  }
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

export async function getJson(
  url: string,
  key: string
): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response
  try {
    response = await fetch(url, { headers: { 'X-API-Key': key } })
  } catch (err) {
    throw new Error(`GET ${url}: ${(err as Error).message} (${String((err as Error).cause)})`, { cause: err })
  }
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/**
 * Whether `pid` runs. A detached process outlives the CLI that started it and is re-parented; where
 * nothing reaps it, it stays a zombie after exiting, which `kill(pid, 0)` still finds.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}
