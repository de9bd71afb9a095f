/**
 * Signs, persists, broadcasts and follows the publisher's transactions. A transaction is written to
 * `chain_txs` (raw bytes included) before it is broadcast, so a publisher killed at any point finds
 * it again at restart and either sees it confirmed, rebroadcasts the very same bytes, or learns that
 * its nonce went to another transaction. Nonces are the node's own: the next one is kept in
 * `node_state` and never lower than the chain's pending count. A share's record may be signed when
 * the share is accepted (`signNow`, from the same counter) and broadcast later by the publisher.
 *
 * The contract refuses no duplicate, so a job must never be sent twice while an earlier transaction
 * of it can still be mined: every transaction of a job (the first, replacements at a higher gas
 * price) shares one nonce, and when that nonce turns out spent by another transaction, every
 * transaction recorded for the job is looked up before the job counts as dropped.
 */
import { keccak256, Transaction, type Wallet } from 'ethers'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { ChainTx } from '../store/chain-txs.ts'
import type { ChainTarget } from './chain-state.ts'
import { GAS_LIMIT_MARGIN_PERCENT, REPLACEMENT_BUMP_PERCENT } from './constants.ts'
import { translateRevert } from './contract.ts'
import { ChainRpcError } from './errors.ts'
import { hexToNumber, type RpcClient, type RpcReceipt, toHex } from './rpc-client.ts'

export type { ChainTx } from '../store/chain-txs.ts'

/**
 * Where a transaction stands. `via` names another transaction of the same job that was mined in
 * its place (an earlier one, or the original of a replacement): the job is settled with that one.
 */
export type TrackResult =
  | { readonly kind: 'waiting'; readonly confirmations: number }
  | { readonly kind: 'confirmed'; readonly receipt: RpcReceipt; readonly via?: ChainTx }
  | { readonly kind: 'reverted'; readonly receipt: RpcReceipt }
  | { readonly kind: 'dropped' }

export interface TxSenderInit {
  /** The contract and chain, shared with the chain watch (which may move them after a reset). */
  readonly target: ChainTarget
  readonly confirmations: number
  /** A transaction not seen by the node after this long is broadcast again. */
  readonly resendAfterMs: number
}

type Opts = { signal?: AbortSignal }

export class TxSender {
  readonly #rpc: RpcClient
  readonly #wallet: Wallet
  readonly #repos: AuditRepositories
  readonly #init: TxSenderInit

  constructor(rpc: RpcClient, wallet: Wallet, repos: AuditRepositories, init: TxSenderInit) {
    this.#rpc = rpc
    this.#wallet = wallet
    this.#repos = repos
    this.#init = init
  }

  get address(): string {
    return this.#wallet.address
  }

