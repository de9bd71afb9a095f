import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fernetDecrypt, importDatamgmtKeyFile, keyRingPath, openKeyRing } from '../../node/crypto/index.ts'
import { runCli } from '../helpers/cli.ts'
import { PYTHON } from './pyca.ts'

/** Import of DataMgmt Node's encryption_keys.json, made by a Python script following its key_manager.py. */

const MAKER = fileURLToPath(new URL('./interop/make-datamgmt-keyfile.py', import.meta.url))
const PASSWORD = 'the old node password'
let dir: string
let file: string
let made: { keys: Record<string, string>; tokens: Record<string, string> }

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-import-'))
  file = join(dir, 'encryption_keys.json')
  made = JSON.parse(execFileSync(PYTHON, [MAKER, file, PASSWORD, '3'], { encoding: 'utf8', timeout: 60_000 }))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('DataMgmt Node key file import', () => {
  it('unwraps every data key of the file with its password', async () => {
    const keys = await importDatamgmtKeyFile(file, PASSWORD)
    expect([...keys.keys()].sort()).toEqual([1, 2, 3])
    for (const [version, key] of keys) {
      expect(key).toBe(made.keys[String(version)])
      expect(Buffer.from(fernetDecrypt(key, made.tokens[String(version)] as string)).toString()).toBe(
        `record v${version}`
      )
    }
  })

  it('refuses a wrong password and a malformed file with distinct errors', async () => {
    await expect(importDatamgmtKeyFile(file, 'not it')).rejects.toMatchObject({
      name: 'DatamgmtWrongPasswordError'
    })
    const bad = join(dir, 'bad.json')
    for (const content of [
      '{not json',
      '{"salt": "!!", "current_version": 1, "keys": {"1": "x"}}',
      '{"salt": "AAAA", "current_version": 1, "keys": {}}'
    ]) {
      writeFileSync(bad, content)
      await expect(importDatamgmtKeyFile(bad, PASSWORD)).rejects.toMatchObject({
        name: 'DatamgmtKeyFileError'
      })
    }
    await expect(importDatamgmtKeyFile(join(dir, 'missing.json'), PASSWORD)).rejects.toMatchObject({
      name: 'DatamgmtKeyFileError'
    })
  })

  it('`dmn keys import --from-datamgmt` makes the old node data decrypt here, under a fresh primary', async () => {
    const dataDir = join(dir, 'node')
    const env = {
      DMN_MASTER_PASSWORD: 'new node password',
      DMN_DATA_DIR: dataDir,
      DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
      DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
      OLD_PASSWORD: PASSWORD
    }
    expect(runCli(['keys', 'init'], env).status).toBe(0)
    const wrong = runCli(['keys', 'import', '--from-datamgmt', file], env)
    expect(wrong.status).toBe(1)
    const result = runCli(
      ['keys', 'import', '--from-datamgmt', file, '--source-password-env', 'OLD_PASSWORD'],
      env
    )
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const ring = await openKeyRing(keyRingPath(dataDir), 'new node password')
    for (const version of ['1', '2', '3']) {
      const ours = ring.versions().find((v) => v.origin === `datamgmt:${version}`)?.version as number
      expect(Buffer.from(ring.decrypt(ours, made.tokens[version] as string)).toString()).toBe(
        `record v${version}`
      )
    }
    expect(ring.primaryVersion).toBe(5)
    expect(ring.versions().find((v) => v.version === 5)?.origin).toBeUndefined()
    ring.close()
  })
})
