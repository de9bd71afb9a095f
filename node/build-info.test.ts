import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { gitCommit, readBuildInfo } from './build-info.ts'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
let dir: string
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function tree(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'dmn-build-info-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

describe('build info', () => {
  it('reads the version from package.json and the commit of a loose ref', () => {
    const root = tree({
      'package.json': JSON.stringify({ version: '2.3.4' }),
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${A}\n`
    })
    expect(readBuildInfo(root)).toEqual({ version: '2.3.4', nodeVersion: process.version, commit: A })
  })

  it('finds a packed ref, a detached HEAD and a linked worktree through its commondir', () => {
    expect(
      gitCommit(tree({ '.git/HEAD': 'ref: refs/heads/x', '.git/packed-refs': `# pack\n${B} refs/heads/x\n` }))
    ).toBe(B)
    rmSync(dir, { recursive: true, force: true })
    expect(gitCommit(tree({ '.git/HEAD': `${B}\n` }))).toBe(B)
    rmSync(dir, { recursive: true, force: true })
    const root = tree({
      'repo/.git/refs/heads/feature': A,
      'repo/.git/worktrees/wt/HEAD': 'ref: refs/heads/feature',
      'repo/.git/worktrees/wt/commondir': '../..',
      'wt/.git': 'gitdir: ../repo/.git/worktrees/wt'
    })
    expect(gitCommit(join(root, 'wt'))).toBe(A)
  })

  it('says unknown outside a checkout and without a package version', () => {
    const root = tree({ 'package.json': '{}' })
    expect(readBuildInfo(root)).toMatchObject({ version: 'unknown', commit: 'unknown' })
  })
})
