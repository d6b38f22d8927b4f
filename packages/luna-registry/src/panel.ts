import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import view from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify'
import { blankPasswordExposed, grantOf } from './auth.js'
import type { LunaRegistry, ServiceFilter, ServiceSummary } from './registry.js'
import type { ProtectionView, ServiceView } from './schemas.js'
// The words and orders of the panel's own script: a page rendered here and one updated live agree.
import { ago, downFirst, exact, linkable, shorten, since, versionsOf, type VersionCount } from '../public/luna-format.js'

// Beside src/ and dist/ alike, so the same URL works from the sources and the build.
const VIEWS = fileURLToPath(new URL('../views', import.meta.url))
const PUBLIC = new URL('../public/', import.meta.url)

/**
 * Scripts, styles and connections only from our own origin (the panel's files under the prefix
 * and its event stream), nothing inline, no framing. Trusted Types make the browser refuse any
 * HTML string written into the page, so data can only ever become text.
 */
export const PANEL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'"
].join('; ')

declare module 'fastify' {
  interface FastifyReply {
    lunaView: FastifyReply['view']
    lunaViewAsync: FastifyReply['viewAsync']
  }
}

const SCRIPT = 'text/javascript; charset=utf-8'

/** The panel's files; a script after the modules it imports. */
const ASSETS: ReadonlyArray<[string, string]> = [
  ['luna.css', 'text/css; charset=utf-8'],
  ['luna.svg', 'image/svg+xml'],
  ['luna-format.js', SCRIPT],
  ['luna-dom.js', SCRIPT],
  ['luna-overview.js', SCRIPT],
  ['luna-service.js', SCRIPT],
  ['luna-protection.js', SCRIPT],
  ['luna.js', SCRIPT]
]

/** A static import of another of the panel's modules: `from './luna-dom.js'`. */
const IMPORT = /(?<=\bfrom '\.\/)([\w-]+\.js)(?=')/g

interface Asset { type: string, body: string, version: string }

let loading: Promise<Map<string, Asset>> | undefined

/**
 * The panel's files, read once per process; each with a short digest of its content for its URL.
 * A module's imports name the digests of the modules they import, so a page never runs a new
 * script with an old module from the browser's cache, nor the other way round.
 */
async function assets (): Promise<Map<string, Asset>> {
  loading ??= Promise.all(ASSETS.map(async ([name]) => await readFile(new URL(name, PUBLIC), 'utf8'))).then((bodies) => {
    const loaded = new Map<string, Asset>()
    ASSETS.forEach(([name, type], i) => {
      const body = bodies[i]!.replace(IMPORT, (imported) => {
        const version = loaded.get(imported)?.version
        if (version === undefined) throw new Error(`${name} imports ${imported}, which is not a panel file listed before it`)
        return `${imported}?v=${version}`
      })
      loaded.set(name, { type, body, version: createHash('sha256').update(body).digest('hex').slice(0, 12) })
    })
    return loaded
  }).catch((error: unknown) => {
    loading = undefined
    throw error
  })
  return await loading
}

/**
 * `@fastify/view` with a fresh Eta under a name of our own, so a host app's own `reply.view`
 * is neither replaced nor in conflict.
 */
export async function panelViews (scope: FastifyInstance, prefix: string): Promise<void> {
  const files = await assets()
  // Each file's URL names its content, so a browser never pairs a new page with an old script.
  const asset = (name: string): string => `${prefix}/assets/${name}?v=${files.get(name)?.version ?? '0'}`
  await scope.register(view, {
    engine: { eta: new Eta({ autoEscape: true, autoTrim: [false, 'nl'] }) },
    templates: VIEWS,
    production: true,
    propertyName: 'lunaView',
    asyncPropertyName: 'lunaViewAsync',
    defaultContext: { prefix, ago, exact, since, asset, linkable }
  })
}

