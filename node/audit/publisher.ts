/**
 * The publisher worker, in outbox order. Each round it first settles the transactions it has in
 * flight (persisted in `chain_txs`, oldest nonce first), then, if fewer than `maxInFlight` are in
 * flight, sends the next job: a node registration, a formed batch, the next outbox row (per-share
 * mode) or a new batch (batch mode, every `batchSize` leaves or `batchIntervalSeconds`), or a
 * security-log head that is due. Per-share events go out up to `maxInFlight` at once with
 * consecutive nonces; a batch goes alone (its first sequence is read from the chain's state).
 * Chain errors leave everything queued; the loop waits `pollIntervalMs`, doubling after each failed
 * round up to `maxBackoffMs` (without jitter), and resumes by itself. Before each round the chain
 * watch checks, when due, that the chain is still the one written to (chain-watch.ts); while it
 * finds no contract at the address, nothing is sent or settled. An outbox lag above `lagWarnSeconds`
 * is logged once each time it crosses the threshold.
 * In per-share mode a share's record is signed when the share is accepted, and a receipt's anchor when
 * the receipt is stored (`signAtAcceptance`, with the fees this loop keeps fresh); each round
 * broadcasts such transactions first, in nonce order. A transaction found waiting is asked about
 * again once the chain's head has moved, or a poll interval later: nothing is mined without a new
 * block, so the rounds that shares and receipts wake in between cost one head read.
 */
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { ChainTx } from '../store/chain-txs.ts'
import type { OutboxJobRow } from '../store/outbox.ts'
import type { Logger } from '../log/logger.ts'
import { INDEX_SYNC_INTERVAL_MS } from './constants.ts'
import type { ChainTarget } from './chain-state.ts'
import type { ChainIssue, ChainWatch } from './chain-watch.ts'
import { ContractRevertError, ChainUnavailableError } from './errors.ts'
import { indexLogs, syncIndex } from './event-index.ts'
import { JobQueue } from './job-queue.ts'
import {
  type ConfirmedEntry,
  DEAREST_ANCHOR_RECEIPT,
  DEAREST_RECORD_SHARE,
  type Job,
  type JobContext,
  jobFromKey,
  outboxCallData,
  outboxJob
} from './jobs.ts'
import { outboxDepth } from './outbox.ts'
import { hexToNumber, type RpcClient, type RpcLog, type RpcReceipt } from './rpc-client.ts'
import type { SecurityLog } from './security-log.ts'
import type { TrackResult, TxSender } from './tx-sender.ts'

export interface PublisherInit {
  readonly mode: 'per-share' | 'batch'
  readonly batchSize: number
  readonly batchIntervalSeconds: number
  readonly pollIntervalMs: number
  readonly logAnchorIntervalSeconds: number
  readonly maxBackoffMs: number
  /** Blocks on top of an event's block before the index takes it in. */
  readonly confirmations: number
  /** Transactions in flight at once (per-share events); batches go one at a time. */
  readonly maxInFlight: number
  /** Oldest unconfirmed event older than this: health degraded, and a warning when it crosses. */
  readonly lagWarnSeconds: number
}

export interface PublisherComponents {
  readonly repos: AuditRepositories
  readonly rpc: RpcClient
  readonly sender: TxSender
  /** The contract and chain (shared with the sender and the watch, which may move them). */
  readonly target: ChainTarget
  readonly watch: ChainWatch
  readonly logger: Logger
  readonly securityLog?: SecurityLog
  /** Told of the outbox entries a confirmation settled, once each, after its transaction committed. */
  readonly onConfirmed?: (entries: readonly ConfirmedEntry[]) => void
  /** Told of every transaction settled by a receipt or found dropped (for the metrics). */
  readonly onSettled?: (tx: SettledTransaction) => void
}

/** A transaction the publisher settled: confirmed, or dropped or reverted (its job then requeued). */
export interface SettledTransaction {
  readonly outcome: 'confirmed' | 'dropped' | 'reverted'
  /** From its last broadcast to the check that settled it. */
  readonly seconds: number
  /** Gas its receipt reports; null without a receipt (dropped). */
  readonly gasUsed: number | null
}

