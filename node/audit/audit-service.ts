/**
 * The audit component: connects to the chain (the configured RPC URL, or the embedded anvil it
 * starts and owns, whose state lasts in `<dataDir>/chain/`), makes sure the contract is there with
 * the expected bytecode (deploying it on the embedded chain when that chain has none yet), checks
 * that the chain is the one it wrote to before (chain-watch.ts), runs the publisher, and answers
 * verification, history and status queries.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { ReceiptBody } from '../core/receipt.ts'
import type { Logger } from '../log/logger.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { OutboxJobRow, OutboxRepository } from '../store/outbox.ts'
import { recordConfigChanges } from './config-changes.ts'
import { ETH_KEY_SECRET } from './constants.ts'
import { type ChainRecord, deployAuditTrail, readChainRecord, writeChainRecord } from './deploy.ts'
import { EmbeddedChain } from './embedded-chain.ts'
import { type CreateIdentityRecordInput, createIdentityRecord } from './identity-record.ts'
import { AuditNotReadyError, ChainUnavailableError } from './errors.ts'
import { reindex } from './event-index.ts'
import { type HistoryEntry, type HistoryFilter, history } from './history.ts'
import { enqueueNodeRegistration, listOutbox, type OutboxEntry, retryOutbox } from './outbox.ts'
import type { ConfirmedEntry } from './jobs.ts'
import { Publisher, type PublisherStatus, type SettledTransaction } from './publisher.ts'
import { hexToNumber, type RpcCallCount, RpcClient } from './rpc-client.ts'
import { type LogVerification, SecurityLog } from './security-log.ts'
import { TxSender } from './tx-sender.ts'
import {
  bindingKey,
  type ChainTarget,
  configuredContract,
  embeddedChainDir,
  embeddedContract,
  fundOnEmbedded,
  lastKnownChain,
  repairInFlight,
  resetIfChainChanged
} from './chain-state.ts'
import { ChainWatch, type ContractDeployer } from './chain-watch.ts'
import { connectChain, requireRpc } from './chain-connection.ts'
import {
  type LeafProof,
  type VerifyResult,
  verifyDataHash,
  verifyProofOnChain,
  verifyReceiptOnChain
} from './verify.ts'
import { verifyLogAnchors } from './log-anchors.ts'
import { buildBundle, type EvidenceBundle, outgoingEvidence } from './bundle.ts'
import type { BundleShare } from './bundle-format.ts'
import type { SenderEvidence } from './bundle-inbound.ts'
import { IdentityDirectory } from './identity-directory.ts'
import { InboundWatcher } from './inbound-watcher.ts'

/** Where the node keeps named secrets (the key ring). */
export interface SecretStore {
  getSecret(name: string): Uint8Array | undefined
  setSecret(name: string, value: Uint8Array): Promise<void>
}

export interface AuditComponents {
  /**
   * The audit trail's repositories over the node's database; called once, when first needed (at
   * start, or for the security log), since the store opens the database only at its own start.
   */
  readonly repositories: () => AuditRepositories
  readonly logger: Logger
  /**
   * Holds the node's Ethereum key when `chain.privateKey` is not configured; or a function that
   * opens it when first needed (the CLI, which needs the key ring only without `chain.privateKey`).
   */
  readonly keyRing?: SecretStore | (() => Promise<SecretStore>)
  /**
   * Asks the sender of a share this node received for its evidence entry of it (node/p2p's
   * `/dmn/evidence/1.0.0`): the sender's queue time and, for a batched share, the inclusion proofs.
   * Without it an inbound share's evidence comes from the chain alone (docs/AUDIT.md).
   */
  readonly senderEvidence?: SenderEvidence
}

export type AuditInit = Config['chain'] & {
  readonly dataDir: string
  /** The node's effective config with secrets redacted: a change since the last start is logged. */
  readonly configSnapshot?: unknown
}

/** What the audit trail tells its observers. */
export interface AuditEvents {
  /** An outbox entry the chain confirmed; emitted once, after the confirmation is committed. */
  'audit:confirmed': [entry: ConfirmedEntry]
  /** A transaction of the publisher settled: confirmed, dropped or reverted. */
  'audit:transaction': [tx: SettledTransaction]
}

