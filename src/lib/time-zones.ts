/** What a time-zone name resolves to in the IANA database: its primary zone, or unknown. */
type Resolution = string | undefined;

let primaryByName: Map<string, string> | undefined;

/**
 * Every name of the IANA time-zone database (the `tzdata` package, kept current with IANA's
 * releases), zones and links alike, keyed in lower case, to the primary zone it names. Built once
 * per isolate, on the first profile that sets a zone, so no other request parses the database.
 */
async function ianaNames(): Promise<Map<string, string>> {
  if (primaryByName) return primaryByName;
  const { zones } = (await import("tzdata")).default as { zones: Record<string, unknown> };
  const primaryOf = (name: string, hops = 0): string => {
    const target = zones[name];
    return typeof target === "string" && hops < 8 ? primaryOf(target, hops + 1) : name;
  };
  primaryByName = new Map(Object.keys(zones).map((name) => [name.toLowerCase(), primaryOf(name)]));
  return primaryByName;
}

/**
 * The primary IANA name of the time zone `name` names, in any case and through any IANA link
 * (`america/new_york` → `America/New_York`, `Asia/Calcutta` → `Asia/Kolkata`, `US/Eastern` →
 * `America/New_York`, `GMT` → `Etc/GMT`; `Etc/UTC` and its links are stored as `UTC`, the
 * conventional spelling). Undefined when IANA does not name it: UTC offsets (`+05:00`), which
 * have no daylight-saving rules, and the runtime's own aliases (`BST`, `IST`, `SST` name other
 * places in ICU than a reader expects), and `Factory`; also a zone this runtime cannot compute.
 */
export async function canonicalTimeZone(name: string): Promise<Resolution> {
  const primary = (await ianaNames()).get(name.toLowerCase());
  if (primary === undefined || primary === "Factory") return undefined;
  const stored = primary === "Etc/UTC" ? "UTC" : primary;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: stored });
    return stored;
  } catch {
    return undefined;
  }
}
