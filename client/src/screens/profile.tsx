import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api";
import { go } from "../router";
import { ErrorNote, type Level, levels, Screen, useAction } from "../ui";

const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function Profile() {
  const [displayName, setDisplayName] = useState("");
  const [level, setLevel] = useState<Level>("B1");
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [loaded, setLoaded] = useState(false);
  const load = useAction(async () => {
    const me = await ok(await api.me.$get());
    setDisplayName(me.profile.display_name ?? "");
    if (me.profile.level) setLevel(me.profile.level);
    // A new account says UTC; the browser knows better.
    setTimezone(me.profile.timezone === "UTC" ? browserTimeZone() : me.profile.timezone);
    setLoaded(true);
  });
  useEffect(() => void load.run(), []);

  const save = useAction(async () => {
    await ok(await api.me.$patch({ json: { display_name: displayName, level, timezone } }));
    // Presence is counted at the profile's level: say so at once rather than at the next ping.
    await api.presence.ping.$post();
    go({ screen: "home" });
  });

  return (
    <Screen title="Your profile" actions={<a href="#/home">Home</a>}>
      {loaded ? null : <p role="status">Loading your profile…</p>}
      <ErrorNote error={load.error} />
      <form
        hidden={!loaded}
        onSubmit={(event) => {
          event.preventDefault();
          void save.run();
        }}
      >
        <label for="display-name">Display name</label>
        <input
          id="display-name"
          required
          maxLength={50}
          value={displayName}
          onInput={(event) => setDisplayName(event.currentTarget.value)}
        />
        <label for="level">Your level</label>
        <select id="level" value={level} onChange={(event) => setLevel(event.currentTarget.value as Level)}>
          {levels.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
        <label for="timezone">Time zone (your streak counts your days)</label>
        <input id="timezone" required value={timezone} onInput={(event) => setTimezone(event.currentTarget.value)} />
        <button type="submit" disabled={save.busy}>
          Save
        </button>
        <ErrorNote error={save.error} />
      </form>
    </Screen>
  );
}
