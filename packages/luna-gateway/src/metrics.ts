import { Counter, type Registry } from 'prom-client'
import type { Failure } from './attempts.js'

/** What the gateway counts, into the registry's metrics when the app has them. */
export interface GatewayMetrics {
  /** A request for a registered service (routed, or refused for want of a routable instance). */
  request: (service: string) => void
  /** A request for a service with no instance registered: its name is not a label. */
  unknownService: () => void
  /** An attempt to reach an instance of `service` that failed. */
  upstreamError: (service: string, failure: Failure) => void
}

/**
 * The gateway's counters. Their `service` label only ever holds the name of a registered
 * service, never whatever name a client put in a URL, so the series stay as many as the services.
 */
export function gatewayMetrics (registry: Registry): GatewayMetrics {
  const registers = [registry]
  const requests = new Counter({ name: 'luna_gateway_requests_total', help: 'Requests through the gateway for a registered service', labelNames: ['service'], registers })
  const unknown = new Counter({ name: 'luna_gateway_unknown_service_total', help: 'Requests through the gateway for a service with no instance registered', registers })
  const errors = new Counter({ name: 'luna_gateway_upstream_errors_total', help: 'Attempts to reach an instance that failed: connect, reset, timeout or other', labelNames: ['service', 'failure'], registers })
  return {
    request: (service) => { requests.inc({ service }) },
    unknownService: () => { unknown.inc() },
    upstreamError: (service, failure) => { errors.inc({ service, failure }) }
  }
}