/** What health checks and metrics show. */
export interface PublisherStatus {
  readonly running: boolean
  readonly mode: 'per-share' | 'batch'
  readonly chainReachable: boolean
  readonly account: string
  readonly contract: string
  readonly pending: number
  readonly sent: number
  readonly failed: number
  /** Seconds the oldest unconfirmed event has waited; 0 when none waits. */
  readonly lagSeconds: number
  /** `lagSeconds` is above the configured `lagWarnSeconds`. */
  readonly lagging: boolean
  /** The chain changed under the node (reset, replaced, contract gone), or null. */
  readonly chainIssue: ChainIssue | null
  readonly inFlight: { readonly txHash: string; readonly nonce: number; readonly job: string } | null
  /** Whether a share accepted now gets its transaction signed at once (per-share mode, chain facts known). */
  readonly signsAtAcceptance: boolean
  readonly confirmedSinceStart: number
  readonly lastError: string | null
  readonly lastErrorAt: string | null
  readonly lastConfirmedAt: string | null
}

/** What signing at acceptance needs: the gas of each call it signs, the gas price, the nonce floor. */
interface AcceptanceFees {
  readonly shareGasLimit: bigint
  readonly receiptGasLimit: bigint
  readonly gasPrice: bigint
  readonly nonceFloor: number
}

const lagOf = (oldestAt: string | null): number =>
  oldestAt ? Math.max(0, (Date.now() - Date.parse(oldestAt)) / 1000) : 0

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true }
    )
  })

export class Publisher {
  readonly #c: PublisherComponents
  readonly #init: PublisherInit
  #abort: AbortController | undefined
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #reachable = true
  #lastError: string | null = null
  #lastErrorAt: string | null = null
  #lastConfirmedAt: string | null = null
  #confirmed = 0
  /** Gas and the nonce floor for signing at acceptance; undefined until the chain has answered. */
  #acceptanceFees: AcceptanceFees | undefined
  /** Where each transaction found waiting stood: the head it was asked at, when, its confirmations. */
  readonly #looked = new Map<number, { head: number; atMs: number; confirmations: number }>()
  #feesReadMs = 0
  #lagging = false
  #lagCheckedMs = 0
  readonly #queue: JobQueue

  constructor(components: PublisherComponents, init: PublisherInit) {
    this.#c = components
    this.#init = init
    this.#queue = new JobQueue(components.repos, init, components.securityLog)
  }

