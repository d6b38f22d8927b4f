import t from 'tap'
import { STORE_URL_PARAMETERS as STORE_OWN } from 'luna-store-redis'
import { STORE_URL_PARAMETERS } from '../src/settings.js'

t.test('the store URL parameters luna-server accepts are the ones luna-store-redis reads', async (t) => {
  t.same(STORE_URL_PARAMETERS, STORE_OWN)
})
