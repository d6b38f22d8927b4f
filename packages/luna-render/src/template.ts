import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta/core'
import { configValue } from './config-value.js'
import type { RenderData } from './render-data.js'

/** The nginx configuration Luna ships: upstreams and a server for the `http {}` context. */
export const NGINX_TEMPLATE = fileURLToPath(new URL('../templates/nginx.eta', import.meta.url))

/** A template that cannot be read or compiled; the message is one line and names the file. */
export class TemplateError extends Error {
  override name = 'TemplateError'
}

export type Template = (data: RenderData) => string

function oneLine (error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')
}

/**
 * The Eta template in `path`, compiled. `<%= %>` goes through `configValue` (which refuses
 * anything that could be configuration syntax), `<%~ %>` writes as it is, and the data is `it`.
 */
export function loadTemplate (path: string): Template {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new TemplateError(`cannot read the template ${path}: ${oneLine(error)}`)
  }
  const eta = new Eta({ autoEscape: true, escapeFunction: configValue, useWith: false, cache: false })
  let compiled: ReturnType<Eta['compile']>
  try {
    compiled = eta.compile(text)
  } catch (error) {
    throw new TemplateError(`the template ${path} does not compile: ${oneLine(error)}`)
  }
  return (data) => eta.render(compiled, data)
}
