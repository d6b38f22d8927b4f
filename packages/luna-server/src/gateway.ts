import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import lunaGateway, { type LunaGatewayOptions } from 'luna-gateway'
import { DEFAULT_USERNAME } from 'luna-registry'
import type { ServerSettings } from './config.js'

type GatewaySettings = Partial<Pick<ServerSettings, 'username' | 'password' | 'gatewayBalancer' | 'gatewayTimeout' | 'gatewayBodyLimit' | 'gatewayAttempts' | 'gatewayCoolDown' | 'gatewayAuth' | 'registryUrl'>>

/** Whether the settings make a gateway-only replica, following the registry at `registryUrl`. */
export function isFollower (settings: GatewaySettings): boolean {
  return settings.registryUrl !== undefined && settings.registryUrl !== ''
}

/** The gateway at /gateway, reading the registry of this app or following the one at `registryUrl`. */
export async function registerGateway (app: FastifyInstance, settings: GatewaySettings): Promise<void> {
  const options: LunaGatewayOptions = {
    ...(isFollower(settings) ? { registryUrl: settings.registryUrl } : {}),
    ...(settings.gatewayBalancer === undefined ? {} : { balancer: settings.gatewayBalancer }),
    ...(settings.gatewayTimeout === undefined ? {} : { timeout: settings.gatewayTimeout }),
    ...(settings.gatewayBodyLimit === undefined ? {} : { bodyLimit: settings.gatewayBodyLimit }),
    ...(settings.gatewayAttempts === undefined ? {} : { attempts: settings.gatewayAttempts }),
    ...(settings.gatewayCoolDown === undefined ? {} : { coolDown: settings.gatewayCoolDown }),
    auth: settings.gatewayAuth === true ? { username: settings.username ?? DEFAULT_USERNAME, password: settings.password ?? '' } : false
  }
  await app.register(lunaGateway, options)
}

/**
 * CORS with preflight on every route, for `*` or a comma-separated list of origins. The headers
 * a preflight asks for are allowed (the registry's `Authorization` among them).
 */
export async function registerCors (app: FastifyInstance, origin: string): Promise<void> {
  const options: FastifyCorsOptions = {
    origin: origin === '*' ? '*' : origin.split(','),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
  }
  await app.register(cors, options)
}