  /** Read-only call of the contract. */
  async call(data: string, opts: Opts = {}): Promise<string> {
    try {
      return await this.#rpc.call<string>(
        'eth_call',
        [{ to: this.#init.target.address, data }, 'latest'],
        opts
      )
    } catch (err) {
      throw translateRevert(err)
    }
  }

  /** Gas for `data` with head-room; a revert comes out as ContractRevertError naming the custom error. */
  async estimate(data: string, opts: Opts = {}): Promise<bigint> {
    try {
      const gas = await this.#rpc.call<string>(
        'eth_estimateGas',
        [{ from: this.#wallet.address, to: this.#init.target.address, data }],
        opts
      )
      return (BigInt(gas) * (100n + GAS_LIMIT_MARGIN_PERCENT)) / 100n
    } catch (err) {
      throw translateRevert(err)
    }
  }

  /**
   * Signs a transaction for `job`, then, in one SQLite transaction, records it and runs `onRecorded`
   * (the job's own state change), and only then broadcasts it.
   */
  async send(
    job: string,
    data: string,
    gasLimit: bigint,
    onRecorded: (txHash: string, nonce: number) => void,
    opts: Opts = {}
  ): Promise<string> {
    const [pendingCount, gasPrice] = await Promise.all([
      this.#rpc.call<string>('eth_getTransactionCount', [this.#wallet.address, 'pending'], opts),
      this.#rpc.call<string>('eth_gasPrice', [], opts)
    ])
    const signed = this.#signAndRecord(
      job,
      data,
      gasLimit,
      BigInt(gasPrice),
      hexToNumber(pendingCount),
      onRecorded
    )
    await this.#broadcast(signed.raw, opts)
    return signed.hash
  }

  /**
   * Signs a transaction for `job` now and records it awaiting its broadcast (`broadcastRecorded`),
   * with the next nonce of the node's counter (at least `nonceFloor`, the chain's count as last
   * read). Synchronous, for a caller's open SQLite transaction: a share's record is signed in the
   * transaction that accepts the share, so its hash is known before anything reaches the chain.
   */
  signNow(
    job: string,
    data: string,
    fees: { readonly gasLimit: bigint; readonly gasPrice: bigint; readonly nonceFloor: number },
    onRecorded: (txHash: string, nonce: number) => void
  ): string {
    return this.#signAndRecord(job, data, fees.gasLimit, fees.gasPrice, fees.nonceFloor, onRecorded, true)
      .hash
  }

  /**
   * Broadcasts transactions recorded by `signNow`, in the order given (lowest nonce first), after
   * noting them all as broadcast in one durable commit. That commit comes first because some were
   * signed inside commits that wait for the next durable one (a delivered receipt's): a transaction
   * on the chain whose record a power cut took is what must not happen, and since the WAL is synced
   * in order, this commit makes every write before it durable too. One that does not reach the node
   * now is found missing by `track` and sent again, the same bytes.
   */
  async broadcastRecorded(txs: readonly ChainTx[], opts: Opts = {}): Promise<void> {
    const now = Date.now()
    this.#repos.transaction(() => {
      for (const tx of txs) this.#repos.chainTxs.rebroadcast(tx.id, now)
    })
    for (const tx of txs) await this.#broadcast(tx.raw, opts)
  }

  /**
   * Allocates the nonce, signs and records in one SQLite transaction. The signature is computed
   * synchronously, so no other allocation (a share accepted meanwhile) can come between reading
   * the counter and moving it: no nonce is handed out twice.
   */
  #signAndRecord(
    job: string,
    data: string,
    gasLimit: bigint,
    gasPrice: bigint,
    nonceFloor: number,
    onRecorded: (txHash: string, nonce: number) => void,
    awaitingBroadcast = false
  ): { hash: string; raw: string } {
    const repos = this.#repos
    return repos.transaction(() => {
      const nonce = Math.max(nonceFloor, repos.chainState.nextNonce() ?? 0)
      const tx = Transaction.from({
        type: 0,
        to: this.#init.target.address,
        data,
        nonce,
        gasLimit,
        gasPrice,
        chainId: this.#init.target.chainId
      })
      tx.signature = this.#wallet.signingKey.sign(tx.unsignedHash)
      const signed = { hash: tx.hash as string, raw: tx.serialized }
      repos.chainTxs.record({
        job,
        nonce,
        txHash: signed.hash,
        raw: signed.raw,
        sentMs: Date.now(),
        awaitingBroadcast
      })
      repos.chainState.setNextNonce(nonce + 1)
      onRecorded(signed.hash, nonce)
      return signed
    })
  }

  async #broadcast(raw: string, opts: Opts): Promise<void> {
    try {
      await this.#rpc.call<string>('eth_sendRawTransaction', [raw], opts)
    } catch (err) {
      // Already in the pool, or already mined (nonce used): the tracker settles which.
      if (err instanceof ChainRpcError) return
      throw err
    }
  }

  /** Transactions still waiting for their confirmations, in nonce order; the first `limit` when given. */
  inFlight(limit?: number): ChainTx[] {
    return this.#repos.chainTxs.inFlight(limit)
  }

  async head(opts: Opts = {}): Promise<number> {
    return hexToNumber(await this.#rpc.call<string>('eth_blockNumber', [], opts))
  }

  mark(tx: ChainTx, state: 'confirmed' | 'dropped' | 'reverted', receipt?: RpcReceipt): void {
    this.#repos.chainTxs.settle(
      tx.id,
      state,
      receipt ? { number: hexToNumber(receipt.blockNumber), hash: receipt.blockHash } : undefined
    )
  }

  /**
   * Whether `tx` was signed by this node's account for the current contract and chain (rows of an
   * earlier account, contract or chain stay in `chain_txs` as history).
   */
  isOurs(tx: ChainTx): boolean {
    const signed = Transaction.from(tx.raw)
    return (
      signed.from?.toLowerCase() === this.#wallet.address.toLowerCase() &&
      signed.to?.toLowerCase() === this.#init.target.address.toLowerCase() &&
      signed.chainId === BigInt(this.#init.target.chainId)
    )
  }

  async #receipt(txHash: string, opts: Opts): Promise<RpcReceipt | null> {
    return this.#rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [txHash], opts)
  }

  /** A receipt with its confirmations counted; reorged-out receipts count as not mined. */
  async #settled(
    receipt: RpcReceipt,
    head: number,
    opts: Opts
  ): Promise<Exclude<TrackResult, { kind: 'dropped' }>> {
    const mined = hexToNumber(receipt.blockNumber)
    const confirmations = Math.max(0, head - mined + 1)
    if (confirmations < Math.max(1, this.#init.confirmations)) return { kind: 'waiting', confirmations }
    const block = await this.#rpc.call<{ hash: string } | null>(
      'eth_getBlockByNumber',
      [toHex(mined), false],
      opts
    )
    if (block?.hash !== receipt.blockHash) return { kind: 'waiting', confirmations: 0 }
    return { kind: receipt.status === '0x1' ? 'confirmed' : 'reverted', receipt }
  }

  /** Where `tx` stands now; reorged-out receipts count as not mined. */
  async track(
    tx: ChainTx,
    head: number,
    opts: Opts = {},
    onReplaced?: (txHash: string) => void
  ): Promise<TrackResult> {
    const receipt = await this.#receipt(tx.txHash, opts)
    if (receipt) return this.#settled(receipt, head, opts)
    const count = hexToNumber(
      await this.#rpc.call<string>('eth_getTransactionCount', [this.#wallet.address, 'latest'], opts)
    )
    if (count > tx.nonce) {
      // The nonce is spent but not by this transaction (as far as the chain shows now).
      const again = await this.#receipt(tx.txHash, opts)
      if (again) return { kind: 'waiting', confirmations: 0 }
      return this.#minedSibling(tx, head, opts)
    }
    const seen = await this.#rpc.call<unknown>('eth_getTransactionByHash', [tx.txHash], opts)
    if (seen === null) {
      // The node lost it (restart, eviction, reorg): the very same bytes again.
      await this.#broadcast(tx.raw, opts)
      this.#repos.chainTxs.rebroadcast(tx.id, Date.now())
    } else if (Date.now() - tx.sentMs > this.#init.resendAfterMs) {
      await this.#replace(tx, onReplaced, opts)
    }
    return { kind: 'waiting', confirmations: 0 }
  }

  /**
   * Another transaction of `tx`'s job that the chain mined (the one `tx` replaced, or one sent
   * before the job was queued again); the job is settled with it. None: `tx` is dropped, and the job
   * may be sent again, since none of its transactions can be mined any more.
   */
  async #minedSibling(tx: ChainTx, head: number, opts: Opts): Promise<TrackResult> {
    for (const sibling of this.#repos.chainTxs.ofJob(tx.job)) {
      if (sibling.id === tx.id || sibling.state === 'chain_reset' || !this.isOurs(sibling)) continue
      const receipt = await this.#receipt(sibling.txHash, opts)
      if (!receipt) continue
      const result = await this.#settled(receipt, head, opts)
      if (result.kind === 'waiting') return result
      if (result.kind === 'confirmed') return { ...result, via: sibling }
    }
    return { kind: 'dropped' }
  }

  /**
   * Replaces a transaction that waits too long in the pool: same nonce and call, a gas price raised
   * by REPLACEMENT_BUMP_PERCENT (nodes demand a raise to accept a replacement) or the current one if
   * higher. Should the old one be mined after all, the new one finds its nonce spent and the job is
   * settled with the old one (`via`).
   */
  async #replace(tx: ChainTx, onReplaced: ((txHash: string) => void) | undefined, opts: Opts): Promise<void> {
    const old = Transaction.from(tx.raw)
    const current = BigInt(await this.#rpc.call<string>('eth_gasPrice', [], opts))
    const bumped = ((old.gasPrice ?? 0n) * (100n + REPLACEMENT_BUMP_PERCENT) + 99n) / 100n
    const raw = await this.#wallet.signTransaction({
      type: 0,
      to: old.to,
      data: old.data,
      nonce: old.nonce,
      gasLimit: old.gasLimit,
      gasPrice: bumped > current ? bumped : current,
      chainId: this.#init.target.chainId
    })
    const hash = keccak256(raw)
    const repos = this.#repos
    repos.transaction(() => {
      repos.chainTxs.drop(tx.id)
      repos.chainTxs.record({ job: tx.job, nonce: tx.nonce, txHash: hash, raw, sentMs: Date.now() })
      onReplaced?.(hash)
    })
    await this.#broadcast(raw, opts)
  }
}
