import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AttestService, type AttestInit } from '../../node/attest/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import type { EnrolmentRepository } from '../../node/store/enrolments.ts'
import { tempDir } from '../p2p/helpers.ts'

const logger = createLogger({ level: 'silent' })
const noEnrolments = (): EnrolmentRepository => {
  throw new Error('no database in this test')
}
const init = (overrides: Partial<AttestInit>): AttestInit => ({
  enabled: false,
  tcti: 'swtpm:host=127.0.0.1,port=1',
  akHandle: '0x81010010',
  akAlgorithm: 'rsassa',
  commandTimeoutMs: 5_000,
  ...overrides
})

describe('AttestService start and defaults', () => {
  const dir = tempDir('attest-service')
  afterAll(() => dir.remove())

  it('without a TPM answers is_available false and does not verify (the default)', async () => {
    const service = new AttestService({ enrolments: noEnrolments, logger }, init({}))
    await service.start()
    expect(service.verifies).toBe(false)
    const nonce = new Uint8Array(16)
    expect(await service.answer({ payloadId: 'a'.repeat(32), nonce })).toMatchObject({
      is_available: false,
      quote_b64: null
    })
    expect(await service.akPublic()).toBeUndefined()
    expect(() => service.verify('peer', {}, { payloadId: 'a'.repeat(32), nonce })).toThrow(
      expect.objectContaining({ name: 'PcrPolicyFileError' })
    )
  })

  it('refuses to start when enabled and no TPM answers at the TCTI, with TpmUnavailableError', async () => {
    const service = new AttestService({ enrolments: noEnrolments, logger }, init({ enabled: true }))
    await expect(service.start()).rejects.toHaveProperty('name', 'TpmUnavailableError')
  })

  it('refuses to start with an invalid policy file, with PcrPolicyFileError', async () => {
    const policyFile = join(dir.path, 'policy.json')
    writeFileSync(policyFile, JSON.stringify({ bank: 'sha256', pcrs: { '0': ['00'.repeat(32)] } }))
    const service = new AttestService({ enrolments: noEnrolments, logger }, init({ policyFile }))
    expect(service.verifies).toBe(true)
    await expect(service.start()).rejects.toHaveProperty('name', 'PcrPolicyFileError')
  })
})
