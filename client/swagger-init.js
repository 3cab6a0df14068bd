// Starts Swagger UI on /swagger. A file of its own, not an inline script: the page's CSP runs none.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
