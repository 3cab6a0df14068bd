import { useEffect, useState } from "preact/hooks";

export type Route =
  | { screen: "sign-in" }
  | { screen: "profile" }
  | { screen: "home" }
  | { screen: "history" }
  | { screen: "corrections" }
  | { screen: "session"; id: string };

/** Routes live in the hash, so the static `/app/` page serves them all and reloads keep the place. */
export function parseRoute(hash: string): Route {
  const [screen, id] = hash.replace(/^#\/?/, "").split("/");
  if (screen === "session" && id) return { screen: "session", id };
  if (screen === "profile" || screen === "history" || screen === "corrections" || screen === "sign-in") {
    return { screen };
  }
  return { screen: "home" };
}

export function go(route: Route): void {
  location.hash = route.screen === "session" ? `#/session/${route.id}` : `#/${route.screen}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
