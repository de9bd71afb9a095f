// Starts Swagger UI on the page served at /docs. A file of its own, not an inline script: the
// APIs' Content-Security-Policy allows scripts from the API's own origin only.
window.addEventListener('load', () => {
  const root = document.getElementById('swagger-ui')
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // The default sends the document to validator.swagger.io: a node may have no internet, and the
    // document is linted in the test suite instead.
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false
  })
})
