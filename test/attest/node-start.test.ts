import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, spawnCli, waitForLog } from '../helpers/cli.ts'
import { tempDir } from '../p2p/helpers.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

const ZERO = '00'.repeat(32)

describe('dmn start with attestation configured', () => {
  const dir = tempDir('attest-start')
  let tpm: SoftTpm
  const env = (extra: Record<string, string>) => ({
    KEY_MASTER_PASSWORD: 'test-password',
    DMN_P2P_PORT: '0',
    DMN_API_INTERNAL_PORT: '0',
    DMN_API_EXTERNAL_PORT: '0',
    DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
    DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
    ...extra
  })

  beforeAll(async () => {
    tpm = await startSoftTpm()
  })

  afterAll(async () => {
    await tpm?.stop()
    dir.remove()
  })

  it('prepares the AK in the TPM and loads the policy before the node is ready', async () => {
    const policyFile = join(dir.path, 'policy.json')
    writeFileSync(
      policyFile,
      JSON.stringify({ bank: 'sha256', pcrs: { '0': [ZERO], '7': [ZERO], '10': [ZERO] } })
    )
    const child = spawnCli(
      ['start', '--data-dir', join(dir.path, 'node')],
      env({ DMN_ATTEST_ENABLED: 'true', DMN_ATTEST_TCTI: tpm.tcti, DMN_ATTEST_POLICY_FILE: policyFile })
    )
    try {
      const attested = await waitForLog(child, 'TPM attestation ready')
      expect(attested).toMatchObject({ akHandle: '0x81010010' })
      await waitForLog(child, 'node ready')
      // The AK the node made is the one the operator exports.
      const shown = runCli(['attest', 'show-ak', '--json', '--data-dir', join(dir.path, 'node')], {
        DMN_ATTEST_TCTI: tpm.tcti
      })
      expect(JSON.parse(shown.stdout)).toMatchObject({ handle: '0x81010010' })
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }, 60_000)

  it('does not start when attestation is enabled and no TPM answers', () => {
    const result = runCli(
      ['start', '--data-dir', join(dir.path, 'no-tpm'), '--verbose'],
      env({ DMN_ATTEST_ENABLED: 'true', DMN_ATTEST_TCTI: 'swtpm:host=127.0.0.1,port=1' })
    )
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/TpmUnavailableError/)
  }, 60_000)
})
