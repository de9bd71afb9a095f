/**
 * Which chain and contract the audit trail writes to, and the local state that belongs to them:
 * the contract is found (or deployed on the embedded chain) and its bytecode checked; the
 * publisher's nonce, index position and unconfirmed work are reset when the chain, contract or
 * account changes; rows marked sent without a transaction in flight are queued again.
 */
import type { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import type { Logger } from '../log/logger.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
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
export function repairInFlight(repos: AuditRepositories): void {
  repos.transaction(() => {
    repos.outbox.requeueOrphaned()
    repos.batches.requeueOrphaned()
    repos.outbox.requeueRowsOfPendingBatches()
    repos.securityLog.requeueOrphanedAnchors()
  })
}

export function lastKnownChain(repos: AuditRepositories, init: ChainInit): KnownChain | undefined {
  const [chainId, address] = repos.chainState.chainBinding()?.split(':') ?? []
  if (!chainId || !address) return undefined
  if (init.contractAddress && init.contractAddress.toLowerCase() !== address) return undefined
  const record = readChainRecord(init.dataDir)
  const fromRecord = record?.contractAddress.toLowerCase() === address ? record.deployBlock : undefined
  return { address, chainId: Number(chainId), deployBlock: init.fromBlock ?? fromRecord ?? 0 }
}

// Nonces, the index and unconfirmed batch sequences belong to one chain, contract and account.
export function resetIfChainChanged(repos: AuditRepositories, logger: Logger, key: string): void {
  const previous = repos.chainState.chainBinding()
  if (previous === key) return
  repos.transaction(() => {
    repos.chainState.forgetChainProgress()
    repos.chainTxs.dropAllInFlight()
    repos.outbox.requeueAllSent()
    repos.batches.restartUnconfirmed()
    repos.securityLog.deleteUnconfirmedAnchors()
    repos.events.clear()
    repos.chainState.setChainBinding(key)
  })
  if (previous !== undefined)
    logger.warn({ previous, now: key }, 'audit chain changed: in-flight state reset')
}
