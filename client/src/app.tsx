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
  switch (route.screen) {
    case "sign-in":
    case "home":
      return <Home />;
    case "profile":
      return <Profile />;
    case "history":
      return <History />;
    case "corrections":
      return <Corrections />;
    case "session":
      return <Session id={route.id} />;
  }
}
