import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { type Config, configSchema } from '../../../config/index.ts'
import { deployAuditTrail, EmbeddedChain } from '../../audit/index.ts'
import { RpcClient, toHex } from '../../audit/rpc-client.ts'
import type { Logger } from '../../log/logger.ts'
import { createNode, type DmnNode } from '../../main.ts'

/**
 * A local cluster for the demo, the end-to-end test and the API benchmark: one chain on loopback
 * (the node's embedded chain, anvil, in memory: the cluster's directories go away with it) with the
 * audit contract deployed, and nodes in temporary directories, each with its own
 * funded Ethereum account, libp2p and both APIs on free loopback ports. `stop()` stops everything and
 * removes the directories; it is safe to call more than once and after a partial start.
 */

export interface ClusterNode {
  readonly name: string
  readonly node: DmnNode
  readonly dataDir: string
  readonly peerId: string
  readonly ethAddress: string
  readonly internalUrl: string
  readonly externalUrl: string
}

export interface LocalCluster {
  readonly rootDir: string
  readonly chainUrl: string
  readonly contractAddress: string
  readonly deployTxHash: string
  readonly nodes: readonly ClusterNode[]
  stop(): Promise<void>
}

export interface LocalClusterInit {
  readonly names: readonly string[]
  readonly logger: Logger
  /** Rate limits of both APIs (the benchmark lifts them). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number }
  readonly chainMode?: 'per-share' | 'batch'
  /** Batched delivery between the nodes (`p2p.batchMax`, `p2p.batchWindowMs`); off unless given. */
  readonly p2pBatch?: { readonly max: number; readonly windowMs: number }
  /** Batch mode: leaves per batch and the longest wait for one (`chain.batchSize`, `chain.batchIntervalSeconds`). */
  readonly batchSize?: number
  readonly batchIntervalSeconds?: number
  /** How soon a transaction stuck in the pool is replaced (`chain.resendAfterSeconds`; tests shorten it). */
  readonly resendAfterSeconds?: number
  /** Host names each internal API answers besides its own address (`api.internal.allowedHosts`). */
  readonly internalAllowedHosts?: readonly string[]
  /** Called as each part comes up, for a running account. */
  readonly onStep?: (step: string, detail: Record<string, unknown>) => void
  readonly signal?: AbortSignal
}

export const DEMO_PASSWORD = 'demo master password (temporary)'

export async function startLocalCluster(init: LocalClusterInit): Promise<LocalCluster> {
  const rootDir = mkdtempSync(join(tmpdir(), 'dmn-cluster-'))
  const chain = new EmbeddedChain({}, { logger: init.logger })
  const started: DmnNode[] = []
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      for (const node of started.reverse()) await node.stop().catch(() => {})
      await chain.stop().catch(() => {})
      rmSync(rootDir, { recursive: true, force: true })
    })()
    return stopping
  }
  try {
    init.onStep?.('directory', { path: rootDir })
    await chain.start()
    init.signal?.throwIfAborted()
    const rpc = new RpcClient({ url: chain.url, timeoutMs: 10_000 })
    const deployer = Wallet.createRandom()
    await rpc.call('anvil_setBalance', [deployer.address, toHex(10n ** 21n)])
    const deployed = await deployAuditTrail(rpc, new Wallet(deployer.privateKey))
    init.onStep?.('chain', { url: chain.url, contract: deployed.contractAddress, tx: deployed.txHash })

    const nodes: ClusterNode[] = []
    for (const name of init.names) {
      init.signal?.throwIfAborted()
      const wallet = Wallet.createRandom()
      await rpc.call('anvil_setBalance', [wallet.address, toHex(10n ** 20n)])
      const dataDir = join(rootDir, name)
      const node = createNode({
        config: nodeConfig(dataDir, chain.url, wallet, deployed, init),
        logger: init.logger
      })
      started.push(node)
      await node.start()
      const { internal, external } = node.api.listening
      const entry: ClusterNode = {
        name,
        node,
        dataDir,
        peerId: node.p2p.peerId,
        ethAddress: wallet.address,
        internalUrl: internal.url,
        externalUrl: external.url
      }
      nodes.push(entry)
      init.onStep?.('node', { name, peerId: entry.peerId, internal: internal.url, external: external.url })
    }
    return {
      rootDir,
      chainUrl: chain.url,
      contractAddress: deployed.contractAddress,
      deployTxHash: deployed.txHash,
      nodes,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function nodeConfig(
  dataDir: string,
  rpcUrl: string,
  wallet: { privateKey: string },
  deployed: { contractAddress: string; deployBlock: number },
  init: LocalClusterInit
): Config {
  const rateLimit = init.rateLimit ?? { perSecond: 50, burst: 100 }
  return configSchema.parse({
    dataDir,
    masterPassword: DEMO_PASSWORD,
    logLevel: 'silent',
    p2p: {
      host: '127.0.0.1',
      port: 0,
      retryBaseMs: 100,
      retryMaxMs: 1_000,
      ...(init.p2pBatch ? { batchMax: init.p2pBatch.max, batchWindowMs: init.p2pBatch.windowMs } : {})
    },
    chain: {
      rpcUrl,
      privateKey: wallet.privateKey,
      contractAddress: deployed.contractAddress,
      fromBlock: deployed.deployBlock,
      mode: init.chainMode ?? 'per-share',
      ...(init.batchSize !== undefined ? { batchSize: init.batchSize } : {}),
      ...(init.batchIntervalSeconds !== undefined ? { batchIntervalSeconds: init.batchIntervalSeconds } : {}),
      ...(init.resendAfterSeconds !== undefined ? { resendAfterSeconds: init.resendAfterSeconds } : {}),
      confirmations: 1,
      pollIntervalMs: 100
    },
    api: {
      internal: { host: '127.0.0.1', port: 0, rateLimit, allowedHosts: init.internalAllowedHosts ?? [] },
      external: { host: '127.0.0.1', port: 0, rateLimit }
    }
  })
}

/** Connects `from` to `to` and waits until `from` holds `to`'s verified certificate. */
export async function introduce(from: ClusterNode, to: ClusterNode, timeoutMs = 20_000): Promise<void> {
  const p2p = from.node.p2p
  const known = () => p2p.peers().some((p) => p.peerId === to.peerId && p.trust !== 'unknown')
  let onVerified: ((e: { peerId: string }) => void) | undefined
  let timer: NodeJS.Timeout | undefined
  const verified = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${from.name} did not verify ${to.name} within ${timeoutMs} ms`)),
      timeoutMs
    )
    onVerified = ({ peerId }) => {
      if (peerId === to.peerId) resolve()
    }
    p2p.on('peer:verified', onVerified)
  })
  try {
    const address = to.node.p2p.multiaddrs.find((a) => a.includes('/127.0.0.1/')) ?? to.node.p2p.multiaddrs[0]
    if (!address) throw new Error(`${to.name} has no listen address`)
    await p2p.connect(address.includes('/p2p/') ? address : `${address}/p2p/${to.peerId}`)
    if (!known()) await verified
  } finally {
    clearTimeout(timer)
    if (onVerified) p2p.off('peer:verified', onVerified)
  }
}
