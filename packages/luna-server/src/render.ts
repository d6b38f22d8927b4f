import type { FastifyInstance } from 'fastify'
import { NGINX_TEMPLATE, Renderer, type RenderTarget } from 'luna-render'
import type { ServerSettings } from './config.js'

type RenderSettings = Partial<Pick<ServerSettings, 'nginxConfig' | 'nginxListen' | 'nginxTest' | 'nginxReload' | 'render'>>

/** nginx mode, then each `--render`; a blank command is not run. */
export function renderTargets (settings: RenderSettings): RenderTarget[] {
  const command = (value: string | undefined): string | undefined => value === undefined || value === '' ? undefined : value
  const targets: RenderTarget[] = []
  if (settings.nginxConfig !== undefined && settings.nginxConfig !== '') {
    targets.push({
      template: NGINX_TEMPLATE,
      output: settings.nginxConfig,
      test: command(settings.nginxTest ?? 'nginx -t'),
      reload: command(settings.nginxReload ?? 'nginx -s reload')
    })
  }
  // A --render command is both: when it fails the previous file is put back.
  for (const spec of settings.render ?? []) targets.push({ template: spec.template, output: spec.output, test: command(spec.command) })
  return targets
}

/**
 * Keeps the files of nginx mode and `--render` in step with the registry of `app`: written once
 * before the server listens, then after every change, until the server closes.
 */
export function registerRenderer (app: FastifyInstance, settings: RenderSettings): void {
  const targets = renderTargets(settings)
  if (targets.length === 0) return
  const renderer = new Renderer({ registry: app.lunaRegistry, targets, listen: settings.nginxListen ?? '8080', log: app.log })
  app.addHook('onReady', async () => { await renderer.start() })
  app.addHook('onClose', async () => { await renderer.close() })
}
