// Starts Swagger UI on the registry's OpenAPI document, whose address the page gives.
const root = document.getElementById('docs')
window.SwaggerUIBundle({
  url: root.dataset.spec,
  domNode: root,
  deepLinking: true,
  // The document names the registry's routes as they are served: trying one calls the registry.
  tryItOutEnabled: false,
  // Swagger's online validator is another origin: the page's policy forbids it, and so do we.
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout'
})
