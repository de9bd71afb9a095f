/**
 * The directory of a local development stack (`dmn dev up`): where each part keeps its files, and
 * the stack document (`stack.json`) that `dmn dev up` writes and `status` and `down` read.
 *
 *   <dir>/.dmn-dev-stack       marker: `dmn dev down` removes only a directory that has it
 *   <dir>/stack.json           chain, nodes, URLs, PeerIds, addresses, API keys (0600)
 *   <dir>/stack.env            the same as shell variables (NODE1_API_KEY=...), to source (0600)
 *   <dir>/master-password      the stack's generated master password (0600)
 *   <dir>/chain/               anvil: its state file, genesis timestamp, pid file, log
 *   <dir>/node<N>/             node.env (its settings), node.pid, node.log, data/ (its data directory)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DevStackError } from './errors.ts'

export const STACK_MARKER = '.dmn-dev-stack'
export const STACK_FILE = 'stack.json'
/** The same as shell variables, to source: `. <dir>/stack.env`. */
export const STACK_SHELL_FILE = 'stack.env'
export const PASSWORD_FILE = 'master-password'
/** Bumped when the layout changes in a way an older stack directory cannot be resumed from. */
export const STACK_FORMAT = 1

export const chainPaths = (dir: string) => {
  const chainDir = join(dir, 'chain')
  return {
    dir: chainDir,
    state: join(chainDir, 'anvil-state.json'),
    genesisTime: join(chainDir, 'genesis-timestamp'),
    pid: join(chainDir, 'anvil.pid'),
    log: join(chainDir, 'anvil.log')
  }
}

export const nodePaths = (dir: string, name: string) => {
  const nodeDir = join(dir, name)
  return {
    dir: nodeDir,
    env: join(nodeDir, 'node.env'),
    pid: join(nodeDir, 'node.pid'),
    log: join(nodeDir, 'node.log'),
    data: join(nodeDir, 'data')
  }
}

export const nodeName = (index: number): string => `node${index + 1}`

/** The stack document, snake_case like the API. */
export interface StackDocument {
  readonly format: number
  readonly dir: string
  readonly created_at: string
  readonly master_password_file: string
  readonly chain: {
    readonly rpc_url: string
    readonly port: number
    readonly chain_id: number
    readonly contract_address: string
    readonly deploy_block: number
    readonly state_file: string
    readonly log_file: string
  }
  readonly nodes: readonly StackNode[]
}

export interface StackNode {
  readonly name: string
  readonly peer_id: string
  readonly eth_address: string
  /** The multiaddr other nodes dial (node1's is every other node's bootstrap peer). */
  readonly p2p_address: string
  readonly external_url: string
  readonly internal_url: string
  readonly api_key: string
  readonly api_key_scopes: readonly string[]
  readonly data_dir: string
  readonly env_file: string
  readonly log_file: string
}

/** The stack document in `dir`, or undefined when there is none (no stack, or one whose start failed). */
export function readStack(dir: string): StackDocument | undefined {
  const file = join(dir, STACK_FILE)
  if (!existsSync(file)) return undefined
  let doc: StackDocument
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as StackDocument
  } catch (err) {
    throw new DevStackError(
      `${file} is not valid JSON: remove the stack with \`dmn dev down --dir ${dir}\``,
      {
        cause: err
      }
    )
  }
  if (doc.format !== STACK_FORMAT) {
    throw new DevStackError(
      `${file} was written by another version of dmn (format ${doc.format}): \`dmn dev down --dir ${dir}\` and up again`
    )
  }
  return doc
}

/** True when `dir` is a stack directory (made by `dmn dev up`, whether or not its start finished). */
export function isStackDir(dir: string): boolean {
  return existsSync(join(dir, STACK_MARKER))
}

/** The node directories in `dir`, in order (for `down`, which works without a stack document too). */
export function nodeDirNames(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => /^node\d+$/.test(name))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
}
