/**
 * Where `dmn audit export` gets a bundle: from the running node (`GET /audit/{data_hash}/bundle` on
 * its internal API), which holds the chain connection whether the chain is embedded or configured.
 * Only when no node answers and `CHAIN_RPC_URL` is configured does the CLI build the bundle itself,
 * from the database and that chain (an embedded chain lives only while its node runs).
 */
import { type EvidenceBundle, parseBundle } from '../audit/bundle-format.ts'
import { AuditNotReadyError } from '../audit/errors.ts'
import { ResourceNotFoundError } from '../core/ports.ts'
import { NodeApiError } from './node-identity.ts'

// A bundle of many shares asks the chain for each anchor: allow a busy node some time.
const BUNDLE_REQUEST_TIMEOUT_MS = 60_000

/**
 * The bundle of `dataHash` from the node at `apiUrl`; undefined when nothing listens there. Throws
 * ResourceNotFoundError when the node is party to no share of it, NodeApiError for other answers.
 */
export async function bundleFromNode(apiUrl: string, dataHash: string): Promise<EvidenceBundle | undefined> {
  const url = new URL(`/audit/${dataHash}/bundle`, apiUrl)
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(BUNDLE_REQUEST_TIMEOUT_MS) })
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'ECONNREFUSED') return undefined
    throw new NodeApiError(
      `no answer from the node's internal API at ${apiUrl}: ${(err as Error).message} (is \`dmn start\` running with this configuration? The CLI finds it at api.internal.host and api.internal.port)`,
      {
        cause: err
      }
    )
  }
  if (response.status === 404)
    throw new ResourceNotFoundError('bundle', `this node is party to no share of ${dataHash}`)
  if (response.status !== 200) {
    throw new NodeApiError(
      `the internal API at ${apiUrl} answered GET ${url.pathname} with ${response.status} (check api.internal.host and api.internal.port)`
    )
  }
  return parseBundle(await response.json())
}

/** Export needs the running node, or a configured chain to build the bundle from the database. */
export const nodeNotRunning = (apiUrl: string) =>
  new AuditNotReadyError(
    `no node answers at ${apiUrl} and no CHAIN_RPC_URL is configured: start the node (its embedded chain runs with it)`
  )
