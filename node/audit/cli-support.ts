/**
 * What the `dmn chain` and `dmn audit` commands need without running a node: the node's Ethereum
 * key, and a connection to the configured chain and contract.
 */
import { randomBytes } from 'node:crypto'
import { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import { KeyRingNotFoundError, keyRingPath, openKeyRing } from '../crypto/index.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import { ETH_KEY_SECRET } from './constants.ts'
import { checkBytecode, readChainRecord } from './deploy.ts'
import { AuditNotReadyError } from './errors.ts'
import { hexToNumber, RpcClient } from './rpc-client.ts'

/** The node's Ethereum wallet: `chain.privateKey`, else the key ring's secret (created if missing). */
export async function nodeWallet(config: Config): Promise<Wallet> {
  const configured = config.chain.privateKey
  if (configured) return new Wallet(configured.startsWith('0x') ? configured : `0x${configured}`)
  if (!config.masterPassword) {
    throw new AuditNotReadyError(
      'no Ethereum key: set DMN_CHAIN_PRIVATE_KEY, or KEY_MASTER_PASSWORD to use the key ring'
    )
  }
  const path = keyRingPath(config.dataDir)
  const ring = await openKeyRing(path, config.masterPassword).catch((err: unknown) => {
    if (!(err instanceof KeyRingNotFoundError)) throw err
    throw new KeyRingNotFoundError(
      `no key ring at ${path}: run \`dmn keys init\` to create it (it keeps the node's Ethereum key), or set DMN_CHAIN_PRIVATE_KEY`,
      { cause: err }
    )
  })
  let secret = ring.getSecret(ETH_KEY_SECRET)
  if (!secret) {
    secret = randomBytes(32)
    await ring.setSecret(ETH_KEY_SECRET, secret)
  }
  return new Wallet(`0x${Buffer.from(secret).toString('hex')}`)
}

export function requireRpc(config: Pick<Config, 'chain'>): RpcClient {
  if (!config.chain.rpcUrl) {
    throw new AuditNotReadyError(
      'no CHAIN_RPC_URL: the embedded chain lives only while the node runs (it deploys the contract itself)'
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
