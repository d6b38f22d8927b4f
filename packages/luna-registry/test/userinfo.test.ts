import t from 'tap'
import { withoutUserinfo } from '../src/index.js'

t.test('withoutUserinfo drops the user and password of an absolute-form URL, and nothing else', async (t) => {
  const cases: Array<[string, string]> = [
    ['http://user:pass@host/registry/v1/services', 'http://host/registry/v1/services'],
    ['https://user@host:8443/x?y=1', 'https://host:8443/x?y=1'],
    ['HTTP://u:p@ss@host/x', 'HTTP://host/x'],
    ['//user:pass@host/x', '//host/x'],
    ['http://user:pass@host', 'http://host'],
    ['/registry/v1/services', '/registry/v1/services'],
    ['/registry/v1/services?owner=a@b', '/registry/v1/services?owner=a@b'],
    ['http://host/path@elsewhere', 'http://host/path@elsewhere'],
    ['http://host?q=u:p@x', 'http://host?q=u:p@x'],
    ['*', '*']
  ]
  for (const [url, expected] of cases) t.equal(withoutUserinfo(url), expected, url)
})
