import { api, currentTokens, setTokens } from "../src/api";
import { href } from "./routes";

/** The console's own navigation; `current` is marked for screen readers as the page they are on. */
export function ConsoleNav(props: { current?: "open" | "closed" | "overview" }) {
  const link = (to: "open" | "closed" | "overview", label: string) => (
    <a
      href={to === "overview" ? href({ screen: "overview" }) : href({ screen: "queue", status: to })}
      aria-current={props.current === to ? "page" : undefined}
    >
      {label}
    </a>
  );
  return (
    <>
      {link("open", "Queue")} {link("closed", "Closed")} {link("overview", "Overview")} <SignOut />
    </>
  );
}

/** Signs out of this browser: the console and the web client share one sign-in (docs/console.md). */
export function SignOut() {
  return (
    <button
      type="button"
      class="link"
      onClick={async () => {
        const tokens = currentTokens();
        if (tokens) {
          await api.auth.logout
            .$post({ json: { refresh_token: tokens.refresh_token, everywhere: false } })
            .catch(() => {});
        }
        setTokens(null);
      }}
    >
      Sign out
    </button>
  );
}
