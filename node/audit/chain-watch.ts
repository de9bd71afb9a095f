/**
 * Watches that the chain is still the one the trail was written to, at start and every
 * `checkIntervalMs` from the publisher's loop: the genesis block's hash and the chain id (a reset or
 * replaced chain), the contract's code, and this account's nonce and latest confirmed block (a chain
 * that lost blocks the node saw confirmed).
 *
 * - A new genesis or chain id: everything confirmed there is queued again, marked `chain_reset`
 *   (chain-state.ts `applyChainReset`), an error is logged and written to the security log, and
 *   health is degraded for a while with the reason.
 * - No contract at the address: when the node deployed it itself (the embedded chain, or
 *   `dmn chain deploy` from this data directory) it deploys it again and re-publishes there;
 *   otherwise nothing is sent (health degraded with the reason) until the code is back.
 * - Confirmed transactions of this account the chain no longer holds: they go back in flight with
 *   their own bytes (`reviveLost`), so they land once, at their own nonces.
 */
import type { Logger } from '../log/logger.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { ChainTx } from '../store/chain-txs.ts'
import {
  applyChainReset,
  bindingKey,
  type ChainTarget,
  forgetIndexFrom,
  holdsAuditTrail,
  type ObservedChain,
  observeChain,
  reviveLost
} from './chain-state.ts'
import { CHAIN_RESET_NOTICE_MS } from './constants.ts'
import type { ChainRecord } from './deploy.ts'
import { jobFromKey } from './jobs.ts'
import { hexToNumber, type RpcClient, type RpcReceipt, toHex } from './rpc-client.ts'
import type { SecurityLog } from './security-log.ts'
import type { TxSender } from './tx-sender.ts'

type Opts = { signal?: AbortSignal }

// Confirmed transactions looked at, newest first, when the newest one's block has another hash.
const REORG_WALK = 64

/** Deploys the contract again after a reset; only for a contract this node deployed itself. */
export interface ContractDeployer {
  /** Whether the node deployed the contract at `address` (so it may deploy it again). */
  owns(address: string): boolean
  deploy(opts: Opts): Promise<ChainRecord>
}

export interface ChainWatchComponents {
  readonly rpc: RpcClient
  readonly repos: AuditRepositories
  readonly logger: Logger
  readonly target: ChainTarget
  readonly sender: Pick<TxSender, 'address' | 'isOurs'>
  readonly securityLog?: SecurityLog
  readonly deployer?: ContractDeployer
}

export interface ChainWatchInit {
  readonly checkIntervalMs: number
}

/** Why health is degraded because of the chain itself, and since when. */
export interface ChainIssue {
  readonly reason: string
  readonly since: string
}

const short = (hash: string) => `${hash.slice(0, 10)}…`

export class ChainWatch {
  readonly #c: ChainWatchComponents
  readonly #init: ChainWatchInit
  #lastCheckMs = 0
  #blocked: ChainIssue | null = null
  #reset: (ChainIssue & { readonly atMs: number }) | null = null

  constructor(components: ChainWatchComponents, init: ChainWatchInit) {
    this.#c = components
    this.#init = init
  }

  /** True while nothing may be sent: there is no AuditTrail contract at the address. */
  get blocked(): boolean {
    return this.#blocked !== null
  }

