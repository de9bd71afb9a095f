/**
 * Which chain and contract the audit trail writes to, and the local state that belongs to them:
 * the contract is found (or deployed on the embedded chain) and its bytecode checked; the
 * publisher's nonce, index position and unconfirmed work are reset when the configured chain,
 * contract or account changes; everything confirmed on a chain that was reset or replaced goes back
 * to the queue, marked `chain_reset`; confirmed transactions the chain lost (a reorg, the last
 * second of an embedded chain killed with -9) go back in flight with their very bytes; jobs marked
 * sent without a transaction in flight get their own last transaction back in flight.
 */
import { join } from 'node:path'
import type { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import type { Logger } from '../log/logger.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { ChainTx } from '../store/chain-txs.ts'
import { EMBEDDED_BALANCE_WEI, EMBEDDED_CHAIN_DIR } from './constants.ts'
import {
  type ChainRecord,
  checkBytecode,
  deployAuditTrail,
  readChainRecord,
  writeChainRecord
} from './deploy.ts'
import { AuditNotReadyError, ContractBytecodeMismatchError } from './errors.ts'
import { jobFromKey } from './jobs.ts'
import { hexToNumber, type RpcClient, toHex } from './rpc-client.ts'

type ChainInit = Config['chain'] & { readonly dataDir: string }
type Opts = { signal?: AbortSignal }

/**
 * The chain and contract the trail writes to now. One object is shared by the sender, the
 * publisher and the chain watch; only the chain watch changes it (chain id after a replacement,
 * address and deployment block after it deployed the contract again).
 */
export interface ChainTarget {
  address: string
  deployBlock: number
  chainId: number
}

/** What identifies a chain: its id and the hash of its genesis block. */
export interface ObservedChain {
  readonly chainId: number
  readonly genesisHash: string
}

/** Where the embedded chain keeps its state and the node's record of the contract it deployed there. */
export const embeddedChainDir = (dataDir: string): string => join(dataDir, EMBEDDED_CHAIN_DIR)

/** `<chainId>:<contract>:<account>`, lower case: what the local chain state belongs to. */
export const bindingKey = (target: ChainTarget, account: string): string =>
  `${target.chainId}:${target.address.toLowerCase()}:${account.toLowerCase()}`

export async function observeChain(rpc: RpcClient, opts: Opts = {}): Promise<ObservedChain> {
  const [chainId, genesis] = await Promise.all([
    rpc.call<string>('eth_chainId', [], opts),
    rpc.call<{ hash: string } | null>('eth_getBlockByNumber', ['0x0', false], opts)
  ])
  if (!genesis) throw new AuditNotReadyError('the chain has no genesis block')
  return { chainId: hexToNumber(chainId), genesisHash: genesis.hash.toLowerCase() }
}

/** Whether `address` holds the shipped AuditTrail runtime code. */
export async function holdsAuditTrail(rpc: RpcClient, address: string, opts: Opts = {}): Promise<boolean> {
  try {
    await checkBytecode(rpc, address, opts)
    return true
  } catch (err) {
    if (err instanceof ContractBytecodeMismatchError) return false
    throw err
  }
}

/** Tops the node's account up on the embedded chain (its own dev chain) when it runs low. */
export async function fundOnEmbedded(rpc: RpcClient, address: string, opts: Opts = {}): Promise<void> {
  const balance = BigInt(await rpc.call<string>('eth_getBalance', [address, 'latest'], opts))
  if (balance < EMBEDDED_BALANCE_WEI / 2n)
    await rpc.call('anvil_setBalance', [address, toHex(EMBEDDED_BALANCE_WEI)], opts)
}

/**
 * The contract on the embedded chain: the one the node deployed there before while the chain still
 * holds it, else a new deployment (recorded in `<dataDir>/chain/chain.json`, returned as `deployed`).
 */
export async function embeddedContract(
  rpc: RpcClient,
  wallet: Wallet,
  dataDir: string,
  opts: Opts = {}
): Promise<ChainTarget & { readonly deployed?: ChainRecord }> {
  const chainId = hexToNumber(await rpc.call<string>('eth_chainId', [], opts))
  await fundOnEmbedded(rpc, wallet.address, opts)
  const dir = embeddedChainDir(dataDir)
  const record = readChainRecord(dir)
  if (record && record.chainId === chainId && (await holdsAuditTrail(rpc, record.contractAddress, opts))) {
    return { address: record.contractAddress, deployBlock: record.deployBlock, chainId }
  }
  const deployed = await deployAuditTrail(rpc, wallet, opts)
  writeChainRecord(dir, deployed)
  return { address: deployed.contractAddress, deployBlock: deployed.deployBlock, chainId, deployed }
}

/**
 * The contract on a configured chain: `chain.contractAddress`, else the one `dmn chain deploy`
 * recorded. Its bytecode is checked, unless it is the contract the node wrote to before: then a
 * missing contract is a chain that changed under the node, which the chain watch handles.
 */
export async function configuredContract(
  rpc: RpcClient,
  init: ChainInit,
  repos: AuditRepositories,
  opts: Opts = {}
): Promise<ChainTarget> {
  const chainId = hexToNumber(await rpc.call<string>('eth_chainId', [], opts))
  const record = readChainRecord(init.dataDir)
  const bound = repos.chainState.chainBinding()?.split(':')[1]
  const recorded =
    record && (record.chainId === chainId || bound === record.contractAddress.toLowerCase())
      ? record.contractAddress
      : undefined
  const address = init.contractAddress ?? recorded
  if (!address) {
    throw new AuditNotReadyError(
      'no audit contract on this chain: run `dmn chain deploy` or set CHAIN_CONTRACT_ADDRESS'
    )
  }
  if (bound !== address.toLowerCase()) await checkBytecode(rpc, address, opts)
  const fromRecord =
    record?.contractAddress.toLowerCase() === address.toLowerCase() ? record.deployBlock : undefined
  return { address, deployBlock: init.fromBlock ?? fromRecord ?? 0, chainId }
}

/**
 * Jobs marked sent without a transaction in flight. Sending them again as new transactions could
 * put their event on chain twice (their last transaction may still be mined), so the last one of
 * each goes back in flight instead: the tracker sees it confirmed, sends its very bytes again, or
 * finds its nonce spent and checks every transaction of the job before the job is queued again.
 * A job that never had a transaction (of this chain, contract and account) simply goes back to
 * the queue.
 */
export function repairInFlight(repos: AuditRepositories, isOurs: (tx: ChainTx) => boolean): void {
  repos.transaction(() => {
    for (const job of repos.chainTxs.orphanedJobs()) {
      const last = repos.chainTxs
        .ofJob(job)
        .filter((tx) => tx.state !== 'chain_reset' && isOurs(tx))
        .at(-1)
      if (!last) continue
      repos.chainTxs.revive(last.id, Date.now())
      jobFromKey(repos, job)?.markSent(last.txHash, last.nonce)
    }
    repos.outbox.requeueOrphaned()
    repos.batches.requeueOrphaned()
    repos.outbox.requeueRowsOfPendingBatches()
    repos.securityLog.requeueOrphanedAnchors()
  })
}

export function lastKnownChain(repos: AuditRepositories, init: ChainInit): ChainTarget | undefined {
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

/** What a chain reset put back in the queue. */
export interface ChainResetCounts {
  /** Outbox events that had been confirmed on the chain that is gone. */
  readonly confirmed: number
  /** Outbox events whose transaction was in flight. */
  readonly inFlight: number
  /** Transactions marked `chain_reset`. */
  readonly transactions: number
}

/**
 * The chain the node wrote to is gone (reset or replaced): in one SQLite transaction, its
 * transactions are marked `chain_reset`, every confirmed event goes back to the queue marked with
 * the reset (never `confirmed` for a chain that does not hold it), every event in flight too, batches
 * and security-log anchors are due again, the event index is emptied and the nonce forgotten (the
 * next one comes from the new chain). The new genesis is recorded.
 */
export function applyChainReset(
  repos: AuditRepositories,
  reason: string,
  observed: ObservedChain
): ChainResetCounts {
  return repos.transaction(() => {
    const transactions = repos.chainTxs.markChainReset()
    const confirmed = repos.outbox.requeueLostConfirmed(`chain_reset: ${reason}`)
    const inFlight = repos.outbox.requeueAllSent()
    repos.batches.restartAfterChainReset()
    repos.securityLog.requeueAnchorsAfterChainReset()
    repos.events.clear()
    repos.chainState.forgetChainProgress()
    repos.chainState.setGenesisHash(observed.genesisHash)
    return { confirmed, inFlight, transactions }
  })
}

/**
 * Confirmed transactions the chain no longer holds go back in flight with their very bytes (their
 * nonces are free again, so they can only land once), and the event index forgets the blocks from
 * the first of them on, to read them again.
 */
export function reviveLost(repos: AuditRepositories, lost: readonly ChainTx[]): void {
  const blocks = lost.map((tx) => tx.blockNumber).filter((n): n is number => n !== null)
  repos.transaction(() => {
    for (const tx of lost) {
      repos.chainTxs.revive(tx.id, Date.now())
      jobFromKey(repos, tx.job)?.markSent(tx.txHash, tx.nonce)
    }
    if (blocks.length > 0) forgetIndexFrom(repos, Math.min(...blocks))
  })
}

/** The event index forgets block `block` and later, and reads them again at its next sync. */
export function forgetIndexFrom(repos: AuditRepositories, block: number): void {
  repos.transaction(() => {
    repos.events.deleteFromBlock(block)
    const indexed = repos.chainState.indexedBlock()
    if (indexed !== undefined && indexed >= block) repos.chainState.setIndexedBlock(block - 1)
  })
}
