// The public surface, listed one by one; `test/exports.test.ts` pins it.
export {
  DEFAULT_COMMAND_TIMEOUT,
  DEFAULT_RENDER_DELAY,
  Renderer,
  type RendererOptions,
  type RenderOutcome,
  type RenderResult,
  type RenderSource,
  type RenderTarget
} from './renderer.js'
export { GATEWAY_PREFIX, renderData, type RenderData } from './render-data.js'
export { encodePath, parseInstanceUrl, routesOf, type LeftOut, type Route, type Routes, type RouteServer } from './routes.js'
export { configValue, UnsafeValueError } from './config-value.js'
export { loadTemplate, NGINX_TEMPLATE, TemplateError, type Template } from './template.js'
export { parseRenderSpec, splitRenderList, type RenderSpec } from './render-spec.js'
export { runCommand, type CommandResult } from './command.js'