  start(): void {
    if (this.#loop) return
    this.#abort = new AbortController()
    this.#loop = this.#run(this.#abort.signal)
  }

  async stop(): Promise<void> {
    this.#abort?.abort()
    await this.#loop
    this.#loop = undefined
  }

  /** Wakes the loop now (after an enqueue, say) instead of at the next poll. */
  poke(): void {
    this.#wake?.()
  }

  /** Forms a batch of whatever is pending now, without waiting for size or interval. */
  flush(): void {
    this.#queue.flush()
    this.poke()
  }

  status(): PublisherStatus {
    const depth = outboxDepth(this.#c.repos.outbox)
    const inFlight = this.#c.sender.inFlight(1)[0]
    const lagSeconds = lagOf(depth.oldestPendingAt)
    return {
      running: this.#loop !== undefined,
      mode: this.#init.mode,
      chainReachable: this.#reachable,
      account: this.#c.sender.address,
      contract: this.#c.target.address,
      pending: depth.pending,
      sent: depth.sent,
      failed: depth.failed,
      lagSeconds,
      lagging: lagSeconds > this.#init.lagWarnSeconds,
      chainIssue: this.#c.watch.issue(),
      inFlight: inFlight ? { txHash: inFlight.txHash, nonce: inFlight.nonce, job: inFlight.job } : null,
      signsAtAcceptance: this.#init.mode === 'per-share' && this.#acceptanceFees !== undefined,
      confirmedSinceStart: this.#confirmed,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      lastConfirmedAt: this.#lastConfirmedAt
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = this.#init.pollIntervalMs
    while (!signal.aborted) {
      let busy = false
      // Also while the chain is down: that is when events wait longest.
      this.#watchLag()
      try {
        busy = await this.#step(signal)
        this.#reachable = true
        backoff = this.#init.pollIntervalMs
      } catch (err) {
        if (signal.aborted) break
        this.#lastError = `${(err as Error).name}: ${(err as Error).message}`
        this.#lastErrorAt = new Date().toISOString()
        if (err instanceof ChainUnavailableError) {
          this.#reachable = false
          this.#c.logger.warn({ err: this.#lastError, retryInMs: backoff }, 'chain unreachable; events wait')
        } else {
          this.#c.logger.error({ err }, 'publisher step failed')
        }
        await sleep(backoff, signal)
        backoff = Math.min(backoff * 2, this.#init.maxBackoffMs)
        continue
      }
      if (!busy) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve
          void sleep(this.#init.pollIntervalMs, signal).then(resolve)
        })
        this.#wake = undefined
      }
    }
  }

  // Once a second at most: the outbox's depth is an aggregate over the table.
  #watchLag(): void {
    if (Date.now() - this.#lagCheckedMs < 1_000) return
    this.#lagCheckedMs = Date.now()
    const depth = outboxDepth(this.#c.repos.outbox)
    const lagSeconds = lagOf(depth.oldestPendingAt)
    const lagging = lagSeconds > this.#init.lagWarnSeconds
    if (lagging && !this.#lagging) {
      this.#c.logger.warn(
        {
          lagSeconds: Math.round(lagSeconds),
          lagWarnSeconds: this.#init.lagWarnSeconds,
          pending: depth.pending,
          sent: depth.sent
        },
        'audit outbox lags: the oldest unconfirmed event waits longer than chain.lagWarnSeconds'
      )
    } else if (!lagging && this.#lagging) {
      this.#c.logger.info(
        { lagWarnSeconds: this.#init.lagWarnSeconds },
        'audit outbox lag back under the threshold'
      )
    }
    this.#lagging = lagging
  }

  #ctx(signal?: AbortSignal): JobContext {
    const { rpc, sender, target } = this.#c
    return {
      rpc,
      sender,
      contractAddress: target.address,
      deployBlock: target.deployBlock,
      ...(signal ? { signal } : {})
    }
  }

  /**
   * One round: settles the transactions in flight (oldest nonce first), then sends the next job if
   * fewer than `maxInFlight` are in flight. True when something changed.
   */
  async #step(signal?: AbortSignal): Promise<boolean> {
    const { sender, watch } = this.#c
    const opts = signal ? { signal } : {}
    // A chain that changed changes what is queued and in flight: the round starts over from it,
    // and what signing at acceptance knew of the old chain (its nonce count above all) is read again.
    if (await watch.maybeCheck(opts)) {
      this.#acceptanceFees = undefined
      this.#feesReadMs = 0
      return true
    }
    // Without the contract, a transaction would be mined without its event: nothing goes out.
    if (watch.blocked) return false
    await this.#refreshAcceptanceFees(opts)
    // What a round can act on: the broadcast transactions (maxInFlight at most) and as many signed
    // ones after them. Under load many more wait to be broadcast, and reading them all each round
    // cost the event loop more the longer the queue grew.
    const window = 2 * this.#init.maxInFlight
    let txs = sender.inFlight(window)
    let progressed = await this.#broadcastPresigned(txs, opts)
    if (progressed) txs = sender.inFlight(window)
    if (txs.length > 0) {
      const head = await sender.head(opts)
      const settled: [ChainTx, Exclude<TrackResult, { kind: 'waiting' }>][] = []
      for (const tx of txs) {
        // Not broadcast yet (maxInFlight are): neither it nor a later nonce can be mined.
        if (tx.awaitingBroadcast) break
        // Found waiting at this very head a moment ago: nothing was mined since, and its checks of
        // the pool (lost, or waiting too long) are timed, so it is asked again a poll interval later.
        const look = this.#looked.get(tx.id)
        if (look && look.head === head && Date.now() - look.atMs < this.#init.pollIntervalMs) {
          if (look.confirmations === 0) break
          continue
        }
        let replaced = false
        const result = await sender.track(tx, head, opts, (hash) => {
          replaced = true
          jobFromKey(this.#c.repos, tx.job)?.markSent(hash, tx.nonce)
        })
        if (result.kind === 'waiting') {
          this.#looked.set(tx.id, { head, atMs: Date.now(), confirmations: result.confirmations })
          // Not mined yet: a later nonce cannot be mined before it. Replaced for waiting too long,
          // though, it says the ones behind it, priced alike, wait as long: they are tracked (and
          // replaced once they are as old), so each share shows its own replacement.
          if (result.confirmations === 0 && !replaced) break
          continue
        }
        this.#looked.delete(tx.id)
        settled.push([tx, result])
      }
      if (settled.length > 0) {
        this.#settleAll(settled)
        progressed = true
      }
      // Replaced or settled elsewhere (a chain reset): forgotten with the rows they were about.
      if (this.#looked.size > txs.length) {
        const ids = new Set(txs.map((tx) => tx.id))
        for (const id of this.#looked.keys()) if (!ids.has(id)) this.#looked.delete(id)
      }
    }
    const inFlight = progressed ? sender.inFlight(window).length : txs.length
    if (inFlight >= this.#init.maxInFlight) return progressed
    const job = this.#queue.next(inFlight > 0)
    if (!job) {
      if (inFlight === 0) await this.#maybeSyncIndex(opts)
      return progressed
    }
    await this.#execute(job, signal)
    return true
  }

  /**
   * Signs the record of a share just queued, or the anchor of a receipt just stored (per-share mode),
   * inside the caller's SQLite transaction, and marks its outbox row sent with that hash; the next
   * round broadcasts it. Neither call can be refused by the contract (it only emits their events),
   * so no estimate is needed: the gas of each at its dearest is read once per start. Undefined when
   * the chain's facts are not known yet (not reached since start): the row stays pending and is
   * signed and sent like any other. A share is never refused for the chain's sake.
   */
  signAtAcceptance(row: OutboxJobRow): string | undefined {
    const fees = this.#acceptanceFees
    if (this.#init.mode !== 'per-share' || !fees) return undefined
    const gasLimit =
      row.kind === 'share' ? fees.shareGasLimit : row.kind === 'receipt' ? fees.receiptGasLimit : undefined
    if (gasLimit === undefined) return undefined
    const job = outboxJob(this.#c.repos, row)
    try {
      return this.#c.sender.signNow(
        job.key,
        outboxCallData(row),
        { gasLimit, gasPrice: fees.gasPrice, nonceFloor: fees.nonceFloor },
        (hash, nonce) => job.markSent(hash, nonce)
      )
    } catch (err) {
      // signNow's writes are a savepoint of the share's transaction, rolled back on throw.
      this.#c.logger.error({ err, job: job.key }, 'signing at acceptance failed; the publisher signs later')
      return undefined
    }
  }

  /**
   * Keeps what signing at acceptance needs: the gas price, read at most once a poll interval; the
   * gas of a record and of a receipt's anchor and the account's pending transaction count, once
   * per start. Read only after
   * the check for transactions this node has no record of, since a nonce allocated at acceptance
   * moves the counter that check compares with.
   */
  async #refreshAcceptanceFees(opts: { signal?: AbortSignal }): Promise<void> {
    if (this.#init.mode !== 'per-share' || Date.now() - this.#feesReadMs < this.#init.pollIntervalMs) return
    const { rpc, sender } = this.#c
    await this.#unknownTransactions(opts.signal)
    const known = this.#acceptanceFees
    this.#feesReadMs = Date.now()
    const [gasPrice, shareGasLimit, receiptGasLimit, nonceFloor] = await Promise.all([
      rpc.call<string>('eth_gasPrice', [], opts),
      known?.shareGasLimit ?? sender.estimate(DEAREST_RECORD_SHARE, opts).catch(this.#noAcceptanceGas),
      known?.receiptGasLimit ?? sender.estimate(DEAREST_ANCHOR_RECEIPT, opts).catch(this.#noAcceptanceGas),
      known?.nonceFloor ??
        rpc.call<string>('eth_getTransactionCount', [sender.address, 'pending'], opts).then(hexToNumber)
    ])
    if (shareGasLimit !== undefined && receiptGasLimit !== undefined) {
      this.#acceptanceFees = { shareGasLimit, receiptGasLimit, gasPrice: BigInt(gasPrice), nonceFloor }
    }
  }

  #acceptanceGasRefused = false
  // A record the chain would refuse (it never should: the contract only checks for zero hashes)
  // leaves signing at acceptance off, not the publisher stopped; its sends report refusals per event.
  readonly #noAcceptanceGas = (err: unknown): undefined => {
    if (!(err instanceof ContractRevertError)) throw err
    if (!this.#acceptanceGasRefused) {
      this.#c.logger.warn({ err: err.errorName }, 'estimate refused: not signing at acceptance')
    }
    this.#acceptanceGasRefused = true
    return undefined
  }

  /**
   * Broadcasts the transactions signed at acceptance, lowest nonce first, while fewer than
   * `maxInFlight` broadcast ones wait for their confirmations. True when one went out.
   */
  async #broadcastPresigned(txs: readonly ChainTx[], opts: { signal?: AbortSignal }): Promise<boolean> {
    const { sender } = this.#c
    const room = this.#init.maxInFlight - txs.filter((tx) => !tx.awaitingBroadcast).length
    const due = txs.filter((tx) => tx.awaitingBroadcast).slice(0, Math.max(0, room))
    if (due.length === 0) return false
    await sender.broadcastRecorded(due, opts)
    return true
  }

  /**
   * Settles the transactions a round found mined or gone in one SQLite transaction (one commit
   * instead of one each), then tells the observers. One whose writes fail is left in flight, logged,
   * and tried again next round; the others settle.
   */
  #settleAll(settled: readonly [ChainTx, Exclude<TrackResult, { kind: 'waiting' }>][]): void {
    const after = this.#c.repos.transaction(() =>
      settled.map(([tx, result]) => {
        try {
          return this.#settle(tx, result)
        } catch (err) {
          this.#c.logger.error({ err, txHash: tx.txHash, job: tx.job }, 'settling a transaction failed')
          return undefined
        }
      })
    )
    for (const done of after) done?.()
  }

  /** Writes what `result` says of `tx` (inside the caller's transaction); returns what to tell after the commit. */
  #settle(tx: ChainTx, result: Exclude<TrackResult, { kind: 'waiting' }>): () => void {
    const { sender, repos } = this.#c
    const job = jobFromKey(repos, tx.job)
    const ours = 'receipt' in result ? this.#ours(result.receipt.logs) : []
    if (result.kind === 'confirmed' && ours.length > 0) {
      const mined = result.via ?? tx
      const entries = repos.transaction(() => {
        if (result.via) sender.mark(tx, 'dropped')
        sender.mark(mined, 'confirmed', result.receipt)
        const confirmed = job?.confirm(mined.txHash, hexToNumber(result.receipt.blockNumber)) ?? []
        indexLogs(repos, ours)
        return confirmed
      })
      return () => {
        if (result.via) {
          this.#c.logger.info(
            { job: tx.job, txHash: mined.txHash, instead: tx.txHash },
            'an earlier transaction of the job was mined; recorded once'
          )
        }
        this.#settled('confirmed', mined, result.receipt)
        this.#confirmedOne(entries)
      }
    }
    // Mined without an event of the contract (no code at the address): not a record of the event.
    const outcome = result.kind === 'confirmed' ? 'reverted' : result.kind
    const reason =
      result.kind === 'dropped'
        ? 'transaction dropped or replaced'
        : result.kind === 'reverted'
          ? 'transaction reverted'
          : 'transaction emitted no event of the contract'
    repos.transaction(() => {
      sender.mark(tx, outcome, 'receipt' in result ? result.receipt : undefined)
      job?.reset(reason)
    })
    return () => {
      this.#c.logger.warn(
        { txHash: tx.txHash, job: tx.job, outcome, reason },
        'transaction not confirmed; job requeued'
      )
      this.#settled(outcome, tx, 'receipt' in result ? result.receipt : undefined)
    }
  }

  #settled(outcome: SettledTransaction['outcome'], tx: ChainTx, receipt: RpcReceipt | undefined): void {
    try {
      this.#c.onSettled?.({
        outcome,
        seconds: Math.max(0, (Date.now() - tx.sentMs) / 1000),
        gasUsed: receipt ? hexToNumber(receipt.gasUsed) : null
      })
    } catch (err) {
      this.#c.logger.warn({ err }, 'transaction listener failed')
    }
  }

  #ours(logs: readonly RpcLog[]): RpcLog[] {
    return logs.filter((l) => l.address.toLowerCase() === this.#c.target.address.toLowerCase())
  }

  #confirmedOne(entries: readonly ConfirmedEntry[]): void {
    this.#confirmed += 1
    this.#lastConfirmedAt = new Date().toISOString()
    if (entries.length === 0) return
    try {
      this.#c.onConfirmed?.(entries)
    } catch (err) {
      // An observer's failure must not stop the publisher: the confirmation is already committed.
      this.#c.logger.warn({ err }, 'confirmation listener failed')
    }
  }

  async #execute(job: Job, signal?: AbortSignal): Promise<void> {
    const { sender } = this.#c
    const ctx = this.#ctx(signal)
    if (job.findOnChain && (await this.#unknownTransactions(signal))) {
      const log = await job.findOnChain(ctx)
      if (log) {
        this.#found(job, log)
        return
      }
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const data = await job.data(ctx)
      let gas: bigint
      try {
        gas = await sender.estimate(data, signal ? { signal } : {})
      } catch (err) {
        if (!(err instanceof ContractRevertError)) throw err
        const resolution = await job.resolve(ctx, err)
        if (resolution.kind === 'retry') continue
        if (resolution.kind === 'found') {
          this.#found(job, resolution.log)
          return
        }
        job.fail(resolution.reason)
        this.#c.logger.error(
          { job: job.key, reason: resolution.reason },
          'audit event refused by the contract'
        )
        return
      }
      const hash = await sender.send(
        job.key,
        data,
        gas,
        (txHash, nonce) => job.markSent(txHash, nonce),
        signal ? { signal } : {}
      )
      this.#c.logger.debug({ job: job.key, txHash: hash }, 'transaction sent')
      return
    }
  }

  #found(job: Job, log: RpcLog): void {
    const { repos } = this.#c
    const entries = repos.transaction(() => {
      const confirmed = job.confirm(log.transactionHash, hexToNumber(log.blockNumber))
      indexLogs(repos, [log])
      return confirmed
    })
    this.#confirmedOne(entries)
    this.#c.logger.info({ job: job.key, txHash: log.transactionHash }, 'already on chain; recorded once')
  }

  #unknown: boolean | undefined
  /**
   * Whether the account has sent more transactions than the node recorded (checked once per start):
   * then a queued event may be on chain already, and each is looked up before it is sent.
   */
  async #unknownTransactions(signal?: AbortSignal): Promise<boolean> {
    if (this.#unknown === undefined) {
      const count = hexToNumber(
        await this.#c.rpc.call<string>(
          'eth_getTransactionCount',
          [this.#c.sender.address, 'latest'],
          signal ? { signal } : {}
        )
      )
      this.#unknown = count > (this.#c.repos.chainState.nextNonce() ?? 0)
      if (this.#unknown) {
        this.#c.logger.warn(
          { onChain: count, recorded: this.#c.repos.chainState.nextNonce() ?? 0 },
          'the account sent transactions this node has no record of; queued events are looked up before they are sent'
        )
      }
    }
    return this.#unknown
  }

  /** Anchors the security log's current head now (if it moved since the last anchor). */
  anchorLogNow(): void {
    this.#queue.anchorLogNow()
    this.poke()
  }

  #lastSyncMs = 0
  async #maybeSyncIndex(opts: { signal?: AbortSignal }): Promise<void> {
    if (Date.now() - this.#lastSyncMs < INDEX_SYNC_INTERVAL_MS) return
    this.#lastSyncMs = Date.now()
    await syncIndex(this.#c.repos, this.#c.rpc, this.#c.target.address, this.#c.target.deployBlock, {
      ...opts,
      confirmations: this.#init.confirmations
    })
  }
}
