import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import { PANEL_CSP } from './panel.js'

const require = createRequire(import.meta.url)
const SWAGGER_UI = dirname(require.resolve('swagger-ui-dist/package.json'))
const PUBLIC = new URL('../public/', import.meta.url)

/**
 * The panel's policy, less Trusted Types: Swagger UI writes markup through `innerHTML`, which
 * they refuse, and a policy letting any string through would only pretend. The page shows the
 * registry's own document, never what an instance sent; scripts, styles and connections still
 * come only from the registry's origin, and nothing inline runs.
 */
export const DOCS_CSP = PANEL_CSP.split('; ')
  .filter((directive) => !directive.startsWith('require-trusted-types-for') && !directive.startsWith('trusted-types'))
  .join('; ')

const FILES: ReadonlyArray<[string, string, () => Promise<string>]> = [
  ['swagger-ui.css', 'text/css; charset=utf-8', async () => await readFile(join(SWAGGER_UI, 'swagger-ui.css'), 'utf8')],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8', async () => await readFile(join(SWAGGER_UI, 'swagger-ui-bundle.js'), 'utf8')],
  ['luna-docs.js', 'text/javascript; charset=utf-8', async () => await readFile(new URL('luna-docs.js', PUBLIC), 'utf8')]
]

function escapeAttribute (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}

/**
 * `GET /docs`: Swagger UI on the registry's OpenAPI document, from the registry's own files
 * (`swagger-ui-dist`, no CDN), behind the same auth and under the panel's policy. Served by hand
 * rather than with `@fastify/swagger-ui`, whose `swagger` and `swaggerCSP` decorators would clash
 * with a host app's own Swagger.
 */
export const docsRoutes: FastifyPluginAsync<{ base: string }> = async (fastify, { base: prefix }) => {
  const files = await Promise.all(FILES.map(async ([name, type, load]) => {
    const body = await load()
    return { name, type, body, version: createHash('sha256').update(body).digest('hex').slice(0, 12) }
  }))
  const asset = (name: string): string => {
    const file = files.find((candidate) => candidate.name === name)!
    return escapeAttribute(`${prefix}/docs/assets/${name}?v=${file.version}`)
  }
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Luna API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset('swagger-ui.css')}">
</head>
<body>
<div id="docs" data-spec="${escapeAttribute(`${prefix}/openapi.json`)}"></div>
<script src="${asset('swagger-ui-bundle.js')}"></script>
<script src="${asset('luna-docs.js')}"></script>
</body>
</html>
`
  fastify.get('/docs', { schema: { hide: true } }, async (_request, reply) => {
    return await reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCS_CSP)
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(page)
  })
  for (const { name, type, body } of files) {
    fastify.get(`/docs/assets/${name}`, { schema: { hide: true } }, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'private, max-age=300').send(body)
    })
  }
}
