/**
 * The methods the app answers at a path, from its own route table: what a `405 Method Not
 * Allowed` lists in `Allow` when a known path is asked with another method.
 */
export function allowedMethods(routes: readonly { method: string; path: string }[]): (pathname: string) => string[] {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (pathname) => {
    table ??= routes
      .filter((route) => route.method !== "ALL")
      .map((route) => ({
        pattern: new RegExp(
          `^${route.path
            .split(/:[^/]+/)
            .map((literal) => literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
            .join("[^/]+")}$`,
        ),
        method: route.method,
      }));
    const methods = new Set(table.filter((route) => route.pattern.test(pathname)).map((route) => route.method));
    // Hono answers HEAD wherever it answers GET.
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods];
  };
}
