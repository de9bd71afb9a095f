/**
 * The stack's chain: anvil (the optional dependency the embedded chain uses too) on 127.0.0.1,
 * detached, keeping its chain in a state file (`--state`, written every second and on SIGTERM) so
 * the stack's audit trail lasts across `dmn dev down --keep` and `dmn dev up`. It is started with
 * the same genesis timestamp every time, so its genesis block, the chain's identity to the nodes'
 * chain watch, stays the same block.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Wallet } from 'ethers'
import { type ChainRecord, deployAuditTrail } from '../../audit/deploy.ts'
import { anvilBinary } from '../../audit/embedded-chain.ts'
import { RpcClient, toHex } from '../../audit/rpc-client.ts'
import { DevStackError } from './errors.ts'
import { chainPaths } from './layout.ts'
import { logTail, runningPid, startDetached } from './processes.ts'

const ANVIL_STATE_INTERVAL_SECONDS = 1
const CHAIN_START_TIMEOUT_MS = 30_000
/** What each account of the stack is given to pay for its audit transactions (100 ether). */
const ACCOUNT_BALANCE_WEI = 10n ** 20n

/** The pid of the stack's anvil, if it runs. */
export function chainPid(dir: string): number | undefined {
  const paths = chainPaths(dir)
  return runningPid(paths.pid, paths.state)
}

/** Starts the stack's anvil on `port` and resolves once it answers; its RPC client. */
export async function startChain(dir: string, port: number, env: NodeJS.ProcessEnv): Promise<RpcClient> {
  const paths = chainPaths(dir)
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  if (!existsSync(paths.genesisTime)) {
    writeFileSync(paths.genesisTime, `${Math.floor(Date.now() / 1000)}\n`, { mode: 0o600 })
  }
  const genesisTime = readFileSync(paths.genesisTime, 'utf8').trim()
  const child = await startDetached({
    command: anvilBinary(),
    args: [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--state',
      paths.state,
      '--state-interval',
      String(ANVIL_STATE_INTERVAL_SECONDS),
      '--timestamp',
      genesisTime
    ],
    cwd: paths.dir,
    env,
    logFile: paths.log,
    pidFile: paths.pid
  })
  const rpc = new RpcClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5_000 })
  const deadline = Date.now() + CHAIN_START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new DevStackError(
        `anvil exited before it answered (see ${paths.log}): ${logTail(paths.log, 3) || 'no output'}`
      )
    }
    try {
      await rpc.call('eth_chainId', [])
      break
    } catch (err) {
      if (Date.now() > deadline)
        throw new DevStackError(
          `anvil did not answer on port ${port} within ${CHAIN_START_TIMEOUT_MS} ms (see ${paths.log})`,
          { cause: err }
        )
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  // New blocks take the time of day, not the genesis timestamp the chain was started with.
  await rpc.call('anvil_setTime', [Math.floor(Date.now() / 1000)])
  return rpc
}

/** Deploys the audit contract from an account of its own, funded on this development chain. */
export async function deployContract(rpc: RpcClient): Promise<ChainRecord> {
  const deployer = Wallet.createRandom()
  await fund(rpc, deployer.address)
  return deployAuditTrail(rpc, new Wallet(deployer.privateKey))
}

/** Gives `address` enough to pay for its transactions (anvil's own method: a development chain only). */
export async function fund(rpc: RpcClient, address: string): Promise<void> {
  await rpc.call('anvil_setBalance', [address, toHex(ACCOUNT_BALANCE_WEI)])
}
