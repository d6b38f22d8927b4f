import type { ServiceView } from 'luna-registry'
import { routesOf, type Route } from './routes.js'

/** Where the gateway serves the services, and where a proxy in front of them should too. */
export const GATEWAY_PREFIX = '/gateway/services'

/** What a template sees as `it`. */
export interface RenderData {
  /**
   * Every service, as the services JSON has it. Descriptions, metadata and URLs are what the
   * instances sent: write them with `<%= %>`, which refuses what could be syntax, or use `routes`.
   */
  services: ServiceView[]
  /** The services with a routable instance, every field checked (see `routesOf`). */
  routes: Route[]
  /** Services with instances, none of them routable: their names. */
  unavailable: string[]
  /** Where the proxy listens: a port, or `host:port`. */
  listen: string
  prefix: string
}

export function renderData (services: ServiceView[], listen: string): RenderData {
  return { services, ...routesOf(services), listen, prefix: GATEWAY_PREFIX }
}
