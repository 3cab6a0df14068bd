import { useEffect, useState } from "preact/hooks";

/** Where the console is: the queue (open or closed reports), one report, one user, or the overview. */
export type ConsoleRoute =
  | { screen: "queue"; status: "open" | "closed" }
  | { screen: "report"; id: string }
  | { screen: "user"; id: string }
  | { screen: "overview" };

/** Routes live in the hash, so the static `/admin/` page serves them all and reloads keep the place. */
export function parseConsoleRoute(hash: string): ConsoleRoute {
  const [screen, id] = hash.replace(/^#\/?/, "").split("/");
  if (screen === "reports" && id) return { screen: "report", id };
  if (screen === "users" && id) return { screen: "user", id };
  if (screen === "overview") return { screen: "overview" };
  return { screen: "queue", status: screen === "closed" ? "closed" : "open" };
}

export function href(route: ConsoleRoute): string {
  switch (route.screen) {
    case "queue":
      return route.status === "closed" ? "#/closed" : "#/";
    case "report":
      return `#/reports/${route.id}`;
    case "user":
      return `#/users/${route.id}`;
    case "overview":
      return "#/overview";
  }
}

export function useConsoleRoute(): ConsoleRoute {
  const [route, setRoute] = useState(() => parseConsoleRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseConsoleRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
