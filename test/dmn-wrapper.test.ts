import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from './helpers/cli.ts'

/** A PATH holding only the shell tools the wrapper uses: no node, no npm. */
function bareToolsPath(): string {
  const bin = mkdtempSync(join(tmpdir(), 'dmn-bin-'))
  for (const tool of ['bash', 'uname', 'sha256sum', 'cut', 'dirname', 'mkdir', 'rm', 'mv']) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
    symlinkSync(found, join(bin, tool))
  }
  return bin
}

describe('./dmn wrapper', () => {
  it('says in one line what to install when there is neither a recent Node nor npm', () => {
    const checkout = mkdtempSync(join(tmpdir(), 'dmn-checkout-'))
    mkdirSync(join(checkout, 'node'), { recursive: true })
    copyFileSync(join(PROJECT_ROOT, 'dmn'), join(checkout, 'dmn'))
    const bin = bareToolsPath()
    const result = spawnSync(join(bin, 'bash'), [join(checkout, 'dmn'), '--version'], {
      env: { PATH: bin, HOME: checkout },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe']
    })
    expect(result.status).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dmn: Node >= 22\.13 is needed and npm is not installed/)
    ])
  })

  it('hands over to the CLI without installing anything when all is in place', () => {
    const result = spawnSync(join(PROJECT_ROOT, 'dmn'), ['--version'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8'
    })
    expect(result.status).toBe(0)
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
    expect(result.stderr).not.toContain('installing')
  })
})
