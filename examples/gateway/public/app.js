// The front end knows one address, the gateway's: every service is reached through it.
const services = document.querySelector('meta[name="luna-gateway"]').content
const list = document.querySelector('#orders')
const status = document.querySelector('#status')

async function refresh () {
  const response = await fetch(`${services}/orders/orders`)
  if (!response.ok) throw new Error(`GET orders answered ${response.status}`)
  const orders = await response.json()
  list.replaceChildren(...orders.map((order) => Object.assign(document.createElement('li'), { textContent: `#${order.id} ${order.item}` })))
}

document.querySelector('form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = event.currentTarget
  // A JSON body: the browser asks the gateway first (a CORS preflight), then sends it.
  const response = await fetch(`${services}/orders/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item: new FormData(form).get('item') })
  })
  status.textContent = response.ok ? 'Ordered' : `The order failed: ${response.status}`
  form.reset()
  await refresh()
})

refresh().then(
  () => { document.body.dataset.ready = 'true' },
  (error) => { status.textContent = `Could not load the orders: ${error.message}` }
)
