import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../src/api";
import { ErrorNote, Screen, useAction } from "../src/ui";
import { BarChart } from "./charts";
import { ConsoleNav } from "./nav";
import type { Overview, QueueStats } from "./types";

/** A wait in the unit that reads best: milliseconds under a second, then seconds. */
const wait = (ms: number) =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;

const percent = (value: number) => `${Math.round(value * 100)} %`;

/**
 * One level's last 24 hours, hour by hour (UTC): the queue at each hour's end, and the waits and
 * match rate of the attempts that ended in it. It opens on the level with the most attempts.
 */
function HourByHour(props: { queues: QueueStats }) {
  const busiest = props.queues.reduce((most, queue) => (queue.resolved_24h > most.resolved_24h ? queue : most));
  const [chosen, setChosen] = useState(busiest.level);
  const queue = props.queues.find((candidate) => candidate.level === chosen) ?? busiest;
  const hours = queue.hours.map((hour) => hour.start.slice(11, 16));
  const range = `from ${hours[0]} to now (UTC)`;
  return (
    <section aria-labelledby="hours-heading" class="charts">
      <h2 id="hours-heading">One level, hour by hour</h2>
      <p class="chooser">
        <label for="hours-level">Level</label>
        <select
          id="hours-level"
          value={queue.level}
          onChange={(event) => setChosen(event.currentTarget.value as typeof chosen)}
        >
          {props.queues.map((candidate) => (
            <option key={candidate.level} value={candidate.level}>
              {candidate.level}
            </option>
          ))}
        </select>
      </p>
      <BarChart
        title={`${queue.level}: waiting at each hour's end`}
        description={`Learners of ${queue.level} waiting for a partner at the end of each of the last 24 hours, ${range}; the last bar is now.`}
        categories={hours}
        categoryLabel="Hour (UTC)"
        series={[{ name: "Waiting", values: queue.hours.map((hour) => hour.depth), className: "series-1" }]}
        format={(value) => String(Math.round(value))}
        counts
        labelEvery={4}
      />
      <BarChart
        title={`${queue.level}: wait to a match, by hour`}
        description={`Median (p50) and 95th percentile (p95) of the wait of the matches made in each of the last 24 hours at ${queue.level}, ${range}; none drawn where nobody was matched.`}
        categories={hours}
        categoryLabel="Hour (UTC)"
        series={[
          { name: "p50", values: queue.hours.map((hour) => hour.wait_p50_ms), className: "series-1" },
          { name: "p95", values: queue.hours.map((hour) => hour.wait_p95_ms), className: "series-2" },
        ]}
        format={wait}
        labelEvery={4}
      />
      <BarChart
        title={`${queue.level}: match rate, by hour`}
        description={`Of the attempts at ${queue.level} that ended in each of the last 24 hours, the share that found a partner, ${range}.`}
        categories={hours}
        categoryLabel="Hour (UTC)"
        series={[{ name: "Matched", values: queue.hours.map((hour) => hour.match_rate), className: "series-1" }]}
        format={percent}
        max={1}
        labelEvery={4}
      />
    </section>
  );
}

/** Today at a glance, and the queues per level as charts: depth now, waits and match rate over 24 h. */
export function OverviewScreen() {
  const [figures, setFigures] = useState<Overview | null>(null);
  const [queues, setQueues] = useState<QueueStats>([]);
  const load = useAction(async () => {
    const [overview, stats] = await Promise.all([
      ok(await api.admin.stats.overview.$get()),
      ok(await api.admin.stats.queues.$get()),
    ]);
    setFigures(overview);
    setQueues(stats.items);
  });
  useEffect(() => void load.run(), []);
  const levels = queues.map((queue) => queue.level);
  const tiles: [string, number | undefined][] = [
    ["Sessions today", figures?.sessions_today],
    ["Active users today", figures?.dau],
    ["Online now", figures?.online_now],
    ["Waiting for a partner", figures?.waiting_in_queue],
    ["Open reports", figures?.open_reports],
    ["Minutes spoken today", figures?.minutes_spoken_today],
  ];
  return (
    <Screen title="Overview" actions={<ConsoleNav current="overview" />}>
      <p class="muted">Today is the UTC day; waits and match rates cover the last 24 hours.</p>
      <ul class="tiles" aria-label="Today">
        {tiles.map(([label, value]) => (
          <li key={label}>
            <span class="tile-value">{value ?? (load.error ? "—" : "…")}</span>
            <span class="tile-label">{label}</span>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void load.run()} disabled={load.busy}>
        Refresh
      </button>
      <ErrorNote error={load.error} />
      {queues.length > 0 ? (
        <section aria-labelledby="queues-heading" class="charts">
          <h2 id="queues-heading">Queues per level</h2>
          <BarChart
            title="Waiting now"
            description={`Learners waiting for a partner, per level: ${queues.map((q) => `${q.level} ${q.depth}`).join(", ")}.`}
            categories={levels}
            categoryLabel="Level"
            series={[{ name: "Waiting", values: queues.map((q) => q.depth), className: "series-1" }]}
            format={(value) => String(Math.round(value))}
            counts
          />
          <BarChart
            title="Wait to a match, last 24 h"
            description="Median (p50) and 95th percentile (p95) of the wait from asking to being matched, per level; a dash where nobody was matched."
            categories={levels}
            categoryLabel="Level"
            series={[
              { name: "p50", values: queues.map((q) => q.wait_p50_ms), className: "series-1" },
              { name: "p95", values: queues.map((q) => q.wait_p95_ms), className: "series-2" },
            ]}
            format={wait}
          />
          <BarChart
            title="Match rate, last 24 h"
            description="Of the attempts made in the last 24 hours that have ended, the share that found a partner (the rest were cancelled or expired), per level."
            categories={levels}
            categoryLabel="Level"
            series={[{ name: "Matched", values: queues.map((q) => q.match_rate_24h), className: "series-1" }]}
            format={percent}
            max={1}
          />
        </section>
      ) : null}
      {queues.length > 0 ? <HourByHour queues={queues} /> : null}
    </Screen>
  );
}
