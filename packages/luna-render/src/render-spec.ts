/** One `--render TEMPLATE:OUTPUT[:COMMAND]`. */
export interface RenderSpec {
  template: string
  output: string
  /** Run after each write; when it fails the previous file is put back. */
  command?: string
}

/**
 * `TEMPLATE:OUTPUT[:COMMAND]`, split at the first two colons: the command, which comes last,
 * may hold colons of its own. Returns why when the entry is not one.
 */
export function parseRenderSpec (entry: string): RenderSpec | string {
  const text = entry.trim()
  const first = text.indexOf(':')
  const second = first === -1 ? -1 : text.indexOf(':', first + 1)
  const template = first === -1 ? text : text.slice(0, first)
  const output = first === -1 ? '' : second === -1 ? text.slice(first + 1) : text.slice(first + 1, second)
  const command = second === -1 ? '' : text.slice(second + 1).trim()
  if (template === '' || output === '') return 'must be TEMPLATE:OUTPUT or TEMPLATE:OUTPUT:COMMAND'
  if (/[\r\n]/.test(text)) return 'must be one line'
  return command === '' ? { template, output } : { template, output, command }
}

/** The entries of `LUNA_RENDER`, `;` between them; blank ones are skipped. */
export function splitRenderList (value: string): string[] {
  return value.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '')
}
