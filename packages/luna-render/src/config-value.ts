/** A value a template tried to write with `<%= … %>` that could be read as configuration syntax. */
export class UnsafeValueError extends Error {
  override name = 'UnsafeValueError'

  constructor (value: string) {
    super(`${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} is not safe to write into a configuration file: ` +
      'only A-Z a-z 0-9 and . _ ~ - : / @ ! & = + , * % [ ] are (print it with <%~ … %> if the template trusts it)')
  }
}

// Neither whitespace, `;`, `{`, `}`, `#`, quotes, `$`, `\` nor a newline: what nginx, HAProxy and
// most configuration languages read as syntax. Names, hosts, ports, weights and encoded paths
// are made of these.
const SAFE = /^[A-Za-z0-9._~\-:/@!&=+,*%[\]]*$/

/**
 * The escape function of every template: `<%= value %>` writes a value made only of characters
 * no configuration language takes for syntax, and fails the render otherwise. HTML escaping
 * would be wrong here (an nginx file is not HTML) and would not stop a `;` or a `}`.
 */
export function configValue (value: unknown): string {
  const text = String(value)
  if (!SAFE.test(text)) throw new UnsafeValueError(text)
  return text
}
