import { useEffect, useState } from "preact/hooks";
import { api, currentTokens, onTokens, type Tokens } from "./api";
import { go, useRoute } from "./router";
import { Corrections } from "./screens/corrections";
import { History } from "./screens/history";
import { Home } from "./screens/home";
import { Profile } from "./screens/profile";
import { Session } from "./screens/session";
import { SignIn } from "./screens/sign-in";

const presenceEveryMs = 30_000;

export function App() {
  const [tokens, setTokens] = useState<Tokens | null>(currentTokens);
  const route = useRoute();
  useEffect(() => onTokens(setTokens), []);

  // Presence while the app is open: a queued match attempt lives only while its owner pings.
  useEffect(() => {
    if (!tokens) return;
    const ping = () => void api.presence.ping.$post().catch(() => {});
    ping();
    const timer = setInterval(ping, presenceEveryMs);
    return () => clearInterval(timer);
  }, [tokens?.user.id]);

  if (!tokens) return <SignIn onSignedIn={(next) => go({ screen: next })} />;
  // Keyed by the learner: a sign-in as someone else (in another tab) starts every screen afresh
  // instead of leaving the last learner's name, queue and messages on it.
  const who = tokens.user.id;
  switch (route.screen) {
    case "sign-in":
    case "home":
      return <Home key={who} />;
    case "profile":
      return <Profile key={who} />;
    case "history":
      return <History key={who} />;
    case "corrections":
      return <Corrections key={who} />;
    case "session":
      return <Session key={`${who} ${route.id}`} id={route.id} />;
  }
}
