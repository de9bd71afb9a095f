/**
 * The identity directory: the valid node identity records the chain holds for a PeerId or an
 * account. Records are found by the indexed topics of `NodeRegistered` (never by scanning blocks);
 * one counts only when its signatures hold (verifyIdentityRecord), its account is the event's
 * account and its hash is the event's recordHash. Anything else anyone registered is ignored. Each
 * log is checked once; the outcome is kept in `identity_records`, keyed by the log and its block hash,
 * so a record from a chain that was replaced never answers.
 */
import type { RegisteredIdentity } from '../core/share-ports.ts'
import type { IdentityRecordRepository, IdentityRecordRow } from '../store/identity-records.ts'
import type { EventAnchor } from './bundle-format.ts'
import { addressTopic, bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import { InvalidIdentityRecordError, type VerifiedIdentity, verifyIdentityRecord } from './identity-record.ts'
import { peerIdHash, sha256Hex } from './leaves.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

/** A valid identity record with the NodeRegistered log that published it. */
export type IdentityEntry = VerifiedIdentity & { readonly anchor: EventAnchor }

export interface IdentityDirectoryComponents {
  readonly rpc: RpcClient
  readonly contractAddress: string
  /** The first block to search (the contract's deployment). */
  readonly deployBlock: number
  readonly identities: IdentityRecordRepository
}

type Opts = { signal?: AbortSignal }

const strip = (hex: string) => hex.replace(/^0x/, '').toLowerCase()

export class IdentityDirectory {
  readonly #c: IdentityDirectoryComponents
  // Records whose check the database already holds are rebuilt once per process, not per query.
  readonly #verified = new Map<string, Promise<VerifiedIdentity>>()

  constructor(components: IdentityDirectoryComponents) {
    this.#c = components
  }

  /** The valid records of a PeerId, oldest first. */
  forPeer(peerId: string, opts: Opts = {}): Promise<IdentityEntry[]> {
    return this.#find([TOPICS.NodeRegistered, null, bytes32(peerIdHash(peerId))], opts).then((all) =>
      all.filter((e) => e.body.peerId === peerId)
    )
  }

  /** The valid records of an Ethereum account, oldest first. */
  forAccount(account: string, opts: Opts = {}): Promise<IdentityEntry[]> {
    const lower = account.toLowerCase()
    return this.#find([TOPICS.NodeRegistered, addressTopic(lower)], opts).then((all) =>
      all.filter((e) => e.body.account === lower)
    )
  }

  /**
   * The identity the newest valid record of an account binds (the core's IdentityRegistry port): what
   * a share to that address is resolved with. Undefined when the account registered none.
   */
  async registeredIdentity(account: string, opts: Opts = {}): Promise<RegisteredIdentity | undefined> {
    const newest = (await this.forAccount(account, opts)).at(-1)
    return (
      newest && {
        peerId: newest.body.peerId,
        account: newest.body.account,
        signingPublicKeyPem: newest.signingKeyPem,
        encryptionPublicKeyPem: newest.encryptionKeyPem
      }
    )
  }

  async #find(topics: (string | null)[], opts: Opts): Promise<IdentityEntry[]> {
    const c = this.#c
    const logs = await getLogs(c.rpc, c.contractAddress, topics, c.deployBlock, opts)
    const out: IdentityEntry[] = []
    for (const log of logs) {
      const entry = await this.#checked(log)
      if (entry) out.push(entry)
    }
    return out
  }

  async #checked(log: RpcLog): Promise<IdentityEntry | undefined> {
    const anchor: EventAnchor = {
      type: 'event',
      txHash: log.transactionHash.toLowerCase(),
      blockNumber: hexToNumber(log.blockNumber),
      blockHash: log.blockHash.toLowerCase(),
      logIndex: hexToNumber(log.logIndex)
    }
    const known = this.#c.identities.get(anchor.txHash, anchor.logIndex)
    if (known && known.blockHash === anchor.blockHash) {
      if (known.problem !== null) return undefined
      let verified = this.#verified.get(known.record)
      if (!verified) {
        verified = verifyIdentityRecord(known.record)
        this.#verified.set(known.record, verified)
      }
      return { ...(await verified), anchor }
    }
    const checked = await checkRegistration(log, anchor)
    this.#c.identities.put(checked.row)
    return checked.entry
  }
}

/** Checks one NodeRegistered log: the record it carries, against the event it came in. */
async function checkRegistration(
  log: RpcLog,
  anchor: EventAnchor
): Promise<{ row: IdentityRecordRow; entry?: IdentityEntry }> {
  const args = parseLog(log)?.args
  const account = String(args?.['account'] ?? '').toLowerCase()
  const record = args ? new TextDecoder().decode(Buffer.from(strip(String(args['record'])), 'hex')) : ''
  const base = {
    txHash: anchor.txHash,
    logIndex: anchor.logIndex,
    blockNumber: anchor.blockNumber,
    blockHash: anchor.blockHash,
    account,
    peerIdHash: strip(String(log.topics[2] ?? '')),
    record,
    recordHash: strip(String(args?.['recordHash'] ?? ''))
  }
  const refuse = (problem: string) => ({ row: { ...base, peerId: null, problem } })
  if (!args) return refuse('not_a_registration')
  let verified: VerifiedIdentity
  try {
    verified = await verifyIdentityRecord(record)
  } catch (err) {
    if (err instanceof InvalidIdentityRecordError) return refuse(err.problem)
    throw err
  }
  if (verified.body.account !== account) return refuse('account_mismatch')
  if (sha256Hex(record) !== base.recordHash) return refuse('record_hash_mismatch')
  if (peerIdHash(verified.body.peerId) !== base.peerIdHash) return refuse('peer_id_hash_mismatch')
  return { row: { ...base, peerId: verified.body.peerId, problem: null }, entry: { ...verified, anchor } }
}
