import { swaggerUI } from "@hono/swagger-ui";
import swaggerUiDist from "swagger-ui-dist/package.json" with { type: "json" };

/**
 * Where `npm run build:client` puts the pinned `swagger-ui-dist` files in the static assets:
 * `@hono/swagger-ui` asks for `<base>/swagger-ui-dist@<version>/…`, the path of a CDN, which our own
 * origin serves, so the page works offline and changes only when we change the version (a
 * browser never mixes a cached old bundle with a new page).
 */
export const swaggerUiAssetBase = "/vendor";

/**
 * Swagger UI for `/openapi.json` through `@hono/swagger-ui`, pointed at our copy of its assets.
 * Its default page starts Swagger UI with an inline script, which the page's CSP refuses
 * (`script-src 'self'`); `manuallySwaggerUIHtml` keeps the middleware's asset URLs and page, and
 * starts it from `/swagger-ui/init.js` instead, a file of our own, which reads the document's URL
 * from the page.
 */
const documentUrl = "/openapi.json";

export const swaggerPage = swaggerUI({
  url: documentUrl,
  title: "Gaplash API — Swagger UI",
  baseUrl: swaggerUiAssetBase,
  version: swaggerUiDist.version,
  manuallySwaggerUIHtml: (asset) =>
    [
      `<div id="swagger-ui" data-url="${documentUrl}"></div>`,
      ...asset.css.map((href) => `<link rel="stylesheet" href="${href}" />`),
      ...asset.js.map((src) => `<script src="${src}"></script>`),
      `<script src="/swagger-ui/init.js?v=${swaggerUiDist.version}"></script>`,
    ].join("\n"),
});
