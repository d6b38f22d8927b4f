export { buildServer, READY_TIMEOUT, type BuildServerOptions } from './server.js'
export {
  ConfigError,
  HELP,
  LOG_LEVELS,
  parseConfig,
  type Config,
  type Env,
  type LogLevel,
  type ServerSettings
} from './config.js'
