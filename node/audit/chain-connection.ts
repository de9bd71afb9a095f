/**
 * How `AuditService.connect()` and `AuditService.deploy()` reach the configured chain and contract
 * without running a node (the `dmn chain` and `dmn audit` commands).
 */
import type { Config } from '../../config/index.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import { checkBytecode, readChainRecord } from './deploy.ts'
import { AuditNotReadyError } from './errors.ts'
import { hexToNumber, RpcClient } from './rpc-client.ts'

/** A client for `chain.rpcUrl`; the CLI has no embedded chain to fall back on. */
export function requireRpc(config: Pick<Config, 'chain'>): RpcClient {
  if (!config.chain.rpcUrl) {
    throw new AuditNotReadyError(
      'no CHAIN_RPC_URL: the embedded chain runs only inside the node (`dmn start`); set CHAIN_RPC_URL to reach a chain without it'
    )
  }
  return new RpcClient({ url: config.chain.rpcUrl, timeoutMs: config.chain.rpcTimeoutMs })
}

/** The configured chain and contract, its bytecode checked, and this node's account on it. */
export async function connectChain(config: Pick<Config, 'chain' | 'dataDir'>, repos: AuditRepositories) {
  const rpc = requireRpc(config)
  const chainId = hexToNumber(await rpc.call<string>('eth_chainId', []))
  const record = readChainRecord(config.dataDir)
  const contractAddress =
    config.chain.contractAddress ?? (record?.chainId === chainId ? record.contractAddress : undefined)
  if (!contractAddress)
    throw new AuditNotReadyError(
      'no audit contract: run `dmn chain deploy` or set DMN_CHAIN_CONTRACT_ADDRESS'
    )
  await checkBytecode(rpc, contractAddress)
  const fromRecord =
    record?.contractAddress.toLowerCase() === contractAddress.toLowerCase() ? record.deployBlock : undefined
  const account = repos.chainState.chainBinding()?.split(':')[2]
  return {
    rpc,
    chainId,
    contractAddress,
    deployBlock: config.chain.fromBlock ?? fromRecord ?? 0,
    account,
    repos
  }
}
