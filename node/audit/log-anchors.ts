import { addressTopic, bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import type { RpcClient } from './rpc-client.ts'
import type { SecurityLog } from './security-log.ts'

export interface AnchorVerification {
  readonly checked: number
  readonly ok: boolean
  /** The first anchor that does not match the log or the chain. */
  readonly firstBad: { readonly seq: number; readonly reason: string } | null
  readonly error?: string
}

/**
 * Checks every confirmed anchor of the security log: the row it names must still hash to the
 * anchored head, and the chain must hold a LogHeadAnchored event (found by account and sequence
 * topics) with that head.
 */
export async function verifyLogAnchors(
  ctx: { rpc: RpcClient; contractAddress: string; deployBlock: number },
  log: SecurityLog,
  account: string,
  opts: { signal?: AbortSignal } = {}
): Promise<AnchorVerification> {
  const anchors = log.anchors()
  let checked = 0
  for (const a of anchors) {
    checked += 1
    const hash = log.hashAt(a.seq)
    if (hash === undefined)
      return { checked, ok: false, firstBad: { seq: a.seq, reason: 'the anchored row is missing' } }
    if (hash !== a.head)
      return {
        checked,
        ok: false,
        firstBad: { seq: a.seq, reason: 'the row no longer hashes to its anchor' }
      }
    const seqTopic = `0x${a.seq.toString(16).padStart(64, '0')}`
    const logs = await getLogs(
      ctx.rpc,
      ctx.contractAddress,
      [TOPICS.LogHeadAnchored, addressTopic(account), seqTopic],
      ctx.deployBlock,
      opts
    )
    const onChain = logs.map((l) => String(parseLog(l)?.args['head']).toLowerCase())
    if (!onChain.includes(bytes32(a.head))) {
      return { checked, ok: false, firstBad: { seq: a.seq, reason: 'no matching anchor on chain' } }
    }
  }
  return { checked, ok: true, firstBad: null }
}
