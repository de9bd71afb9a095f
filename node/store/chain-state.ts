import type { Db } from './database.ts'

/**
 * The audit trail's facts in `node_state`: which chain, contract and account it writes to, the hash
 * of that chain's genesis block, the next nonce of that account, how far the event index has read
 * the chain, and the digest of the config the node last started with.
 */

// node_state keys; the values are text.
const CHAIN_KEY = 'audit.chain'
const NONCE_KEY = 'audit.next_nonce'
const INDEXED_KEY = 'audit.indexed_block'
const INBOUND_INDEXED_KEY = 'audit.inbound_indexed_block'
const CONFIG_KEY = 'audit.config_snapshot'
const GENESIS_KEY = 'audit.genesis_hash'

const now = () => new Date().toISOString()

/** Repository over the audit trail's rows of `node_state`; statements prepared once. */
export class ChainStateRepository {
  readonly #get
  readonly #put
  readonly #forgetChainProgress
  readonly #forgetIndexed

  constructor(db: Db) {
    this.#get = db.prepare<[string], { value: string }>('SELECT value FROM node_state WHERE key = ?')
    this.#put = db.prepare(
      `INSERT INTO node_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
    )
    this.#forgetChainProgress = db.prepare('DELETE FROM node_state WHERE key IN (?, ?, ?)')
    this.#forgetIndexed = db.prepare('DELETE FROM node_state WHERE key IN (?, ?)')
  }

  /** `<chainId>:<contract>:<account>` (lower case) the node last published with. */
  chainBinding(): string | undefined {
    return this.#get.get(CHAIN_KEY)?.value
  }

  setChainBinding(binding: string): void {
    this.#put.run(CHAIN_KEY, binding, now())
  }

  /** Hash of block 0 of the chain the node writes to: a new one means the chain was reset or replaced. */
  genesisHash(): string | undefined {
    return this.#get.get(GENESIS_KEY)?.value
  }

  setGenesisHash(hash: string): void {
    this.#put.run(GENESIS_KEY, hash, now())
  }

  /** The lowest nonce the node may use next, as far as it knows. */
  nextNonce(): number | undefined {
    const row = this.#get.get(NONCE_KEY)
    return row ? Number(row.value) : undefined
  }

  setNextNonce(nonce: number): void {
    this.#put.run(NONCE_KEY, String(nonce), now())
  }

  /** The last block the event index has read. */
  indexedBlock(): number | undefined {
    const row = this.#get.get(INDEXED_KEY)
    return row ? Number(row.value) : undefined
  }

  setIndexedBlock(block: number): void {
    this.#put.run(INDEXED_KEY, String(block), now())
  }

  /** The last block the recipient's index of the events naming this node has read. */
  inboundIndexedBlock(): number | undefined {
    const row = this.#get.get(INBOUND_INDEXED_KEY)
    return row ? Number(row.value) : undefined
  }

  setInboundIndexedBlock(block: number): void {
    this.#put.run(INBOUND_INDEXED_KEY, String(block), now())
  }

  /** Forgets both index positions (the index is emptied and rebuilt from the chain). */
  forgetIndexedBlock(): void {
    this.#forgetIndexed.run(INDEXED_KEY, INBOUND_INDEXED_KEY)
  }

  /** Forgets the nonce and the index positions: they belong to the chain, contract and account. */
  forgetChainProgress(): void {
    this.#forgetChainProgress.run(NONCE_KEY, INDEXED_KEY, INBOUND_INDEXED_KEY)
  }

  /** The digest (JSON) of the config the node last started with. */
  configSnapshot(): string | undefined {
    return this.#get.get(CONFIG_KEY)?.value
  }

  setConfigSnapshot(snapshot: string): void {
    this.#put.run(CONFIG_KEY, snapshot, now())
  }
}
