import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { keccak256, type Wallet } from 'ethers'
import { CHAIN_FILE } from './constants.ts'
import { AUDIT_TRAIL_BYTECODE, AUDIT_TRAIL_RUNTIME } from './contract.ts'
import { ChainUnavailableError, ContractBytecodeMismatchError, InsufficientFundsError } from './errors.ts'
import { hexToNumber, type RpcClient, type RpcReceipt } from './rpc-client.ts'

/** What `dmn chain deploy` records in `<dataDir>/chain.json`. */
export interface ChainRecord {
  readonly chainId: number
  readonly contractAddress: string
  readonly deployBlock: number
  readonly txHash: string
  readonly deployedAt: string
}

type Opts = { signal?: AbortSignal; timeoutMs?: number }

/** Waits until `txHash` is mined and returns its receipt. */
export async function waitForReceipt(rpc: RpcClient, txHash: string, opts: Opts = {}): Promise<RpcReceipt> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000)
  while (Date.now() < deadline) {
    const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [txHash], opts)
    if (receipt) return receipt
    await new Promise((r) => setTimeout(r, 250))
    if (opts.signal?.aborted) throw opts.signal.reason
  }
  throw new ChainUnavailableError(`transaction ${txHash} not mined within ${opts.timeoutMs ?? 120_000} ms`)
}

/** Deploys AuditTrail from `wallet` and checks the code that landed. */
export async function deployAuditTrail(
  rpc: RpcClient,
  wallet: Wallet,
  opts: Opts = {}
): Promise<ChainRecord> {
  const [chainId, nonce, gasPrice, balance] = await Promise.all([
    rpc.call<string>('eth_chainId', [], opts),
    rpc.call<string>('eth_getTransactionCount', [wallet.address, 'pending'], opts),
    rpc.call<string>('eth_gasPrice', [], opts),
    rpc.call<string>('eth_getBalance', [wallet.address, 'pending'], opts)
  ])
  const gas = await rpc.call<string>(
    'eth_estimateGas',
    [{ from: wallet.address, data: AUDIT_TRAIL_BYTECODE }],
    opts
  )
  const gasLimit = (BigInt(gas) * 12n) / 10n
  // Checked here from the numbers, not from the node's rejection: its wording differs per client
  // (Hardhat "Sender doesn't have enough funds", geth/anvil "insufficient funds") under one generic code.
  const required = gasLimit * BigInt(gasPrice)
  if (BigInt(balance) < required) {
    throw new InsufficientFundsError(
      `account ${wallet.address} cannot pay for the deployment (balance ${BigInt(balance)} wei, up to ${required} wei needed): fund it, or set DMN_CHAIN_PRIVATE_KEY to the key of a funded account`,
      { address: wallet.address, balance: BigInt(balance), required }
    )
  }
  const raw = await wallet.signTransaction({
    type: 0,
    data: AUDIT_TRAIL_BYTECODE,
    nonce: hexToNumber(nonce),
    gasLimit,
    gasPrice: BigInt(gasPrice),
    chainId: hexToNumber(chainId)
  })
  const txHash = keccak256(raw)
  await rpc.call<string>('eth_sendRawTransaction', [raw], opts)
  const receipt = await waitForReceipt(rpc, txHash, opts)
  const contractAddress = (receipt as RpcReceipt & { contractAddress?: string }).contractAddress
  if (receipt.status !== '0x1' || !contractAddress)
    throw new ContractBytecodeMismatchError('deployment transaction failed')
  await checkBytecode(rpc, contractAddress, opts)
  return {
    chainId: hexToNumber(chainId),
    contractAddress,
    deployBlock: hexToNumber(receipt.blockNumber),
    txHash,
    deployedAt: new Date().toISOString()
  }
}

/** Throws ContractBytecodeMismatchError unless `address` holds exactly the shipped runtime code. */
export async function checkBytecode(rpc: RpcClient, address: string, opts: Opts = {}): Promise<void> {
  const code = (await rpc.call<string>('eth_getCode', [address, 'latest'], opts)).toLowerCase()
  if (code === '0x') throw new ContractBytecodeMismatchError(`no contract at ${address}`)
  if (code !== AUDIT_TRAIL_RUNTIME) {
    throw new ContractBytecodeMismatchError(
      `${address} holds other code (keccak ${keccak256(code).slice(0, 18)}, expected ${keccak256(AUDIT_TRAIL_RUNTIME).slice(0, 18)})`
    )
  }
}

export function readChainRecord(dataDir: string): ChainRecord | undefined {
  const path = join(dataDir, CHAIN_FILE)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as ChainRecord
}

/** Atomic write (temp file, rename). */
export function writeChainRecord(dataDir: string, record: ChainRecord): string {
  const path = join(dataDir, CHAIN_FILE)
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  renameSync(`${path}.tmp`, path)
  return path
}