export class AuditService extends EventEmitter<AuditEvents> implements Startable {
  readonly name = 'audit'
  readonly #c: AuditComponents
  readonly #init: AuditInit
  #embedded: EmbeddedChain | undefined
  #rpc: RpcClient | undefined
  #publisher: Publisher | undefined
  #inbound: InboundWatcher | undefined
  #securityLog: SecurityLog | undefined
  #contract: ChainTarget | undefined
  #account: string | undefined
  #wallet: Wallet | undefined
  #repos: AuditRepositories | undefined
  #identities: IdentityDirectory | undefined

  constructor(components: AuditComponents, init: AuditInit) {
    super()
    this.#c = components
    this.#init = init
  }

  get #repositories(): AuditRepositories {
    this.#repos ??= this.#c.repositories()
    return this.#repos
  }

  /** The hash-chained security log; usable once the store is open. */
  get securityLog(): SecurityLog {
    this.#securityLog ??= new SecurityLog(this.#repositories.securityLog)
    return this.#securityLog
  }

  /**
   * The audit outbox; usable once the store is open. The p2p hooks write a share's events through
   * it inside the share's own transaction (see auditHooks).
   */
  get outbox(): OutboxRepository {
    return this.#repositories.outbox
  }

  get contractAddress(): string | undefined {
    return this.#contract?.address
  }

  get chainId(): number | undefined {
    return this.#contract?.chainId
  }

  /** The block the event index starts from (the contract's deployment, or `chain.fromBlock`). */
  get deployBlock(): number | undefined {
    return this.#contract?.deployBlock
  }

  /** The chain's head block, or undefined when the chain does not answer. */
  async latestBlock(opts: { signal?: AbortSignal } = {}): Promise<number | undefined> {
    try {
      return this.#rpc ? await this.blockNumber(opts) : undefined
    } catch (err) {
      if (err instanceof ChainUnavailableError) return undefined
      throw err
    }
  }

  /** The chain's head block; after start or connect. Throws ChainUnavailableError when it does not answer. */
  async blockNumber(opts: { signal?: AbortSignal } = {}): Promise<number> {
    if (!this.#rpc) throw new AuditNotReadyError('audit trail is not started')
    return hexToNumber(await this.#rpc.call<string>('eth_blockNumber', [], opts))
  }

  get rpcUrl(): string | undefined {
    return this.#rpc?.url
  }

  /** JSON-RPC requests the node sent its chain since start, by method; none before start. */
  rpcCallCounts(): RpcCallCount[] {
    return this.#rpc?.callCounts() ?? []
  }

  get account(): string | undefined {
    return this.#account
  }

  async start(): Promise<void> {
    const repos = this.#repositories
    const log = this.#c.logger
    const init = this.#init
    if (init.configSnapshot !== undefined) recordConfigChanges(repos, this.securityLog, init.configSnapshot)
    const key = await this.#privateKey()
    if (key.generated) log.info('generated the node Ethereum key')
    const wallet = new Wallet(key.privateKey)
    this.#account = wallet.address
    this.#wallet = wallet
    if (!init.rpcUrl) {
      this.#embedded = new EmbeddedChain(
        {
          port: init.embeddedPort,
          stateDir: embeddedChainDir(init.dataDir),
          // Blocks come with transactions; more confirmations than one need blocks besides.
          blockTimeSeconds: init.confirmations > 1 ? 1 : 0
        },
        { logger: log }
      )
      await this.#embedded.start()
    }
    const rpc = new RpcClient({ url: init.rpcUrl ?? this.#embedded!.url, timeoutMs: init.rpcTimeoutMs })
    this.#rpc = rpc
    this.#identities = undefined
    let reachable = true
    try {
      if (this.#embedded) {
        const found = await embeddedContract(rpc, wallet, init.dataDir)
        if (found.deployed) this.securityLog.append('chain.deployed', { ...found.deployed, embedded: true })
        this.#contract = { address: found.address, deployBlock: found.deployBlock, chainId: found.chainId }
      } else {
        this.#contract = await configuredContract(rpc, init, repos)
      }
    } catch (err) {
      const known =
        err instanceof ChainUnavailableError && !this.#embedded ? lastKnownChain(repos, init) : undefined
      if (!known) {
        await this.#embedded?.stop()
        throw err
      }
      // The chain this node used before is down: start anyway, events wait in the outbox; the
      // chain watch checks the contract once the chain answers.
      log.warn(
        { err: (err as Error).message, contract: known.address },
        'chain unreachable at start; bytecode check deferred'
      )
      this.#contract = known
      reachable = false
    }
    const target = this.#contract
    resetIfChainChanged(repos, log, bindingKey(target, wallet.address))
    const sender = new TxSender(rpc, wallet, repos, {
      target,
      confirmations: init.confirmations,
      resendAfterMs: init.resendAfterSeconds * 1000
    })
    const watch = new ChainWatch(
      {
        rpc,
        repos,
        logger: log,
        target,
        sender,
        securityLog: this.securityLog,
        deployer: this.#deployer(rpc, wallet)
      },
      { checkIntervalMs: init.checkIntervalSeconds * 1000 }
    )
    try {
      if (reachable) await watch.check()
    } catch (err) {
      await this.#embedded?.stop()
      throw err
    }
    repairInFlight(repos, (tx) => sender.isOurs(tx))
    this.#publisher = new Publisher(
      {
        repos,
        rpc,
        sender,
        target,
        watch,
        logger: log,
        securityLog: this.securityLog,
        onConfirmed: (entries) => {
          for (const entry of entries) this.emit('audit:confirmed', entry)
        },
        onSettled: (tx) => this.emit('audit:transaction', tx)
      },
      {
        mode: init.mode,
        batchSize: init.batchSize,
        batchIntervalSeconds: init.batchIntervalSeconds,
        pollIntervalMs: init.pollIntervalMs,
        logAnchorIntervalSeconds: init.logAnchorIntervalSeconds,
        maxBackoffMs: init.maxBackoffMs,
        maxInFlight: init.maxInFlight,
        confirmations: init.confirmations,
        lagWarnSeconds: init.lagWarnSeconds
      }
    )
    this.#publisher.start()
    log.info(
      { contract: target.address, chainId: target.chainId, account: wallet.address, mode: init.mode },
      'audit trail ready'
    )
  }

  /**
   * Who may deploy the contract again when it is gone: the node, for a contract it deployed itself
   * (on the embedded chain, or by `dmn chain deploy` into this data directory's chain.json) and
   * unless an address is configured. The new deployment is recorded where the old one was.
   */
  #deployer(rpc: RpcClient, wallet: Wallet): ContractDeployer | undefined {
    const init = this.#init
    if (init.contractAddress) return undefined
    const dir = this.#embedded ? embeddedChainDir(init.dataDir) : init.dataDir
    const embedded = this.#embedded !== undefined
    return {
      owns: (address) => readChainRecord(dir)?.contractAddress.toLowerCase() === address.toLowerCase(),
      deploy: async (opts) => {
        if (embedded) await fundOnEmbedded(rpc, wallet.address, opts)
        const record = await deployAuditTrail(rpc, wallet, opts)
        writeChainRecord(dir, record)
        this.securityLog.append('chain.deployed', { ...record, embedded, redeployed: true })
        return record
      }
    }
  }

  /**
   * Connects to the configured chain and contract for queries only (the `dmn audit` commands, while
   * the node may be down): no chain is started, no key is made, nothing is sent. The account is the
   * one this database last published from, undefined when it never did.
   */
  async connect(): Promise<void> {
    const c = await connectChain({ chain: this.#init, dataDir: this.#init.dataDir }, this.#repositories)
    this.#rpc = c.rpc
    this.#identities = undefined
    this.#contract = { address: c.contractAddress, deployBlock: c.deployBlock, chainId: c.chainId }
    this.#account = c.account
  }

  async stop(): Promise<void> {
    await this.#inbound?.stop()
    this.#inbound = undefined
    await this.#publisher?.stop()
    this.#publisher = undefined
    await this.#embedded?.stop()
    this.#embedded = undefined
  }

  /**
   * Deploys the AuditTrail contract on the configured chain (`chain.rpcUrl`) from the node's
   * account, and records it in `<dataDir>/chain.json` and in the security log (`dmn chain deploy`;
   * a running node deploys by itself only on its embedded chain, or again when a contract recorded
   * this way is gone with a chain reset).
   */
  async deploy(
    opts: { signal?: AbortSignal } = {}
  ): Promise<{ record: ChainRecord; account: string; recordedIn: string }> {
    const rpc = requireRpc({ chain: this.#init })
    const wallet = new Wallet((await this.#privateKey()).privateKey)
    const record = await deployAuditTrail(rpc, wallet, opts)
    const recordedIn = writeChainRecord(this.#init.dataDir, record)
    this.securityLog.append('chain.deployed', { ...record })
    return { record, account: wallet.address, recordedIn }
  }

  /** `generated` when the key was made just now (and stored in the key ring). */
  async #privateKey(): Promise<{ privateKey: string; generated: boolean }> {
    const configured = this.#init.privateKey
    if (configured)
      return { privateKey: configured.startsWith('0x') ? configured : `0x${configured}`, generated: false }
    const ring = typeof this.#c.keyRing === 'function' ? await this.#c.keyRing() : this.#c.keyRing
    const stored = ring?.getSecret(ETH_KEY_SECRET)
    if (stored) return { privateKey: `0x${Buffer.from(stored).toString('hex')}`, generated: false }
    if (!ring && this.#init.rpcUrl) {
      throw new AuditNotReadyError(
        'no Ethereum key: set DMN_CHAIN_PRIVATE_KEY or start the node with its key ring'
      )
    }
    const fresh = randomBytes(32)
    await ring?.setSecret(ETH_KEY_SECRET, fresh)
    return { privateKey: `0x${fresh.toString('hex')}`, generated: true }
  }

  /** The chain connection: after start, or after connect. */
  #connected() {
    if (!this.#rpc || !this.#contract) throw new AuditNotReadyError('audit trail is not started')
    return {
      repos: this.#repositories,
      rpc: this.#rpc,
      contractAddress: this.#contract.address,
      deployBlock: this.#contract.deployBlock
    }
  }

  /** The chain connection and the publisher: after start only. */
  #ready() {
    const connected = this.#connected()
    if (!this.#publisher) throw new AuditNotReadyError('audit trail is not started')
    return { ...connected, publisher: this.#publisher }
  }

  /**
   * The valid node identity records on chain, by PeerId or account (after start or connect). Their
   * checks are kept in the node's database.
   */
  get identities(): IdentityDirectory {
    const c = this.#connected()
    this.#identities ??= new IdentityDirectory({
      rpc: c.rpc,
      contractAddress: c.contractAddress,
      deployBlock: c.deployBlock,
      identities: c.repos.identities
    })
    return this.#identities
  }

  /** The evidence bundle of a data hash (64 hex) from what this node holds (docs/AUDIT.md). */
  bundle(dataHash: string, opts: { signal?: AbortSignal } = {}): Promise<EvidenceBundle> {
    return buildBundle(this.#bundleContext(), dataHash, opts)
  }

  /**
   * This node's evidence entry of a share it sent to `requester`, as its bundle holds it: what the
   * share's recipient asks for over `/dmn/evidence/1.0.0`. Undefined when no such share went to
   * `requester`, or its record is not confirmed on chain yet.
   */
  evidenceOf(
    shareId: string,
    requester: string,
    opts: { signal?: AbortSignal } = {}
  ): Promise<BundleShare | undefined> {
    return outgoingEvidence(this.#bundleContext(), shareId, requester, opts)
  }

  #bundleContext() {
    const c = this.#connected()
    return {
      repos: c.repos,
      rpc: c.rpc,
      contractAddress: c.contractAddress,
      deployBlock: c.deployBlock,
      chainId: (this.#contract as { chainId: number }).chainId,
      identities: this.identities,
      senderEvidence: this.#c.senderEvidence
    }
  }

  /** What the chain holds for a data hash (64 hex), with evidence. */
  verify(
    dataHash: string,
    opts: { signal?: AbortSignal } = {}
  ): Promise<VerifyResult & { bundle: EvidenceBundle }> {
    return verifyDataHash(
      {
        ...this.#bundleContext(),
        deployBlock: this.#connected().deployBlock,
        minConfirmations: this.#init.confirmations
      },
      dataHash,
      opts
    )
  }

  /** Checks a batch inclusion proof someone holds against the anchored root. */
  verifyProof(proof: LeafProof, opts: { signal?: AbortSignal } = {}) {
    return verifyProofOnChain(this.#ready(), proof, opts)
  }

  /** Checks a receipt someone holds against its anchored hash (per-share mode). */
  verifyReceipt(body: ReceiptBody, opts: { signal?: AbortSignal } = {}) {
    return verifyReceiptOnChain(this.#ready(), body, opts)
  }

  /** Share history from the local event index. */
  history(filter: HistoryFilter = {}): HistoryEntry[] {
    return history(this.#repositories.events, filter)
  }

  /** Rebuilds the event index from the chain; returns the number of rows. */
  reindex(opts: { signal?: AbortSignal } = {}): Promise<number> {
    const r = this.#connected()
    return reindex(r.repos, r.rpc, r.contractAddress, r.deployBlock, opts)
  }

  status(): PublisherStatus {
    return this.#ready().publisher.status()
  }

  listOutbox(opts: Parameters<typeof listOutbox>[1] = {}): OutboxEntry[] {
    return listOutbox(this.#repositories.outbox, opts)
  }

  retryOutbox(id: number): void {
    retryOutbox(this.#repositories.outbox, id)
    this.#publisher?.poke()
  }

  /**
   * Signs this node's identity record (docs/AUDIT.md) with its account and the PeerId's own key, and
   * queues its registration on chain, unless the record registered last binds the same PeerId,
   * keys and account. Returns the record in force. After start.
   */
  async registerIdentity(input: Omit<CreateIdentityRecordInput, 'account' | 'issuedAt'>): Promise<string> {
    if (!this.#wallet) throw new AuditNotReadyError('audit trail is not started')
    const record = await createIdentityRecord({ ...input, account: this.#wallet, issuedAt: Date.now() })
    const current = enqueueNodeRegistration(this.#repositories.outbox, record)
    this.#publisher?.poke()
    return current
  }

  /**
   * Indexes, from now on, the chain events that name shares this node receives as `selfPeerId`
   * (node/audit/inbound-index.ts), counting only those its senders' bound accounts submitted. After
   * start; stopped with the service.
   */
  watchInbound(selfPeerId: string): void {
    const c = this.#ready()
    if (this.#inbound) return
    const directory = this.identities
    this.#inbound = new InboundWatcher(
      {
        repos: c.repos,
        rpc: c.rpc,
        contractAddress: c.contractAddress,
        deployBlock: c.deployBlock,
        selfPeerId,
        confirmations: this.#init.confirmations,
        boundAccounts: async (peerId, opts) =>
          (await directory.forPeer(peerId, opts)).map((e) => e.body.account),
        senderEvidence: this.#c.senderEvidence
      },
      this.#c.logger,
      { pollIntervalMs: this.#init.pollIntervalMs, maxBackoffMs: this.#init.maxBackoffMs }
    )
    this.#inbound.start()
  }

  /** A share was stored here: reads the chain for its anchors now rather than at the next interval. */
  pokeInbound(): void {
    this.#inbound?.poke()
  }

  /**
   * Per-share mode: signs the transaction of a share's record now, inside the share's own SQLite
   * transaction (the p2p hooks call it right after queueing the event), so the share's answer
   * carries its hash. Undefined when it cannot be signed yet (the audit trail not started, the
   * chain not reached since; batch mode): the publisher signs it later.
   */
  signAtAcceptance(row: OutboxJobRow): string | undefined {
    return this.#publisher?.signAtAcceptance(row)
  }

  /** Wakes the publisher (after enqueueing) instead of waiting for its next poll. */
  poke(): void {
    this.#publisher?.poke()
  }

  /** Batch mode: anchor what is pending now. */
  flush(): void {
    this.#ready().publisher.flush()
  }

  /** Anchors the security log's head at the next opportunity. */
  anchorLogNow(): void {
    this.#ready().publisher.anchorLogNow()
  }

  /** The chain of hashes and, when the chain is reachable, every anchor. */
  async verifyLog(
    opts: { signal?: AbortSignal } = {}
  ): Promise<LogVerification & { anchors: Awaited<ReturnType<typeof verifyLogAnchors>> }> {
    const r = this.#connected()
    const chain = this.securityLog.verifyChain()
    const anchors = await verifyLogAnchors(r, this.securityLog, this.#account as string, opts).catch(
      (err: unknown) => {
        if (err instanceof ChainUnavailableError)
          return { checked: 0, ok: false, firstBad: null, error: err.message }
        throw err
      }
    )
    return { ...chain, ok: chain.ok && anchors.ok, anchors }
  }
}
