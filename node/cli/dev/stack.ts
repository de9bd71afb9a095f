/**
 * A local development stack (`dmn dev up | status | down`): N nodes on one lasting anvil chain, all
 * detached background processes in one directory that stays until `dmn dev down`. Up on a stack
 * whose processes have stopped (`down --keep`, a reboot) starts them again from their files, on the
 * same ports, chain and data; up on a running stack starts nothing.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Wallet } from 'ethers'
import { freePort } from '../../audit/chain-process.ts'
import { RpcClient } from '../../audit/rpc-client.ts'
import { UsageError } from '../../core/errors.ts'
import { chainPid, deployContract, fund, startChain } from './chain.ts'
import { DevStackAlreadyUpError, DevStackError } from './errors.ts'
import {
  chainPaths,
  isStackDir,
  nodeDirNames,
  nodeName,
  nodePaths,
  PASSWORD_FILE,
  readStack,
  STACK_FILE,
  STACK_FORMAT,
  STACK_SHELL_FILE,
  STACK_MARKER,
  type StackDocument,
  type StackNode
} from './layout.ts'
import { stopDetached } from './processes.ts'
import {
  childEnvironment,
  createApiKey,
  DEV_KEY_SCOPES,
  dialAddress,
  nodePid,
  startNode,
  waitForNode,
  writeNodeEnv
} from './nodes.ts'

export const DEFAULT_NODES = 3
export const MAX_NODES = 9
/** A node drains in-flight work before it exits; anvil writes its state. */
const NODE_STOP_GRACE_MS = 30_000
const CHAIN_STOP_GRACE_MS = 10_000

export interface DevUpInit {
  readonly dir: string
  /** How many nodes; unset: DEFAULT_NODES for a new stack, the stack's own for one that exists. */
  readonly nodes?: number
  /** A line of progress, as each part comes up. */
  readonly onStep?: (line: string) => void
}

export interface DevUpResult {
  readonly stack: StackDocument
  /** True when an existing stack was started again rather than made. */
  readonly resumed: boolean
}

export async function devUp(init: DevUpInit): Promise<DevUpResult> {
  const dir = resolve(init.dir)
  const existing = existsSync(dir) ? readStack(dir) : undefined
  if (existing) return { stack: await resume(existing, init), resumed: true }
  if (existsSync(dir)) {
    if (isStackDir(dir))
      throw new DevStackError(
        `${dir} holds a dev stack whose start did not finish (its logs are there): \`dmn dev down --dir ${dir}\` removes it`
      )
    if (readdirSync(dir).length > 0)
      throw new DevStackError(`${dir} exists and is not a dev stack: choose another --dir`)
  }
  const count = init.nodes ?? DEFAULT_NODES
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, STACK_MARKER), `dmn dev stack, format ${STACK_FORMAT}\n`, { mode: 0o600 })
  try {
    return { stack: await create(dir, count, init.onStep ?? (() => {})), resumed: false }
  } catch (err) {
    // The directory stays, with the logs that say what went wrong; `dmn dev down` removes it.
    await stopProcesses(dir)
    throw err
  }
}

