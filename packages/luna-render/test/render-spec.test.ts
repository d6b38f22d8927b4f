import t from 'tap'
import { parseRenderSpec, splitRenderList } from '../src/index.js'

t.test('TEMPLATE:OUTPUT[:COMMAND], split at the first two colons', async (t) => {
  t.same(parseRenderSpec('haproxy.eta:/etc/haproxy/luna.cfg'), { template: 'haproxy.eta', output: '/etc/haproxy/luna.cfg' })
  t.same(parseRenderSpec(' t.eta:out.cfg:haproxy -c -f out.cfg && echo reload: done '), { template: 't.eta', output: 'out.cfg', command: 'haproxy -c -f out.cfg && echo reload: done' })
  t.same(parseRenderSpec('t.eta:out.cfg: '), { template: 't.eta', output: 'out.cfg' })
  for (const entry of ['', 't.eta', 't.eta:', ':out', '::cmd']) t.equal(parseRenderSpec(entry), 'must be TEMPLATE:OUTPUT or TEMPLATE:OUTPUT:COMMAND', JSON.stringify(entry))
  t.equal(parseRenderSpec('t.eta:out:a\nb'), 'must be one line')
})

t.test('LUNA_RENDER: ";" between entries, blank ones skipped', async (t) => {
  t.same(splitRenderList('a:b:c; d:e ;;'), ['a:b:c', 'd:e'])
  t.same(splitRenderList(''), [])
})
