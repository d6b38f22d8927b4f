import { EventEmitter } from 'node:events'
import type { LunaRegistry, RegistryLogger } from 'luna-registry'
import { readIfPresent, restore, writeAtomically } from './atomic-file.js'
import { runCommand } from './command.js'
import { renderData, type RenderData } from './render-data.js'
import { loadTemplate, type Template } from './template.js'

/** What the renderer reads: a registry in this process (`fastify.lunaRegistry`). */
export type RenderSource = Pick<LunaRegistry, 'listServices' | 'on' | 'off'>

/** A file kept in step with the registry. */
export interface RenderTarget {
  /** An Eta template's path, or a template loaded with `loadTemplate`. */
  template: string | Template
  /** The file written; its directory must exist. */
  output: string
  /** A command run after each write (`nginx -t`); when it fails the previous file is put back. */
  test?: string
  /** A command run once the test passed (`nginx -s reload`); when it fails the file stays and the next change tries again. */
  reload?: string
}

export interface RendererOptions {
  registry: RenderSource
  targets: RenderTarget[]
  /** `it.listen` in the templates. Default `8080`. */
  listen?: string
  /** Milliseconds from a change to the render that takes it in; the changes meanwhile join it. Default 500. */
  delay?: number
  /** Milliseconds a command may run before it is killed and counts as failed. Default 30 000. */
  commandTimeout?: number
  log?: RegistryLogger
}

/**
 * What became of a file at one render: `written` (and tested and reloaded), `unchanged` (the
 * output was the file already in use: nothing written, nothing run), `rejected` (the test failed;
 * the previous file is back), `not reloaded` (written and tested, the reload failed), `failed`
 * (the template or the write failed; the file was not touched).
 */
export type RenderOutcome = 'written' | 'unchanged' | 'rejected' | 'not reloaded' | 'failed'

export interface RenderResult {
  output: string
  outcome: RenderOutcome
}

export const DEFAULT_RENDER_DELAY = 500
export const DEFAULT_COMMAND_TIMEOUT = 30_000

/** The changes that can change who is routable; a heartbeat that changes nothing emits none. */
const CHANGES = ['registered', 'updated', 'status', 'deregistered', 'evicted', 'resync'] as const

interface Target {
  template: Template
  output: string
  test: string | undefined
  reload: string | undefined
  /** The text in use: written, tested and reloaded. */
  applied: string | undefined
}

/**
 * Renders templates with the live services to files, and runs the commands that make a proxy
 * read them. Once at `start()`, then after every change of the registry: the changes within
 * `delay` of the first make one render, so a burst of registrations is one reload, not hundreds.
 * A render whose output is the file in use writes and runs nothing. Emits `render` with each
 * file's outcome.
 */
export class Renderer extends EventEmitter<{ render: [RenderResult] }> {
  readonly #registry: RenderSource
  readonly #targets: Target[]
  readonly #listen: string
  readonly #delay: number
  readonly #commandTimeout: number
  readonly #log: RegistryLogger | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #dirty = false
  #closed = true
  #listFailing = false

  constructor (options: RendererOptions) {
    super()
    this.#registry = options.registry
    this.#listen = options.listen ?? '8080'
    this.#delay = options.delay ?? DEFAULT_RENDER_DELAY
    this.#commandTimeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT
    this.#log = options.log
    this.#targets = options.targets.map((target) => ({
      template: typeof target.template === 'string' ? loadTemplate(target.template) : target.template,
      output: target.output,
      test: target.test,
      reload: target.reload,
      applied: undefined
    }))
  }

  /** Listens to the registry's changes and renders every file once, before it resolves. */
  async start (): Promise<void> {
    if (!this.#closed) return
    this.#closed = false
    for (const type of CHANGES) this.#registry.on(type, this.#changed)
    this.#dirty = true
    this.#fire()
    await this.#running
  }

  /** Stops listening; resolves once a render under way has finished with its files. */
  async close (): Promise<void> {
    this.#closed = true
    for (const type of CHANGES) this.#registry.off(type, this.#changed)
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  readonly #changed = (): void => {
    if (this.#closed) return
    this.#dirty = true
    if (this.#timer === undefined && this.#running === undefined) this.#timer = setTimeout(this.#fire, this.#delay).unref()
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    this.#running = this.#renderAll().finally(() => {
      this.#running = undefined
      // Changes that came during the render get one of their own, `delay` later.
      if (this.#dirty && !this.#closed) this.#timer = setTimeout(this.#fire, this.#delay).unref()
    })
  }

  async #renderAll (): Promise<void> {
    this.#dirty = false
    let data: RenderData
    try {
      data = renderData(await this.#registry.listServices(), this.#listen)
    } catch (error) {
      if (!this.#listFailing) this.#log?.warn({ err: error }, 'luna-render: cannot read the registry; the files stay as they are until it answers')
      this.#listFailing = true
      this.#dirty = true
      return
    }
    if (this.#listFailing) this.#log?.info('luna-render: the registry answers again')
    this.#listFailing = false
    for (const target of this.#targets) this.emit('render', { output: target.output, outcome: await this.#apply(target, data) })
  }

  async #apply (target: Target, data: RenderData): Promise<RenderOutcome> {
    const { output } = target
    let text: string
    let previous: string | undefined
    try {
      text = target.template(data)
      if (text === target.applied) return 'unchanged'
      previous = await readIfPresent(output)
      await writeAtomically(output, text)
    } catch (error) {
      this.#log?.error({ err: error, output }, `luna-render: could not render ${output}; the file is as it was`)
      return 'failed'
    }
    if (target.test !== undefined) {
      const test = await runCommand(target.test, this.#commandTimeout)
      if (!test.ok) {
        try {
          await restore(output, previous)
        } catch (error) {
          this.#log?.error({ err: error, output }, `luna-render: could not put back the previous ${output}`)
        }
        this.#log?.error({ output, command: target.test, exit: test.exit, said: test.output },
          `luna-render: "${target.test}" rejected the new ${output}, the previous file is back: ${test.output}`)
        return 'rejected'
      }
    }
    if (target.reload !== undefined) {
      const reload = await runCommand(target.reload, this.#commandTimeout)
      if (!reload.ok) {
        this.#log?.warn({ output, command: target.reload, exit: reload.exit, said: reload.output },
          `luna-render: wrote ${output} but "${target.reload}" failed; the next change tries again: ${reload.output}`)
        return 'not reloaded'
      }
    }
    target.applied = text
    this.#log?.info({ output, routes: data.routes.length, unavailable: data.unavailable.length }, `luna-render: wrote ${output}`)
    return 'written'
  }
}