/** The panel's stylesheet, script and icon, served from memory behind the same auth. */
export const panelAssets: FastifyPluginAsync = async (fastify) => {
  for (const [name, { type, body }] of await assets()) {
    fastify.get(`/assets/${name}`, {
      schema: { hide: true, response: { 200: { type: 'string' } } }
    }, async (_request, reply) => {
      return await reply
        .type(type)
        .header('cache-control', 'private, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .send(body)
    })
  }
}

export { ago, exact, linkable, shorten, since, versionsOf, type VersionCount }

/** DOWN first, then by name (services) or id (instances): what needs attention is on top. */
function byDownFirst<T extends { status: string }> (key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => downFirst(a.status, key(a), b.status, key(b))
}

/** Services the overview shows at once; the others are a page away, or a filter away. */
export const OVERVIEW_PAGE_SIZE = 100

/** What the overview shows of a service: its summary, the description cut to `shorten`'s length. */
export type ServiceRow = ServiceSummary

/**
 * The overview's rows, DOWN first, read from the registry's summaries: the registry alone
 * decides statuses, down-since and which description a service shows.
 */
export async function overviewRows (registry: LunaRegistry, filter: ServiceFilter = {}): Promise<ServiceRow[]> {
  const rows: ServiceRow[] = []
  for (const summary of await registry.serviceSummaries({ service: filter.service, metadata: filter.metadata })) {
    if (filter.status === undefined || summary.status === filter.status) rows.push({ ...summary, description: shorten(summary.description) })
  }
  return rows.sort(byDownFirst((row) => row.name))
}

async function render (reply: FastifyReply, page: string, data: object): Promise<FastifyReply> {
  // Ending protection is an admin's action: other users see why it is on, without the button.
  const admin = (grantOf(reply.request)?.role ?? 'admin') === 'admin'
  const html = await reply.lunaViewAsync(page, { ...data, exposed: blankPasswordExposed(reply.request), admin })
  return await reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', PANEL_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html)
}

function page (registry: LunaRegistry): { now: number, heartbeatTimeout: number, protection: ProtectionView } {
  return { now: registry.now(), heartbeatTimeout: registry.heartbeatTimeout, protection: registry.protection }
}

/** The overview; `?status=` narrows the table, the totals are always those of the whole registry. */
export async function renderOverview (reply: FastifyReply, registry: LunaRegistry, filter: ServiceFilter = {}): Promise<FastifyReply> {
  const rows = await overviewRows(registry)
  let instancesOnline = 0
  let instancesTotal = 0
  let servicesUp = 0
  for (const service of rows) {
    instancesOnline += service.online
    instancesTotal += service.total
    if (service.status === 'UP') servicesUp++
  }
  const matching = filter.status === undefined ? rows : rows.filter((row) => row.status === filter.status)
  // The first page; the script pages, sorts and filters over all of them once the stream is live.
  const services = matching.slice(0, OVERVIEW_PAGE_SIZE)
  return await render(reply, 'overview', {
    ...page(registry),
    title: 'Services',
    services,
    pageSize: OVERVIEW_PAGE_SIZE,
    matching: matching.length,
    shown: matching.length === rows.length ? '' : `${matching.length} of ${rows.length} shown`,
    totals: { servicesUp, servicesDown: rows.length - servicesUp, instancesOnline, instancesTotal }
  })
}

/** A service's page; for a service with no instances (yet, or any more), the same page, empty. */
export async function renderService (reply: FastifyReply, registry: LunaRegistry, name: string, service: ServiceView | undefined): Promise<FastifyReply> {
  const instances = (service?.instances ?? []).slice().sort(byDownFirst((instance) => instance.instanceId))
  return await render(reply, 'service', {
    ...page(registry),
    title: name,
    name,
    service,
    // Without credentials checked here, the host app decides who sees the page: it shows everything.
    canChange: grantOf(reply.request)?.mayChange(name) ?? true,
    instances,
    versions: versionsOf(instances)
  })
}
