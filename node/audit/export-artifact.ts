/**
 * Copies the compiled AuditTrail (abi, creation and runtime bytecode) from Hardhat's artifacts into
 * `contract-artifact.json`, which the node ships so that it can deploy and check the contract
 * without compiling at run time. Run after `hardhat build`:
 *   node node/audit/export-artifact.ts
 * It also copies the benchmark's events-only baseline (contracts/bench/AuditFloor.sol) beside its
 * benchmark. A contract test fails while a shipped copy differs from the compiled contract.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const SHIPPED_ARTIFACT = fileURLToPath(new URL('./contract-artifact.json', import.meta.url))
export const COMPILED_ARTIFACT = fileURLToPath(
  new URL('../../artifacts/contracts/AuditTrail.sol/AuditTrail.json', import.meta.url)
)

export const SHIPPED_FLOOR_ARTIFACT = fileURLToPath(
  new URL('../../bench/audit/floor-artifact.json', import.meta.url)
)
export const COMPILED_FLOOR_ARTIFACT = fileURLToPath(
  new URL('../../artifacts/contracts/bench/AuditFloor.sol/AuditFloor.json', import.meta.url)
)

/** The fields the node needs, as a stable JSON text. */
export function shippedArtifactText(compiledPath = COMPILED_ARTIFACT): string {
  const compiled = JSON.parse(readFileSync(compiledPath, 'utf8')) as Record<string, unknown>
  const { contractName, abi, bytecode, deployedBytecode } = compiled
  return `${JSON.stringify({ contractName, abi, bytecode, deployedBytecode }, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SHIPPED_ARTIFACT, shippedArtifactText())
  writeFileSync(SHIPPED_FLOOR_ARTIFACT, shippedArtifactText(COMPILED_FLOOR_ARTIFACT))
  process.stdout.write(`wrote ${SHIPPED_ARTIFACT} and ${SHIPPED_FLOOR_ARTIFACT}\n`)
}
