/**
 * Waits, if need be, until a rate-limit window of `windowMs` has at least `neededMs` left before
 * it turns. @upstash/ratelimit's sliding window weighs the previous window's counts by what is
 * left of it, so a test that reads exact counts across a turn would see one fewer: it must run
 * within one window. Windows turn at multiples of their length since the epoch, as the library
 * numbers them.
 */
export async function withinOneWindow(windowMs: number, neededMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
