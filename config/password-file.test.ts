import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../node/core/errors.ts'
import { loadConfig, redactConfig } from './index.ts'

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

const dir = () => mkdtempSync(join(tmpdir(), 'dmn-password-file-'))

describe('masterPasswordFile', () => {
  it('reads the master password from the file named by DMN_MASTER_PASSWORD_FILE, without its final newline', () => {
    const file = join(dir(), 'pw')
    writeFileSync(file, 'a passphrase with spaces \n')
    const config = loadConfig({ env: { DMN_MASTER_PASSWORD_FILE: file } })
    expect(config.masterPassword).toBe('a passphrase with spaces ')
    expect(JSON.stringify(redactConfig(config))).not.toContain('a passphrase')
  })

  it("takes a relative name in systemd's $CREDENTIALS_DIRECTORY", () => {
    const credentials = dir()
    writeFileSync(join(credentials, 'master-password'), 'from a credential')
    const config = loadConfig({
      env: { DMN_MASTER_PASSWORD_FILE: 'master-password', CREDENTIALS_DIRECTORY: credentials }
    })
    expect(config.masterPassword).toBe('from a credential')
  })

  it('names the variable and the path when the file cannot be read or is empty', () => {
    const missing = join(dir(), 'absent')
    expect(problemsOf(() => loadConfig({ env: { DMN_MASTER_PASSWORD_FILE: missing } }))).toEqual([
      `masterPasswordFile (from DMN_MASTER_PASSWORD_FILE): cannot read ${missing} (ENOENT)`
    ])
    const empty = join(dir(), 'empty')
    writeFileSync(empty, '\n')
    expect(problemsOf(() => loadConfig({ env: { DMN_MASTER_PASSWORD_FILE: empty } }))).toEqual([
      `masterPasswordFile (from DMN_MASTER_PASSWORD_FILE): ${empty} is empty`
    ])
  })

  it('refuses a password file next to a password, rather than picking one', () => {
    const file = join(dir(), 'pw')
    writeFileSync(file, 'one')
    expect(
      problemsOf(() => loadConfig({ env: { DMN_MASTER_PASSWORD_FILE: file, KEY_MASTER_PASSWORD: 'other' } }))
    ).toEqual([
      'masterPasswordFile (from DMN_MASTER_PASSWORD_FILE): masterPassword is set too (from KEY_MASTER_PASSWORD); set only one of them'
    ])
  })
})
