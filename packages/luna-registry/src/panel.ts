import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import view from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify'
import type { LunaRegistry } from './registry.js'
import type { ServiceView } from './schemas.js'

// Beside src/ and dist/ alike, so the same URL works from the sources and the build.
const VIEWS = fileURLToPath(new URL('../views', import.meta.url))
const PUBLIC = new URL('../public/', import.meta.url)

/** No script at all, styles only from our own origin, no framing: escaped data stays inert. */
export const PANEL_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

declare module 'fastify' {
  interface FastifyReply {
    lunaView: FastifyReply['view']
    lunaViewAsync: FastifyReply['viewAsync']
  }
}

/**
 * `@fastify/view` with a fresh Eta under a name of our own, so a host app's own `reply.view`
 * is neither replaced nor in conflict.
 */
export async function panelViews (scope: FastifyInstance, prefix: string): Promise<void> {
  await scope.register(view, {
    engine: { eta: new Eta({ autoEscape: true, autoTrim: [false, 'nl'] }) },
    templates: VIEWS,
    production: true,
    propertyName: 'lunaView',
    asyncPropertyName: 'lunaViewAsync',
    defaultContext: { prefix, ago, exact }
  })
}

const ASSETS: Record<string, string> = {
  'luna.css': 'text/css; charset=utf-8',
  'luna.svg': 'image/svg+xml'
}

/** The panel's stylesheet and icon, read once and served from memory behind the same auth. */
export const panelAssets: FastifyPluginAsync = async (fastify) => {
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = await readFile(new URL(name, PUBLIC), 'utf8')
    fastify.get(`/assets/${name}`, {
      schema: { response: { 200: { type: 'string' } } }
    }, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'private, max-age=300').send(body)
    })
  }
}

/** `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function ago (elapsedMs: number): string {
  const seconds = Math.floor(elapsedMs / 1000)
  if (seconds < 1) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.floor(hours / 24)} d ago`
}

/** `2026-11-26 12:20:34 UTC`, for a tooltip. */
export function exact (iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`
}

async function render (reply: FastifyReply, page: string, data: object): Promise<FastifyReply> {
  const html = await reply.lunaViewAsync(page, data)
  return await reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', PANEL_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(html)
}

export async function renderOverview (reply: FastifyReply, registry: LunaRegistry, services: ServiceView[]): Promise<FastifyReply> {
  const instancesOnline = services.reduce((sum, service) => sum + service.instancesOnline, 0)
  const instancesTotal = services.reduce((sum, service) => sum + service.instancesTotal, 0)
  const servicesUp = services.filter((service) => service.status === 'UP').length
  return await render(reply, 'overview', {
    title: 'Services',
    now: registry.now(),
    heartbeatTimeout: registry.heartbeatTimeout,
    services,
    totals: { servicesUp, servicesDown: services.length - servicesUp, instancesOnline, instancesTotal }
  })
}

export async function renderService (reply: FastifyReply, registry: LunaRegistry, service: ServiceView): Promise<FastifyReply> {
  return await render(reply, 'service', {
    title: service.name,
    now: registry.now(),
    heartbeatTimeout: registry.heartbeatTimeout,
    service
  })
}