async function create(dir: string, count: number, step: (line: string) => void): Promise<StackDocument> {
  const passwordFile = join(dir, PASSWORD_FILE)
  writeFileSync(passwordFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 })
  const ports = await distinctFreePorts(1 + 3 * count)
  const chainPort = ports[0] as number
  const env = childEnvironment()

  const rpc = await startChain(dir, chainPort, env)
  const deployed = await deployContract(rpc)
  const chainId = Number(BigInt(await rpc.call<string>('eth_chainId', [])))
  step(`chain    ${rpc.url} (anvil), contract ${deployed.contractAddress}`)

  const planned = []
  for (let i = 0; i < count; i++) {
    const wallet = Wallet.createRandom()
    await fund(rpc, wallet.address)
    const [p2pPort, internalPort, externalPort] = ports.slice(1 + 3 * i, 4 + 3 * i) as [
      number,
      number,
      number
    ]
    const name = nodeName(i)
    planned.push({
      name,
      wallet,
      p2pPort,
      internalUrl: `http://127.0.0.1:${internalPort}`,
      externalUrl: `http://127.0.0.1:${externalPort}`,
      settings: {
        name,
        dataDir: nodePaths(dir, name).data,
        passwordFile,
        p2pPort,
        internalPort,
        externalPort,
        rpcUrl: rpc.url,
        contractAddress: deployed.contractAddress,
        deployBlock: deployed.deployBlock,
        privateKey: wallet.privateKey
      }
    })
  }

  // The first node is every other node's bootstrap peer, so it comes up first.
  const [first, ...rest] = planned
  if (!first) throw new UsageError('a stack needs at least one node')
  writeNodeEnv(dir, first.settings)
  const firstId = await waitForNode(dir, first.name, first.internalUrl, await startNode(dir, first.name, env))
  step(`${first.name}    up, PeerId ${firstId.peer_id}`)
  const bootstrap = dialAddress(firstId, first.p2pPort)
  for (const node of rest) writeNodeEnv(dir, { ...node.settings, bootstrap })
  const restIds = await Promise.all(
    rest.map(async (node) => {
      const id = await waitForNode(dir, node.name, node.internalUrl, await startNode(dir, node.name, env))
      step(`${node.name}    up, PeerId ${id.peer_id}`)
      return id
    })
  )

  const nodes: StackNode[] = []
  for (const [i, node] of planned.entries()) {
    const id = i === 0 ? firstId : (restIds[i - 1] as typeof firstId)
    const paths = nodePaths(dir, node.name)
    nodes.push({
      name: node.name,
      peer_id: id.peer_id,
      eth_address: id.eth_address ?? node.wallet.address,
      p2p_address: dialAddress(id, node.p2pPort),
      external_url: node.externalUrl,
      internal_url: node.internalUrl,
      api_key: await createApiKey(node.internalUrl),
      api_key_scopes: [...DEV_KEY_SCOPES],
      data_dir: paths.data,
      env_file: paths.env,
      log_file: paths.log
    })
  }
  const chain = chainPaths(dir)
  const stack: StackDocument = {
    format: STACK_FORMAT,
    dir,
    created_at: new Date().toISOString(),
    master_password_file: passwordFile,
    chain: {
      rpc_url: rpc.url,
      port: chainPort,
      chain_id: chainId,
      contract_address: deployed.contractAddress,
      deploy_block: deployed.deployBlock,
      state_file: chain.state,
      log_file: chain.log
    },
    nodes
  }
  // Written last: a stack document means a stack that came up whole. They hold the API keys: 0600.
  writeFileSync(join(dir, STACK_SHELL_FILE), shellVariables(stack), { mode: 0o600 })
  writeFileSync(join(dir, STACK_FILE), `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 })
  return stack
}

/** The stack as shell variables (`. <dir>/stack.env`): NODE1_EXTERNAL_URL, NODE1_API_KEY, ... */
function shellVariables(stack: StackDocument): string {
  const lines = [`CHAIN_RPC_URL=${stack.chain.rpc_url}`, `CONTRACT_ADDRESS=${stack.chain.contract_address}`]
  for (const node of stack.nodes) {
    const prefix = node.name.toUpperCase()
    lines.push(
      `${prefix}_EXTERNAL_URL=${node.external_url}`,
      `${prefix}_INTERNAL_URL=${node.internal_url}`,
      `${prefix}_PEER_ID=${node.peer_id}`,
      `${prefix}_ETH_ADDRESS=${node.eth_address}`,
      `${prefix}_API_KEY=${node.api_key}`,
      `${prefix}_ENV_FILE=${node.env_file}`
    )
  }
  return `${lines.join('\n')}\n`
}

async function resume(stack: StackDocument, init: DevUpInit): Promise<StackDocument> {
  const dir = stack.dir
  if (init.nodes !== undefined && init.nodes !== stack.nodes.length) {
    throw new UsageError(
      `the dev stack in ${dir} has ${stack.nodes.length} nodes: \`dmn dev down --dir ${dir}\` first to make one of ${init.nodes}`
    )
  }
  const chainUp = chainPid(dir) !== undefined
  const down = stack.nodes.filter((n) => nodePid(dir, n.name) === undefined)
  if (chainUp && down.length === 0) {
    throw new DevStackAlreadyUpError(
      `a dev stack is already up in ${dir} (${stack.nodes.length} nodes): \`dmn dev status --dir ${dir}\` shows it, \`dmn dev down --dir ${dir}\` stops it`
    )
  }
  const step = init.onStep ?? (() => {})
  const env = childEnvironment()
  if (!chainUp) {
    await startChain(dir, stack.chain.port, env)
    step(`chain    ${stack.chain.rpc_url} (anvil) started again from ${stack.chain.state_file}`)
  }
  const bootstrapNode = stack.nodes[0]
  const starts = async (node: StackNode) => {
    await waitForNode(dir, node.name, node.internal_url, await startNode(dir, node.name, env))
    step(`${node.name}    started again`)
  }
  if (bootstrapNode && down.includes(bootstrapNode)) await starts(bootstrapNode)
  await Promise.all(down.filter((n) => n !== bootstrapNode).map(starts))
  return stack
}

