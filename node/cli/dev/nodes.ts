/**
 * The stack's nodes: each is `dmn --env-file <its node.env> start`, detached, with its own data
 * directory, ports and Ethereum account, the stack's chain and contract, and the stack's master
 * password read from its file (`DMN_MASTER_PASSWORD_FILE`). Every node but the first has the first
 * as its bootstrap peer; from there the DHT and the identity records on chain find the others.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENV_BINDINGS } from '../../../config/index.ts'
import { DevStackError } from './errors.ts'
import { nodePaths } from './layout.ts'
import { logTail, runningPid, startDetached } from './processes.ts'

const CLI = fileURLToPath(new URL('../main.ts', import.meta.url))
const NODE_READY_TIMEOUT_MS = 120_000
/** The scopes of the key each node is given: what an application needs to share and read. */
export const DEV_KEY_SCOPES = ['share', 'read'] as const

export interface NodeSettings {
  readonly name: string
  readonly dataDir: string
  readonly passwordFile: string
  readonly p2pPort: number
  readonly internalPort: number
  readonly externalPort: number
  readonly rpcUrl: string
  readonly contractAddress: string
  readonly deployBlock: number
  readonly privateKey: string
  readonly bootstrap?: string
}

/** The node's env file: every setting it runs with (it holds the account's key: 0600). */
export function writeNodeEnv(dir: string, settings: NodeSettings): void {
  const paths = nodePaths(dir, settings.name)
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  const lines = [
    `# ${settings.name} of a development stack, written by \`dmn dev up\`: not for production data.`,
    `DMN_DATA_DIR=${settings.dataDir}`,
    `DMN_MASTER_PASSWORD_FILE=${settings.passwordFile}`,
    'DMN_LOG_LEVEL=info',
    'DMN_P2P_HOST=127.0.0.1',
    `DMN_P2P_PORT=${settings.p2pPort}`,
    ...(settings.bootstrap ? [`DMN_P2P_BOOTSTRAP=${settings.bootstrap}`] : []),
    'DMN_API_INTERNAL_HOST=127.0.0.1',
    `DMN_API_INTERNAL_PORT=${settings.internalPort}`,
    'DMN_API_EXTERNAL_HOST=127.0.0.1',
    `DMN_API_EXTERNAL_PORT=${settings.externalPort}`,
    `DMN_CHAIN_RPC_URL=${settings.rpcUrl}`,
    `DMN_CHAIN_CONTRACT_ADDRESS=${settings.contractAddress}`,
    `DMN_CHAIN_FROM_BLOCK=${settings.deployBlock}`,
    '# A fresh account funded on the stack chain (anvil_setBalance).',
    `DMN_CHAIN_PRIVATE_KEY=${settings.privateKey}`,
    '# Development pace: audit transactions followed and unresolved recipients looked up more often.',
    'DMN_CHAIN_POLL_INTERVAL_MS=250',
    'DMN_P2P_RESOLVE_INTERVAL_MS=2000'
  ]
  writeFileSync(paths.env, `${lines.join('\n')}\n`, { mode: 0o600 })
}

/**
 * The environment a node starts with: this one without any node setting (a `DMN_MASTER_PASSWORD`
 * or `DATA_DIR` of the caller's shell would win over the node's env file) and without systemd's
 * credentials directory.
 */
export function childEnvironment(): NodeJS.ProcessEnv {
  const settingNames = new Set(ENV_BINDINGS.flatMap((b) => b.names))
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('DMN_') || settingNames.has(name) || name === 'CREDENTIALS_DIRECTORY') continue
    env[name] = value
  }
  return env
}

/** The pid of node `name` of the stack, if it runs. */
export function nodePid(dir: string, name: string): number | undefined {
  const paths = nodePaths(dir, name)
  return runningPid(paths.pid, paths.env)
}

export function startNode(dir: string, name: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const paths = nodePaths(dir, name)
  return startDetached({
    command: process.execPath,
    // As the `dmn` wrapper runs the CLI; `--` keeps Node from reading the CLI's --env-file as its own.
    args: [
      '--experimental-strip-types',
      '--disable-warning=ExperimentalWarning',
      CLI,
      '--',
      '--env-file',
      paths.env,
      'start'
    ],
    cwd: paths.dir,
    env,
    logFile: paths.log,
    pidFile: paths.pid
  })
}

export interface NodeIdentity {
  readonly peer_id: string
  readonly addresses: readonly string[]
  readonly eth_address: string | null
}

/**
 * Waits until the node's internal API answers `GET /id` (the APIs start last: the node is up) and
 * returns its identity; fails at once, with its log's last lines, when the process ends first.
 */
export async function waitForNode(
  dir: string,
  name: string,
  internalUrl: string,
  child: ChildProcess | undefined
): Promise<NodeIdentity> {
  const paths = nodePaths(dir, name)
  const deadline = Date.now() + NODE_READY_TIMEOUT_MS
  for (;;) {
    const ended = child
      ? child.exitCode !== null || child.signalCode !== null
      : nodePid(dir, name) === undefined
    if (ended) {
      throw new DevStackError(
        `${name} stopped before it was ready (see ${paths.log}):\n${logTail(paths.log) || 'no output'}`
      )
    }
    try {
      const response = await fetch(`${internalUrl}/id`, { signal: AbortSignal.timeout(5_000) })
      if (response.ok) return (await response.json()) as NodeIdentity
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new DevStackError(
        `${name} was not ready within ${NODE_READY_TIMEOUT_MS / 1000} s (see ${paths.log})`
      )
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** A new API key with the share and read scopes, through the node's internal API. */
export async function createApiKey(internalUrl: string): Promise<string> {
  const response = await fetch(`${internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'dev-stack', scopes: DEV_KEY_SCOPES }),
    signal: AbortSignal.timeout(10_000)
  })
  const body = (await response.json()) as { key?: string }
  if (response.status !== 201 || !body.key)
    throw new DevStackError(`${internalUrl}/api-keys answered ${response.status}: ${JSON.stringify(body)}`)
  return body.key
}

/** The node's loopback multiaddr with its PeerId, as another node dials it. */
export function dialAddress(id: NodeIdentity, p2pPort: number): string {
  const found = id.addresses.find((a) => a.includes('/127.0.0.1/') && a.includes('/p2p/'))
  return found ?? `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${id.peer_id}`
}
