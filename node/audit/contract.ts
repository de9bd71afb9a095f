import { readFileSync } from 'node:fs'
import { type EventFragment, Interface, LogDescription } from 'ethers'
import { ChainRpcError, ContractRevertError } from './errors.ts'
import type { RpcLog } from './rpc-client.ts'

interface ShippedArtifact {
  readonly abi: readonly unknown[]
  readonly bytecode: string
  readonly deployedBytecode: string
}

const artifact = JSON.parse(
  readFileSync(new URL('./contract-artifact.json', import.meta.url), 'utf8')
) as ShippedArtifact

/** The AuditTrail ABI. */
export const auditTrailInterface = new Interface(artifact.abi as string[])
/** Creation bytecode, used by deployment. */
export const AUDIT_TRAIL_BYTECODE = artifact.bytecode
/** Runtime bytecode, compared with `eth_getCode` at start. */
export const AUDIT_TRAIL_RUNTIME = artifact.deployedBytecode.toLowerCase()

/** topic0 of each event. */
export const TOPICS = {
  NodeRegistered: eventTopic('NodeRegistered'),
  ShareRecorded: eventTopic('ShareRecorded'),
  ReceiptAnchored: eventTopic('ReceiptAnchored'),
  BatchAnchored: eventTopic('BatchAnchored'),
  LogHeadAnchored: eventTopic('LogHeadAnchored')
} as const

function eventTopic(name: string): string {
  const event = auditTrailInterface.getEvent(name)
  if (!event) throw new Error(`AuditTrail ABI has no event ${name}`)
  return event.topicHash
}

export function encodeCall(name: string, args: readonly unknown[]): string {
  return auditTrailInterface.encodeFunctionData(name, args)
}

export function decodeResult(name: string, data: string): readonly unknown[] {
  return [...auditTrailInterface.decodeFunctionResult(name, data)]
}

// The contract's events by topic, hashed once: `Interface.parseLog` hashes every event's signature
// on each call to find the one a log names, and the publisher and both indexes parse every log.
const EVENTS_BY_TOPIC = new Map<string, EventFragment>()
auditTrailInterface.forEachEvent((event) => EVENTS_BY_TOPIC.set(event.topicHash, event))

/** The contract event a log holds, decoded; null for a log that is none of them (or malformed). */
export function parseLog(log: RpcLog): LogDescription | null {
  const topic = log.topics[0]?.toLowerCase()
  const event = topic === undefined ? undefined : EVENTS_BY_TOPIC.get(topic)
  if (topic === undefined || event === undefined) return null
  try {
    return new LogDescription(event, topic, auditTrailInterface.decodeEventLog(event, log.data, log.topics))
  } catch {
    return null
  }
}

/** Turns a JSON-RPC revert into ContractRevertError with the custom error's name; others pass through. */
export function translateRevert(err: unknown): unknown {
  if (!(err instanceof ChainRpcError) || err.data === undefined) return err
  try {
    const decoded = auditTrailInterface.parseError(err.data)
    if (decoded) return new ContractRevertError(decoded.name, [...decoded.args], { cause: err })
  } catch {
    // not one of ours: fall through
  }
  return new ContractRevertError('Unknown', [err.data], { cause: err })
}

/** 0x-prefixed 32-byte hex from 64 hex digits. */
export const bytes32 = (hex: string): string => (hex.startsWith('0x') ? hex : `0x${hex}`).toLowerCase()
/** 0x-prefixed 16-byte hex of a share id. */
export const bytes16 = (shareId: string): string => `0x${shareId}`
/** Topic form of a share id: an indexed bytes16 is the value left-aligned in 32 bytes. */
export const shareIdTopic = (shareId: string): string => bytes16(shareId).padEnd(66, '0')
/** Topic form of an address. */
export const addressTopic = (address: string): string =>
  `0x${address.slice(2).toLowerCase().padStart(64, '0')}`
