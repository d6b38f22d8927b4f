import t from 'tap'
import { formatDuration, parseDuration } from '../src/index.js'

t.test('parseDuration reads milliseconds and unit suffixes', async (t) => {
  t.equal(parseDuration(1500), 1500)
  t.equal(parseDuration('1500'), 1500)
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('30s'), 30_000)
  t.equal(parseDuration('2m'), 120_000)
  t.equal(parseDuration('1h'), 3_600_000)
  t.equal(parseDuration('1d'), 86_400_000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration(' 30s '), 30_000)
})

t.test('parseDuration refuses what is not a duration', async (t) => {
  for (const bad of ['', 'abc', '-1', '30 seconds', '5x', '1e3', 'Infinity', null, undefined, {}, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.equal(parseDuration(bad), undefined, `${String(bad)} is refused`)
  }
})

t.test('formatDuration writes the shortest exact form', async (t) => {
  t.equal(formatDuration(30_000), '30s')
  t.equal(formatDuration(120_000), '2m')
  t.equal(formatDuration(1500), '1.5s')
  t.equal(formatDuration(250), '250ms')
  t.equal(formatDuration(86_400_000), '1d')
})
