import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { network } from 'hardhat'

const { ethers } = await network.create()

describe('AuditTrail', () => {
  const shareId = '0x0123456789abcdef0123456789abcdef'
  const dataHash = `0x${'ab'.repeat(32)}`

  it('emits ShareRecorded with the share id and data hash', async () => {
    const trail = await ethers.deployContract('AuditTrail')
    const receipt = await (await trail.getFunction('recordShare')(shareId, dataHash)).wait()
    const [log] = receipt?.logs ?? []
    assert.ok(log)
    const parsed = trail.interface.parseLog(log)
    assert.equal(parsed?.name, 'ShareRecorded')
    assert.equal(parsed?.args.shareId, shareId)
    assert.equal(parsed?.args.dataHash, dataHash)
    assert.equal(await trail.getFunction('isRecorded')(shareId), true)
  })

  it('refuses a share recorded twice with AuditTrailDuplicateShare', async () => {
    const trail = await ethers.deployContract('AuditTrail')
    await (await trail.getFunction('recordShare')(shareId, dataHash)).wait()
    await assert.rejects(
      trail.getFunction('recordShare')(shareId, dataHash),
      (err: Error & { data?: string }) => {
        const decoded = trail.interface.parseError(err.data ?? '0x')
        assert.equal(decoded?.name, 'AuditTrailDuplicateShare')
        return true
      }
    )
  })
})
