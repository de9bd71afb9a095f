import { EmbeddedChain, HardhatNode } from '../../node/audit/index.ts'
import type { RpcClient } from '../../node/audit/rpc-client.ts'

/**
 * The audit integration suite runs on both local chains a node meets: `hardhat node` (the
 * contract's own tooling) and anvil (the node's embedded chain, here in memory). Each suite is a
 * `describe.each(CHAIN_KINDS)` with one chain per kind.
 */
export const CHAIN_KINDS = ['hardhat', 'anvil'] as const
export type ChainKind = (typeof CHAIN_KINDS)[number]

export interface TestChain {
  readonly kind: ChainKind
  readonly url: string
  start(): Promise<void>
  stop(): Promise<void>
  /** To the chain's whole process group (SIGSTOP freezes it, SIGCONT thaws it). */
  signal(signal: NodeJS.Signals): void
}

export function testChain(kind: ChainKind, init: { port?: number } = {}): TestChain {
  const chain = kind === 'hardhat' ? new HardhatNode(init) : new EmbeddedChain(init)
  return {
    kind,
    get url() {
      return chain.url
    },
    start: () => chain.start(),
    stop: () => chain.stop(),
    signal: (signal) => chain.signal(signal)
  }
}

/** Takes a pending transaction out of the chain's pool; true when it was there. */
export async function dropTransaction(rpc: RpcClient, kind: ChainKind, txHash: string): Promise<boolean> {
  const method = kind === 'hardhat' ? 'hardhat_dropTransaction' : 'anvil_dropTransaction'
  const result = await rpc.call<boolean | string | null>(method, [txHash])
  return result === true || typeof result === 'string'
}
