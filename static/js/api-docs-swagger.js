// Starts Swagger UI on the API docs page. The schema URL and the CSRF token come from data attributes:
// the page's Content-Security-Policy allows no inline script.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  const csrfToken = root.dataset.csrfToken;
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null, // the default sends the schema to swagger.io
    requestInterceptor: function (request) {
      // "Try it out" with the browser session: Django checks the CSRF token on writes.
      if (request.method && request.method !== "GET" && request.method !== "HEAD") {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();
