/**
 * Which chain and contract the audit trail writes to, and the local state that belongs to them:
 * the contract is found (or deployed on the embedded chain) and its bytecode checked; the
 * publisher's nonce, index position and unconfirmed work are reset when the chain, contract or
 * account changes; rows marked sent without a transaction in flight are queued again.
 */
import type { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import { EMBEDDED_BALANCE_WEI } from './constants.ts'
import { checkBytecode, deployAuditTrail, readChainRecord } from './deploy.ts'
import { AuditNotReadyError } from './errors.ts'
import { hexToNumber, type RpcClient, toHex } from './rpc-client.ts'

type ChainInit = Config['chain'] & { readonly dataDir: string }

export interface KnownChain {
  readonly address: string
  readonly deployBlock: number
  readonly chainId: number
}

const CHAIN_KEY = 'audit.chain'

export async function connectContract(
  rpc: RpcClient,
  wallet: Wallet,
  init: ChainInit,
  embedded: boolean
): Promise<KnownChain> {
  const chainId = hexToNumber(await rpc.call<string>('eth_chainId', []))
  if (embedded) {
    // The embedded chain is a fresh in-memory Hardhat network: fund the node's account, deploy.
    await rpc.call('hardhat_setBalance', [wallet.address, toHex(EMBEDDED_BALANCE_WEI)])
    const record = await deployAuditTrail(rpc, wallet)
    if (init.confirmations > 1) await rpc.call('evm_setIntervalMining', [1_000])
    return { address: record.contractAddress, deployBlock: record.deployBlock, chainId }
  }
  const record = readChainRecord(init.dataDir)
  const address = init.contractAddress ?? (record?.chainId === chainId ? record.contractAddress : undefined)
  if (!address) {
    throw new AuditNotReadyError(
      'no audit contract on this chain: run `dmn chain deploy` or set CHAIN_CONTRACT_ADDRESS'
    )
  }
  await checkBytecode(rpc, address)
  const fromRecord =
    record?.contractAddress.toLowerCase() === address.toLowerCase() ? record.deployBlock : undefined
  return { address, deployBlock: init.fromBlock ?? fromRecord ?? 0, chainId }
}

// A row marked sent whose transaction is no longer in flight goes back to the queue; the
// contract's duplicate guard settles it if it did land.
export function repairInFlight(db: Db): void {
  const t = new Date().toISOString()
  const inFlight = `SELECT tx_hash FROM chain_txs WHERE state = 'sent'`
  db.transaction(() => {
    db.prepare(
      `UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sent' AND batch_id IS NULL AND (tx_hash IS NULL OR tx_hash NOT IN (${inFlight}))`
    ).run(t)
    db.prepare(
      `UPDATE audit_batches SET state = 'pending', updated_at = ? WHERE state = 'sent' AND (tx_hash IS NULL OR tx_hash NOT IN (${inFlight}))`
    ).run(t)
    db.prepare(
      `UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sent' AND batch_id IN (SELECT id FROM audit_batches WHERE state = 'pending')`
    ).run(t)
    db.prepare(
      `UPDATE security_log_anchors SET state = 'pending', updated_at = ? WHERE state = 'sent' AND (tx_hash IS NULL OR tx_hash NOT IN (${inFlight}))`
    ).run(t)
  })()
}

export function lastKnownChain(db: Db, init: ChainInit): KnownChain | undefined {
  const row = db.prepare('SELECT value FROM node_state WHERE key = ?').get(CHAIN_KEY) as
    | { value: string }
    | undefined
  const [chainId, address] = row?.value.split(':') ?? []
  if (!chainId || !address) return undefined
  if (init.contractAddress && init.contractAddress.toLowerCase() !== address) return undefined
  const record = readChainRecord(init.dataDir)
  const fromRecord = record?.contractAddress.toLowerCase() === address ? record.deployBlock : undefined
  return { address, chainId: Number(chainId), deployBlock: init.fromBlock ?? fromRecord ?? 0 }
}

// Nonces, the index and unconfirmed batch sequences belong to one chain, contract and account.
export function resetIfChainChanged(db: Db, logger: Logger, key: string): void {
  const row = db.prepare('SELECT value FROM node_state WHERE key = ?').get(CHAIN_KEY) as
    | { value: string }
    | undefined
  if (row?.value === key) return
  const t = new Date().toISOString()
  db.transaction(() => {
    db.prepare(`DELETE FROM node_state WHERE key IN ('audit.next_nonce', 'audit.indexed_block')`).run()
    db.prepare(`UPDATE chain_txs SET state = 'dropped', updated_at = ? WHERE state = 'sent'`).run(t)
    db.prepare(`UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sent'`).run(t)
    db.prepare(
      `UPDATE audit_batches SET state = 'pending', first_sequence = NULL, updated_at = ? WHERE state IN ('pending', 'sent')`
    ).run(t)
    db.prepare(`DELETE FROM security_log_anchors WHERE state != 'confirmed'`).run()
    db.prepare(`DELETE FROM audit_events`).run()
    db.prepare(
      `INSERT INTO node_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
    ).run(CHAIN_KEY, key, t)
  })()
  if (row) logger.warn({ previous: row.value, now: key }, 'audit chain changed: in-flight state reset')
}
