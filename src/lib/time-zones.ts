/**
 * The canonical ID of the time zone `name` names, in any case and through any IANA link, as the
 * runtime's time-zone database (ICU, which follows CLDR) spells it: `america/new_york` →
 * `America/New_York`, `GMT` and `Etc/UTC` → `UTC`, `US/Eastern` → `America/New_York`,
 * `Etc/GMT+5` stays. Undefined when it names no zone. UTC offsets (`+05:00`), which `Intl` also
 * takes, are refused: an offset has no daylight-saving rules, so a learner's local day would
 * drift by an hour twice a year.
 */
export function canonicalTimeZone(name: string): string | undefined {
  if (!/^[A-Za-z]/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
