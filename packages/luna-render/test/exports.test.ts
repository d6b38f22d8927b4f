import t from 'tap'
import * as render from '../src/index.js'

t.test('the package exports exactly its public surface', async (t) => {
  t.same(Object.keys(render).sort(), [
    'DEFAULT_COMMAND_TIMEOUT',
    'DEFAULT_RENDER_DELAY',
    'GATEWAY_PREFIX',
    'NGINX_TEMPLATE',
    'Renderer',
    'TemplateError',
    'UnsafeValueError',
    'configValue',
    'encodePath',
    'loadTemplate',
    'parseInstanceUrl',
    'parseRenderSpec',
    'renderData',
    'routesOf',
    'runCommand',
    'splitRenderList'
  ])
})
