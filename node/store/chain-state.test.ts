import { afterEach, describe, expect, it } from 'vitest'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

describe('chain state repository', () => {
  it('reads back the last chain binding, nonce, index position and config snapshot written', () => {
    t = auditTestDb()
    const state = t.repos.chainState
    expect([state.chainBinding(), state.nextNonce(), state.indexedBlock(), state.configSnapshot()]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined
    ])
    state.setChainBinding('31337:0xc:0xa')
    state.setNextNonce(4)
    state.setNextNonce(5)
    state.setIndexedBlock(0)
    state.setConfigSnapshot('[]')
    expect([state.chainBinding(), state.nextNonce(), state.indexedBlock(), state.configSnapshot()]).toEqual([
      '31337:0xc:0xa',
      5,
      0,
      '[]'
    ])
  })

  it('forgets the nonce and index position of a chain but keeps its binding, genesis and the config', () => {
    t = auditTestDb()
    const state = t.repos.chainState
    state.setChainBinding('1:0xc:0xa')
    state.setNextNonce(9)
    state.setIndexedBlock(100)
    state.setConfigSnapshot('[["a","b"]]')
    state.setGenesisHash('0xgenesis')
    state.forgetChainProgress()
    expect([state.nextNonce(), state.indexedBlock()]).toEqual([undefined, undefined])
    expect([state.chainBinding(), state.configSnapshot(), state.genesisHash()]).toEqual([
      '1:0xc:0xa',
      '[["a","b"]]',
      '0xgenesis'
    ])
    state.setIndexedBlock(7)
    state.forgetIndexedBlock()
    expect(state.indexedBlock()).toBeUndefined()
  })
})
