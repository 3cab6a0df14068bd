import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { api, currentTokens, onTokens, type Problem, problemOf, type Tokens } from "../src/api";
import { SignIn } from "../src/screens/sign-in";
import { ErrorNote, Screen } from "../src/ui";
import { SignOut } from "./nav";
import { OverviewScreen } from "./overview";
import { QueueScreen } from "./queue";
import { ReportScreen } from "./report";
import { useConsoleRoute } from "./routes";
import { UserScreen } from "./user";

const screenNames = {
  open: "Report queue",
  closed: "Closed reports",
  report: "Report",
  user: "User",
  overview: "Overview",
} as const;

/** Whether the API lets the signed-in user into the admin surface: it alone decides (docs/console.md). */
type Access =
  | { kind: "checking" }
  | { kind: "admin" }
  | { kind: "refused"; problem: Problem }
  | { kind: "failed"; error: unknown };

/**
 * The moderator console. It signs in as the web client does, and shares its sign-in (the same
 * origin, the same stored tokens). Who may use it is the API's word, asked on every load: a
 * 403 from the admin surface shows a refusal, never the console.
 */
export function Console() {
  const [tokens, setTokens] = useState<Tokens | null>(currentTokens);
  const [access, setAccess] = useState<Access>({ kind: "checking" });
  // Asking again after the question was lost (the network): the console has nothing to show before.
  const [asked, setAsked] = useState(0);
  const route = useConsoleRoute();
  useEffect(() => onTokens(setTokens), []);
  // The document's title names the screen: it is what the history (back, forward) and a screen
  // reader's tab list show, and each screen would otherwise be "Gaplash — moderator console". Set
  // with the screen it names, before it is drawn.
  useLayoutEffect(() => {
    const name = !tokens
      ? "Sign in"
      : access.kind === "refused"
        ? "Not for this account"
        : access.kind === "admin"
          ? screenNames[route.screen === "queue" ? route.status : route.screen]
          : null;
    document.title = `${name ? `${name} — ` : ""}Gaplash moderator console`;
  });

  useEffect(() => {
    if (!tokens) return;
    setAccess({ kind: "checking" });
    void (async () => {
      try {
        const response = await api.admin.stats.overview.$get();
        if (response.ok) return setAccess({ kind: "admin" });
        const problem = await problemOf(response);
        setAccess(problem.status === 403 ? { kind: "refused", problem } : { kind: "failed", error: problem });
      } catch (error) {
        setAccess({ kind: "failed", error });
      }
    })();
  }, [tokens?.user.id, asked]);

  if (!tokens) {
    return (
      <SignIn
        title="Sign in to the moderator console"
        intro="For Gaplash admins. Sign in with your account's address; the console checks your rights with the API."
        onSignedIn={() => {}}
      />
    );
  }
  switch (access.kind) {
    case "checking":
      return (
        <Screen title="Moderator console">
          <p role="status">Checking your access…</p>
        </Screen>
      );
    case "failed":
      return (
        <Screen title="Moderator console" actions={<SignOut />}>
          <ErrorNote error={access.error} />
          <button type="button" onClick={() => setAsked((count) => count + 1)}>
            Try again
          </button>
        </Screen>
      );
    case "refused":
      return (
        <Screen title="Not for this account" actions={<SignOut />}>
          <div role="alert" class="refusal">
            <p>
              The moderator console is for admins only, and the API refused <strong>{tokens.user.email}</strong>:{" "}
              {access.problem.message}
            </p>
            <p>
              If you moderate Gaplash, ask an admin to grant you the role, then reload. To practise, open{" "}
              <a href="/app/">the web app</a>.
            </p>
          </div>
        </Screen>
      );
    case "admin":
      break;
  }
  // Each screen is keyed by its route: one opened from another of its kind starts empty, so it never
  // shows (or acts on) the report, account or list before it while its own loads, fails or arrives late.
  switch (route.screen) {
    case "queue":
      return <QueueScreen key={route.status} status={route.status} />;
    case "report":
      return <ReportScreen key={route.id} id={route.id} />;
    case "user":
      return <UserScreen key={route.id} id={route.id} />;
    case "overview":
      return <OverviewScreen />;
  }
}
