import t from 'tap'
import { SseParser } from '../src/sse.js'

t.test('events as the registry frames them', async (t) => {
  const parser = new SseParser()
  const events = parser.push('retry: 2000\nid: 7\nevent: snapshot\ndata: []\n\nid: 8\nevent: registered\ndata: {"a":1}\n\n')
  t.same(events, [
    { event: 'snapshot', data: '[]', id: '7' },
    { event: 'registered', data: '{"a":1}', id: '8' }
  ])
  t.equal(parser.retry, 2000)
})

t.test('chunks split anywhere, even inside a CRLF', async (t) => {
  const stream = 'event: status\r\ndata: {"x":\r\ndata: 2}\r\n\r\n: keep-alive\r\n\r\nevent: updated\rdata: u\r\r'
  for (let size = 1; size <= stream.length; size++) {
    const parser = new SseParser()
    const events = []
    for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)))
    // A trailing CR is only known to end a line once the next character arrives.
    events.push(...parser.push('\n'))
    t.same(events, [
      { event: 'status', data: '{"x":\n2}', id: undefined },
      { event: 'updated', data: 'u', id: undefined }
    ], `in chunks of ${size}`)
  }
})

t.test('comments, unknown fields, an event without data, and the default type', async (t) => {
  const parser = new SseParser()
  t.same(parser.push(': keep-alive\n\nevent: nothing\n\nfoo: bar\ndata\ndata:x\n\nretry: soon\nid\0: 1\ndata: y\n\n'), [
    { event: 'message', data: '\nx', id: undefined },
    { event: 'message', data: 'y', id: undefined }
  ])
  t.equal(parser.retry, undefined, 'a retry that is not a number is ignored')
})
