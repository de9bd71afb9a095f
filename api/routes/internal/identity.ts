import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { internalEdgeResponses, NodeIdentitySchema } from '../../schemas/internal.ts'

/** `GET /id`: the node's PeerId, listen multiaddrs, audit account and key fingerprints (`dmn id`). */
export function registerIdentityRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/id',
      operationId: 'getIdentity',
      tags: ['status'],
      summary: 'PeerId, listen multiaddrs, Ethereum address and identity key fingerprints',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: NodeIdentitySchema } }, description: 'identity' }
      }
    }),
    async (c) => {
      const id = await ports.identity.describe({ signal: c.req.raw.signal })
      return c.json(
        {
          peer_id: id.peerId,
          addresses: [...id.addresses],
          eth_address: id.ethAddress,
          signing_key_fingerprint: id.signingKeyFingerprint,
          encryption_key_fingerprint: id.encryptionKeyFingerprint
        },
        200
      )
    }
  )
}