export interface DevDownResult {
  readonly dir: string
  readonly found: boolean
  /** Names of the parts that were running and were stopped. */
  readonly stopped: readonly string[]
  readonly removed: boolean
}

/** Stops every process of the stack in `dir` (nodes, then the chain) and removes the directory unless `keep`. */
export async function devDown(init: { dir: string; keep?: boolean }): Promise<DevDownResult> {
  const dir = resolve(init.dir)
  if (!existsSync(dir)) return { dir, found: false, stopped: [], removed: false }
  if (!isStackDir(dir))
    throw new DevStackError(`${dir} is not a dev stack (no ${STACK_MARKER}): nothing was stopped or removed`)
  const stopped = await stopProcesses(dir)
  if (!init.keep) rmSync(dir, { recursive: true, force: true })
  return { dir, found: true, stopped, removed: !init.keep }
}

async function stopProcesses(dir: string): Promise<string[]> {
  const names = nodeDirNames(dir)
  const nodes = await Promise.all(
    names.map(async (name) => {
      const paths = nodePaths(dir, name)
      return (await stopDetached(paths.pid, paths.env, NODE_STOP_GRACE_MS)) ? name : undefined
    })
  )
  const chain = chainPaths(dir)
  const chainStopped = await stopDetached(chain.pid, chain.state, CHAIN_STOP_GRACE_MS)
  return [...nodes.filter((n): n is string => n !== undefined), ...(chainStopped ? ['chain'] : [])]
}

/** One part of the stack as `dmn dev status` reports it (snake_case, like the API). */
export type PartStatus =
  | {
      readonly name: 'chain'
      readonly role: 'chain'
      readonly pid: number | null
      readonly running: boolean
      readonly url: string
      readonly block_number: number | null
    }
  | {
      readonly name: string
      readonly role: 'node'
      readonly pid: number | null
      readonly running: boolean
      /** `status` of the node's `GET /health`; null when its internal API does not answer. */
      readonly health: string | null
      readonly peer_id: string
      readonly eth_address: string
      readonly external_url: string
      readonly internal_url: string
    }

/** Every part of the stack in `dir`, undefined when there is no stack there. */
export async function devStatus(init: { dir: string }): Promise<PartStatus[] | undefined> {
  const dir = resolve(init.dir)
  const stack = existsSync(dir) ? readStack(dir) : undefined
  if (!stack) return undefined
  const pid = chainPid(dir)
  let blockNumber: number | null = null
  try {
    const rpc = new RpcClient({ url: stack.chain.rpc_url, timeoutMs: 3_000 })
    blockNumber = Number(BigInt(await rpc.call<string>('eth_blockNumber', [])))
  } catch {
    blockNumber = null
  }
  const chain: PartStatus = {
    name: 'chain',
    role: 'chain',
    pid: pid ?? null,
    running: pid !== undefined,
    url: stack.chain.rpc_url,
    block_number: blockNumber
  }
  const nodes = await Promise.all(
    stack.nodes.map(async (node): Promise<PartStatus> => {
      const nodeProcess = nodePid(dir, node.name)
      return {
        name: node.name,
        role: 'node',
        pid: nodeProcess ?? null,
        running: nodeProcess !== undefined,
        health: await healthOf(node.internal_url),
        peer_id: node.peer_id,
        eth_address: node.eth_address,
        external_url: node.external_url,
        internal_url: node.internal_url
      }
    })
  )
  return [chain, ...nodes]
}

async function healthOf(internalUrl: string): Promise<string | null> {
  try {
    const response = await fetch(`${internalUrl}/health`, { signal: AbortSignal.timeout(5_000) })
    const body = (await response.json()) as { status?: unknown }
    return typeof body.status === 'string' ? body.status : null
  } catch {
    return null
  }
}

/** `count` free loopback ports, all different. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}
