import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fernetEncrypt, generateFernetKey } from './fernet.ts'
import type { KeyRing } from './key-ring.ts'
import { createKeyRing, openKeyRing } from './key-ring-open.ts'
import { generateRsaKeyPair, type RsaKeyPairPem, signPss, verifyPss } from './rsa.ts'

let dir: string
let identity: { signing: RsaKeyPairPem; encryption: RsaKeyPairPem }
let ring: KeyRing
let path: string
const PASSWORD = 'correct horse battery staple'
const bytes = (s: string) => new Uint8Array(Buffer.from(s))
const text = (b: Uint8Array) => Buffer.from(b).toString()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-ring-'))
  const [signing, encryption] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  identity = { signing, encryption }
  path = join(dir, 'keyring.json')
  ring = await createKeyRing(path, PASSWORD, { identity })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('key ring', () => {
  it('writes a 0600 file recording its PBKDF2 parameters and no plaintext key', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const file = JSON.parse(readFileSync(path, 'utf8'))
    expect(file.kdf).toMatchObject({ algorithm: 'PBKDF2-HMAC-SHA256', iterations: 600_000 })
    expect(Buffer.from(file.kdf.salt, 'base64')).toHaveLength(16)
    expect(readFileSync(path, 'utf8')).not.toContain('PRIVATE KEY')
  })

  it('reopens with the password: same identity, data keys, secrets', async () => {
    const { keyVersion, token } = ring.encrypt(bytes('record'))
    await ring.setSecret('libp2p', bytes('peer key bytes'))
    const again = await openKeyRing(path, PASSWORD)
    expect(again.identity).toEqual(identity)
    expect(text(again.decrypt(keyVersion, token))).toBe('record')
    expect(text(again.getSecret('libp2p') as Uint8Array)).toBe('peer key bytes')
    expect(again.getSecret('absent')).toBeUndefined()
    const sig = signPss(again.identity.signing.privateKeyPem, bytes('x'))
    expect(verifyPss(identity.signing.publicKeyPem, bytes('x'), sig)).toBe(true)
  })

  it('refuses to create over an existing ring', async () => {
    await expect(createKeyRing(path, PASSWORD, { identity })).rejects.toMatchObject({
      name: 'KeyRingExistsError'
    })
  })

  it('refuses iterations below 600,000', async () => {
    await expect(
      createKeyRing(join(dir, 'weak.json'), PASSWORD, { identity, iterations: 1000 })
    ).rejects.toMatchObject({
      name: 'KeyRingParameterError'
    })
  })

  it('tells a wrong password from a damaged file and changes neither', async () => {
    const before = readFileSync(path)
    await expect(openKeyRing(path, 'wrong password')).rejects.toMatchObject({
      name: 'KeyRingWrongPasswordError'
    })
    const damaged = join(dir, 'damaged.json')
    const copy = Buffer.from(before)
    const at = copy.indexOf('"ciphertext": "') + 20
    copy[at] = copy[at] === 0x41 ? 0x42 : 0x41
    writeFileSync(damaged, copy)
    await expect(openKeyRing(damaged, PASSWORD)).rejects.toMatchObject({ name: 'KeyRingCorruptError' })
    writeFileSync(damaged, before.subarray(0, 100))
    await expect(openKeyRing(damaged, PASSWORD)).rejects.toMatchObject({ name: 'KeyRingCorruptError' })
    await expect(openKeyRing(join(dir, 'none.json'), PASSWORD)).rejects.toMatchObject({
      name: 'KeyRingNotFoundError'
    })
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  it('rotates: new primary, old versions keep decrypting until retired, then destroyed', async () => {
    const old = ring.encrypt(bytes('old'))
    const v = await ring.rotate()
    expect(v).toBe(old.keyVersion + 1)
    expect(ring.primaryVersion).toBe(v)
    expect(ring.encrypt(bytes('new')).keyVersion).toBe(v)
    expect(text(ring.decrypt(old.keyVersion, old.token))).toBe('old')
    await ring.setMinimumDecryptionVersionUnchecked(v)
    expect(() => ring.decrypt(old.keyVersion, old.token)).toThrow(
      expect.objectContaining({ name: 'KeyVersionRetiredError' })
    )
    expect(text(ring.decryptForRewrap(old.keyVersion, old.token))).toBe('old')
    expect(await ring.destroyRetiredVersionsUnchecked()).toContain(old.keyVersion)
    expect(() => ring.decryptForRewrap(old.keyVersion, old.token)).toThrow(
      expect.objectContaining({ name: 'KeyVersionDestroyedError' })
    )
    expect(() => ring.decrypt(99, old.token)).toThrow(
      expect.objectContaining({ name: 'KeyVersionUnknownError' })
    )
    await expect(ring.setMinimumDecryptionVersionUnchecked(1)).rejects.toMatchObject({
      name: 'KeyVersionDestroyedError'
    })
    const reopened = await openKeyRing(path, PASSWORD)
    expect(reopened.versions().map((x) => x.state)).toEqual(ring.versions().map((x) => x.state))
  })

  it('imports foreign data keys below a fresh primary', async () => {
    const theirs = generateFernetKey()
    const token = fernetEncrypt(theirs, bytes('legacy'))
    const mapping = await ring.importDataKeys(new Map([[1, theirs]]), 'datamgmt')
    const ours = mapping.get(1) as number
    expect(text(ring.decrypt(ours, token))).toBe('legacy')
    expect(ring.primaryVersion).toBe(ours + 1)
    expect(ring.versions().find((x) => x.version === ours)?.origin).toBe('datamgmt:1')
  })

  it('re-keys under a new password and keeps everything', async () => {
    const { keyVersion, token } = ring.encrypt(bytes('kept'))
    await ring.changePassword('new password', { iterations: 700_000 })
    await expect(openKeyRing(path, PASSWORD)).rejects.toMatchObject({ name: 'KeyRingWrongPasswordError' })
    const again = await openKeyRing(path, 'new password')
    expect(again.kdf.iterations).toBe(700_000)
    expect(text(again.decrypt(keyVersion, token))).toBe('kept')
  })
})
