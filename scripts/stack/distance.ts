/**
 * Network distance between the Worker and a service, for the benchmark's round-trip figures: on
 * loopback every exchange is free, so without it a route that makes three trips to the database
 * looks as fast as one that makes one. Each direction of an exchange waits half the round trip.
 * Adjustable while running, so one run can measure the same workers near and far.
 */
export class Distance {
  private rttMs = 0;

  constructor(rttMs = 0) {
    this.set(rttMs);
  }

  set(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0)
      throw new Error(`a round trip is a non-negative number of ms, not ${rttMs}`);
    this.rttMs = rttMs;
  }

  get rtt(): number {
    return this.rttMs;
  }

  /** One direction's share, for a request/response service: awaited before handling and before answering. */
  oneWay(): Promise<void> {
    if (this.rttMs === 0) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, this.rttMs / 2));
  }

  /**
   * One direction of a stream: each step runs one way's share after it entered the line, in the
   * order it entered, never overtaking an earlier one (as bytes on one TCP connection).
   */
  line(): (step: () => void) => void {
    const queue: { due: number; step: () => void }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && (queue[0]?.due ?? 0) <= now) queue.shift()?.step();
      const next = queue[0];
      if (next) timer = setTimeout(drain, Math.max(0, next.due - now));
    };
    return (step) => {
      if (this.rttMs === 0 && queue.length === 0) return step();
      const last = queue.at(-1)?.due ?? 0;
      queue.push({ due: Math.max(performance.now() + this.rttMs / 2, last), step });
      if (timer === undefined) timer = setTimeout(drain, Math.max(0, (queue[0]?.due ?? 0) - performance.now()));
    };
  }
}
