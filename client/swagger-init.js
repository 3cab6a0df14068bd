// Starts Swagger UI on /swagger. A file of its own, not an inline script: the page's CSP runs none.
// The page names the document to show (src/lib/swagger-page.ts).
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true });
