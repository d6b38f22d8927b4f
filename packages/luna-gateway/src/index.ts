import { lunaGateway } from './plugin.js'

export default lunaGateway
export { lunaGateway, type LunaGatewayState } from './plugin.js'
export {
  DEFAULT_ATTEMPTS,
  DEFAULT_BODY_LIMIT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_COOL_DOWN,
  DEFAULT_GATEWAY_PREFIX,
  DEFAULT_GATEWAY_TIMEOUT,
  normaliseGatewayOptions,
  type LunaGatewayAuth,
  type LunaGatewayOptions,
  type LunaGatewaySettings
} from './options.js'
export * from './errors.js'
export { parseTarget, upstreamUrl, type GatewayTarget } from './target-path.js'
