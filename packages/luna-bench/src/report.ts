export interface Target {
  op: '<' | '>='
  value: number
}

export interface Figure {
  name: string
  value: number
  unit: 'req/s' | 'ms' | 'µs' | 'bytes' | 'bytes/instance' | 'ratio' | 'count' | 'bytes/min'
  target?: Target
  /** False when the measurement behind the figure saw failures; such a figure neither passes nor misses. */
  valid?: boolean
  note?: string
}

export interface Table {
  title: string
  header: string[]
  rows: string[][]
}

export interface SuiteResult {
  figures: Figure[]
  /** Detail printed under the summary: rounds, distributions, profiles. */
  tables?: Table[]
  /** Anything else worth keeping in the JSON file. */
  data?: unknown
}

export type Verdict = 'PASS' | 'MISS' | 'INVALID' | ''

export function verdict (figure: Figure): Verdict {
  if (figure.valid === false) return 'INVALID'
  if (figure.target === undefined) return ''
  if (!Number.isFinite(figure.value)) return 'MISS'
  return figure.target.op === '<'
    ? figure.value < figure.target.value ? 'PASS' : 'MISS'
    : figure.value >= figure.target.value ? 'PASS' : 'MISS'
}

function round (value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function formatValue (value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return 'n/a'
  switch (unit) {
    case 'req/s': return `${round(value, 0)} req/s`
    case 'ms': return `${round(value, value < 10 ? 2 : value < 100 ? 1 : 0)} ms`
    case 'µs': return `${round(value, 0)} µs`
    case 'bytes': return value >= 1024 * 1024 ? `${round(value / 1024 / 1024, 2)} MB` : value >= 1024 ? `${round(value / 1024, 1)} KB` : `${round(value, 0)} B`
    case 'bytes/instance': return `${round(value / 1024, 2)} KB/instance`
    case 'ratio': return round(value, 2)
    case 'count': return round(value, 0)
    case 'bytes/min': return `${round(value / 1024 / 1024, 2)} MB/min`
  }
}

export function formatTarget (figure: Figure): string {
  if (figure.target === undefined) return ''
  return `${figure.target.op === '<' ? '<' : '≥'} ${formatValue(figure.target.value, figure.unit)}`
}

/** A plain-text table, columns padded to their widest cell; numbers-looking cells align right. */
export function renderTable (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-\d.,]+( ?[a-zA-Z/×%]+)?$|^$/.test(row[column] ?? '')))
  const line = (cells: string[]): string => cells
    .map((cell, column) => numeric[column] === true ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))
    .join('  ')
    .trimEnd()
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}
