import { type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from './context.ts'
import { API_VERSION } from './deps.ts'
import { registerDocsPage } from './docs-page.ts'

/** Where each API serves its document. */
export const OPENAPI_PATH = '/openapi.json'

export interface ApiDocumentInit {
  readonly title: string
  readonly description: string
  /** The document's default security requirement (an empty object in it: no key needed). */
  readonly security: Record<string, string[]>[]
  /** Responses any path can give before its handler (rate limit, Host checks), shown on the document's own path. */
  readonly edgeResponses: Record<number, { description: string; content: Record<string, unknown> }>
}

/**
 * `GET /openapi.json` (the OpenAPI 3.1 document, which also describes itself) and `GET /docs`
 * (Swagger UI over it). Called after every route is registered: the document is built from the
 * registry on each request.
 */
export function registerApiDocument(app: OpenAPIHono<ApiEnv>, init: ApiDocumentInit): void {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'getOpenApiDocument',
    tags: ['docs'],
    summary: 'This OpenAPI 3.1 document (rendered at /docs)',
    security: [],
    responses: {
      ...(init.edgeResponses as object),
      200: {
        content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        description: 'the document'
      }
    }
  })
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: init.title,
      version: API_VERSION,
      description: init.description,
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' }
    },
    // Relative to where the document is served: the node's own address, or nginx's in front of it.
    servers: [{ url: '/', description: 'this node' }],
    security: init.security
  })
  registerDocsPage(app, { title: init.title, specPath: OPENAPI_PATH })
}
