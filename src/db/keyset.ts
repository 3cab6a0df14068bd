import { and, eq, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { KeysetPosition } from "../lib/pagination";

/** Rows after `position` in a newest-first list ordered by (time desc, id desc); no filter on the first page. */
export function olderThan(time: PgColumn, id: PgColumn, position: KeysetPosition | undefined): SQL | undefined {
  if (!position) return undefined;
  return or(lt(time, position.at), and(eq(time, position.at), lt(id, position.id)));
}