  /** What degrades health now: a missing contract, or a reset seen in the last CHAIN_RESET_NOTICE_MS. */
  issue(): ChainIssue | null {
    if (this.#blocked) return this.#blocked
    if (this.#reset && Date.now() - this.#reset.atMs < CHAIN_RESET_NOTICE_MS)
      return { reason: this.#reset.reason, since: this.#reset.since }
    return null
  }

  /** Runs the check when `checkIntervalMs` has passed since the last one; true when it changed anything. */
  async maybeCheck(opts: Opts = {}): Promise<boolean> {
    if (Date.now() - this.#lastCheckMs < this.#init.checkIntervalMs) return false
    return this.check(opts)
  }

  /**
   * Checks the chain now; true when it changed local state (a reset, a redeployment, revived
   * transactions). Until a check has gone through, the next one is due at once: a publisher that
   * could not check (the chain down) does not send before it could.
   */
  async check(opts: Opts = {}): Promise<boolean> {
    const changed = await this.#check(opts)
    this.#lastCheckMs = Date.now()
    return changed
  }

  async #check(opts: Opts): Promise<boolean> {
    const { rpc, repos, target } = this.#c
    const observed = await observeChain(rpc, opts)
    const known = repos.chainState.genesisHash()
    let reset = false
    if (known === undefined) {
      repos.chainState.setGenesisHash(observed.genesisHash)
    } else if (known !== observed.genesisHash || observed.chainId !== target.chainId) {
      const reason =
        known !== observed.genesisHash
          ? `the chain's genesis block changed from ${short(known)} to ${short(observed.genesisHash)}: the chain was reset or replaced`
          : `the chain id changed from ${target.chainId} to ${observed.chainId}`
      this.#applyReset(reason, observed)
      reset = true
    }
    if (!(await holdsAuditTrail(rpc, target.address, opts))) {
      const deployer = this.#c.deployer
      if (!deployer?.owns(target.address)) {
        this.#block(
          `no AuditTrail contract at ${target.address} (the configured address) on this chain: events stay queued until it is there`
        )
        return reset
      }
      // The node's own contract is gone: what it recorded there is gone with it.
      if (!reset) this.#applyReset(`the AuditTrail contract at ${target.address} is gone`, observed)
      this.#block(`deploying the AuditTrail contract again (it is gone from ${target.address})`)
      await this.#redeploy(deployer, opts)
      this.#unblock()
      return true
    }
    this.#unblock()
    if (reset) return true
    return this.#reviveLost(opts)
  }

  #applyReset(reason: string, observed: ObservedChain): void {
    const { repos, target, logger } = this.#c
    const counts = applyChainReset(repos, reason, observed)
    target.chainId = observed.chainId
    // The deployment block belongs to the chain that is gone: read a new chain from its start
    // (a contract deployed again brings its own block).
    target.deployBlock = 0
    repos.chainState.setChainBinding(bindingKey(target, this.#c.sender.address))
    const since = new Date().toISOString()
    this.#reset = { reason: `chain_reset: ${reason}`, since, atMs: Date.now() }
    logger.error(
      { reason, ...counts, chainId: observed.chainId, genesisHash: observed.genesisHash },
      'audit chain was reset or replaced: its confirmed events are queued again'
    )
    this.#c.securityLog?.append('chain.reset', {
      reason,
      ...counts,
      chainId: observed.chainId,
      genesisHash: observed.genesisHash
    })
  }

  async #redeploy(deployer: ContractDeployer, opts: Opts): Promise<void> {
    const { repos, target, logger } = this.#c
    const record = await deployer.deploy(opts)
    target.address = record.contractAddress
    target.deployBlock = record.deployBlock
    target.chainId = record.chainId
    repos.chainState.setChainBinding(bindingKey(target, this.#c.sender.address))
    logger.warn(
      { contract: record.contractAddress, txHash: record.txHash, deployBlock: record.deployBlock },
      'audit contract deployed again; the queued events go there'
    )
  }

  #block(reason: string): void {
    if (this.#blocked?.reason === reason) return
    this.#blocked = { reason, since: new Date().toISOString() }
    this.#c.logger.error({ reason }, 'audit publishing paused')
  }

  #unblock(): void {
    if (!this.#blocked) return
    this.#c.logger.info({ previously: this.#blocked.reason }, 'audit contract found: publishing resumes')
    this.#blocked = null
  }

  /**
   * Confirmed transactions of this account at or above its nonce on chain were lost with blocks
   * the chain no longer has; so were those whose receipt is gone when the newest confirmed block
   * has another hash now (a reorg deeper than the confirmations). A receipt found in another block
   * moves the index back to read that block again.
   */
  async #reviveLost(opts: Opts): Promise<boolean> {
    const { rpc, repos, sender } = this.#c
    const count = hexToNumber(
      await rpc.call<string>('eth_getTransactionCount', [sender.address, 'latest'], opts)
    )
    const lost = new Map<number, ChainTx>()
    for (const tx of repos.chainTxs.confirmedFromNonce(count)) if (sender.isOurs(tx)) lost.set(tx.id, tx)
    // Recovering a signer costs a little: only the newest is looked at unless its block moved.
    const recent = repos.chainTxs.confirmedNewestFirst(REORG_WALK)
    const newest = recent.find((tx) => sender.isOurs(tx))
    if (newest?.blockNumber != null && !lost.has(newest.id)) {
      const block = await rpc.call<{ hash: string } | null>(
        'eth_getBlockByNumber',
        [toHex(newest.blockNumber), false],
        opts
      )
      if (block?.hash !== newest.blockHash) {
        for (const tx of recent) {
          if (lost.has(tx.id) || !sender.isOurs(tx)) continue
          const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [tx.txHash], opts)
          if (!receipt) {
            lost.set(tx.id, tx)
            continue
          }
          if (receipt.blockHash === tx.blockHash) break
          const moved = { number: hexToNumber(receipt.blockNumber), hash: receipt.blockHash }
          repos.transaction(() => {
            repos.chainTxs.settle(tx.id, 'confirmed', moved)
            jobFromKey(repos, tx.job)?.confirm(tx.txHash, moved.number)
            forgetIndexFrom(repos, Math.min(tx.blockNumber ?? 0, moved.number))
          })
        }
      }
    }
    if (lost.size === 0) return false
    const txs = [...lost.values()]
    reviveLost(repos, txs)
    this.#c.logger.warn(
      {
        transactions: txs.map((tx) => ({ txHash: tx.txHash, nonce: tx.nonce, job: tx.job })),
        chainNonce: count
      },
      'confirmed audit transactions are missing from the chain (lost blocks): sending the same transactions again'
    )
    return true
  }
}
