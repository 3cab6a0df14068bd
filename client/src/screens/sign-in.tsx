import { useState } from "preact/hooks";
import { api, ok, setTokens, signOutProblem } from "../api";
import { ErrorNote, Screen, useAction } from "../ui";

/**
 * Sign in with a code mailed to the address; in development, the local mailbox shows it. The
 * moderator console signs in here too, with its own `title` and `intro`.
 */
export function SignIn(props: { onSignedIn(next: "profile" | "home"): void; title?: string; intro?: string }) {
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const [loginId, setLoginId] = useState<string | null>(null);
  const [devMailbox, setDevMailbox] = useState<string | null>(null);
  // Why the API ended the last sign-in (a suspension), said until the learner tries again.
  const [signedOut] = useState(signOutProblem);

  const request = useAction(async () => {
    const sent = await ok(await api.auth.email.request.$post({ json: { email } }));
    setLoginId(sent.login_id);
    const mailbox = `/dev/mailbox?email=${encodeURIComponent(email.trim().toLowerCase())}`;
    setDevMailbox((await fetch(mailbox, { method: "GET" })).ok ? mailbox : null);
  });

  const verify = useAction(async () => {
    if (!loginId) return;
    const signedIn = await ok(await api.auth.email.verify.$post({ json: { email, login_id: loginId, code } }));
    setTokens(signedIn);
    const me = await ok(await api.me.$get());
    props.onSignedIn(me.profile.level && me.profile.display_name ? "home" : "profile");
  });

  return (
    <Screen title={props.title ?? "Sign in to Gaplash"}>
      <p>{props.intro ?? "Practise speaking one to one with a learner of your level."}</p>
      {request.busy || loginId ? null : <ErrorNote error={signedOut} />}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void request.run();
        }}
      >
        <label for="email">Email</label>
        <input
          id="email"
          type="email"
          autocomplete="email"
          required
          value={email}
          onInput={(event) => setEmail(event.currentTarget.value)}
        />
        <button type="submit" disabled={request.busy}>
          {loginId ? "Send a new code" : "Send me a code"}
        </button>
        <ErrorNote error={request.error} />
      </form>
      {loginId ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void verify.run();
          }}
        >
          <p role="status" class="address">
            We mailed a 6-digit code to {email}. It works for 10 minutes.
          </p>
          {devMailbox ? (
            <p>
              Development: <a href={devMailbox}>open the local mailbox for this address</a>.
            </p>
          ) : null}
          <label for="code">6-digit code</label>
          <input
            id="code"
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={code}
            onInput={(event) => setCode(event.currentTarget.value)}
          />
          <button type="submit" disabled={verify.busy}>
            Sign in
          </button>
          <ErrorNote error={verify.error} />
        </form>
      ) : null}
    </Screen>
  );
}
