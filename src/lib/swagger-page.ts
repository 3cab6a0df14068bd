import swaggerUi from "swagger-ui-dist/package.json" with { type: "json" };

/**
 * Swagger UI for `/openapi.json`, from the pinned `swagger-ui-dist` files that `npm run
 * build:client` copies into the static assets (`/swagger-ui/`): no CDN, so it works offline and
 * changes only when we change the version. The version in the asset URLs keeps a browser from
 * mixing a cached old bundle with a new page. No inline script: the page's CSP allows none.
 */
export const swaggerPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Gaplash API — Swagger UI</title>
    <link rel="stylesheet" href="/swagger-ui/swagger-ui.css?v=${swaggerUi.version}" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/swagger-ui/swagger-ui-bundle.js?v=${swaggerUi.version}"></script>
    <script src="/swagger-ui/init.js?v=${swaggerUi.version}"></script>
  </body>
</html>
`;
