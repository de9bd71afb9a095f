import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePcrPolicy } from '../../node/attest/index.ts'
import { runCli } from '../helpers/cli.ts'
import { tempDir } from '../p2p/helpers.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

const PEER = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECJ2wxMeiiGtyXs7e'

describe('dmn attest', () => {
  const recipient = tempDir('attest-cli-r')
  const sender = tempDir('attest-cli-s')
  let tpm: SoftTpm
  let env: Record<string, string>

  beforeAll(async () => {
    tpm = await startSoftTpm()
    await tpm.extend(10, 'ab'.repeat(32))
    env = { DMN_ATTEST_TCTI: tpm.tcti, DMN_ATTEST_AK_ALGORITHM: 'ecdsa' }
  })

  afterAll(async () => {
    await tpm?.stop()
    recipient.remove()
    sender.remove()
  })

  it('exports the AK on the recipient and enrols it on the sender under the same fingerprint', () => {
    const shown = runCli(['attest', 'show-ak', '--json', '--data-dir', recipient.path], env)
    expect(shown.status).toBe(0)
    const ak = JSON.parse(shown.stdout) as {
      fingerprint: string
      pem: string
      handle: string
      algorithm: string
    }
    expect(ak).toMatchObject({
      handle: '0x81010010',
      algorithm: 'ecdsa',
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/)
    })
    // The same key on a second run: the AK is persistent in the TPM, not made anew.
    expect(runCli(['attest', 'show-ak', '--data-dir', recipient.path], env).stdout.trim()).toBe(ak.pem.trim())

    const pemFile = join(sender.path, 'ak.pem')
    writeFileSync(pemFile, ak.pem)
    const enrolled = runCli(['attest', 'enroll', PEER, pemFile, '--data-dir', sender.path])
    expect(enrolled.status).toBe(0)
    expect(enrolled.stdout).toContain(ak.fingerprint)
    const listed = runCli(['attest', 'list', '--json', '--data-dir', sender.path])
    expect(JSON.parse(listed.stdout)).toMatchObject([{ peer_id: PEER, ak_fingerprint: ak.fingerprint }])
    expect(runCli(['attest', 'remove', PEER, '--data-dir', sender.path]).status).toBe(0)
    expect(runCli(['attest', 'list', '--data-dir', sender.path]).stdout).toBe('no AK enrolled\n')
    expect(JSON.parse(runCli(['attest', 'list', '--json', '--data-dir', sender.path]).stdout)).toEqual([])
  })

  it('writes the PCR baseline as a policy the verifier loads', () => {
    const out = join(recipient.path, 'policy.json')
    expect(runCli(['attest', 'baseline', '-o', out, '--data-dir', recipient.path], env).status).toBe(0)
    const policy = parsePcrPolicy(JSON.parse(readFileSync(out, 'utf8')))
    expect([...policy.pcrs.keys()]).toEqual([0, 7, 10])
    expect(policy.pcrs.get(10)?.has('00'.repeat(32))).toBe(false)
  })

  it('refuses to enrol something that is not a public key, and a bad PeerId', () => {
    const junk = join(sender.path, 'junk.bin')
    writeFileSync(junk, 'not a key')
    // --verbose prints the stack, whose first line carries the error's name.
    const refused = runCli(['attest', 'enroll', PEER, junk, '--data-dir', sender.path, '--verbose'])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/^dmn: AttestationMalformedError: /)
    expect(runCli(['attest', 'enroll', 'nobody', junk, '--data-dir', sender.path]).status).toBe(2)
  })

  it('names TpmUnavailableError when no TPM answers at the TCTI', () => {
    const result = runCli(['attest', 'show-ak', '--data-dir', recipient.path, '--verbose'], {
      DMN_ATTEST_TCTI: 'swtpm:host=127.0.0.1,port=1'
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/^dmn: TpmUnavailableError: /)
  })
})
