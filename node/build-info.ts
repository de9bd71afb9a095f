import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * What build is running, for `dmn_build_info`: the package version, the Node.js version and the
 * git commit of the checkout when the code runs from one. Read once from files (never by spawning
 * git), so a scrape costs nothing.
 */
export interface BuildInfo {
  readonly version: string
  readonly nodeVersion: string
  /** 40 hex digits, or `unknown` outside a git checkout. */
  readonly commit: string
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const COMMIT = /^[0-9a-f]{40}$/

export function readBuildInfo(root: string = ROOT): BuildInfo {
  return { version: packageVersion(root), nodeVersion: process.version, commit: gitCommit(root) ?? 'unknown' }
}

function packageVersion(root: string): string {
  try {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }
    return typeof version === 'string' ? version : 'unknown'
  } catch {
    return 'unknown'
  }
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** HEAD's commit from the files git keeps: a worktree's `.git` file, loose refs, packed refs. */
export function gitCommit(root: string): string | undefined {
  let gitDir = join(root, '.git')
  const pointer = read(gitDir)
  if (pointer?.startsWith('gitdir: ')) {
    const target = pointer.slice('gitdir: '.length)
    gitDir = isAbsolute(target) ? target : join(root, target)
  }
  const head = read(join(gitDir, 'HEAD'))
  if (head === undefined) return undefined
  if (COMMIT.test(head)) return head
  if (!head.startsWith('ref: ')) return undefined
  const ref = head.slice('ref: '.length)
  // A linked worktree keeps its HEAD, the repository its refs (named by `commondir`).
  const common = read(join(gitDir, 'commondir'))
  const dirs = [gitDir, ...(common ? [isAbsolute(common) ? common : join(gitDir, common)] : [])]
  for (const dir of dirs) {
    const loose = read(join(dir, ref))
    if (loose && COMMIT.test(loose)) return loose
    const packed = read(join(dir, 'packed-refs'))
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`))
    const sha = line?.slice(0, 40)
    if (sha && COMMIT.test(sha)) return sha
  }
  return undefined
}
