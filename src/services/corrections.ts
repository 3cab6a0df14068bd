import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import type { KeysetPosition } from "../lib/pagination";

/** One correction a learner received (SPEC §10): what they wrote, what their partner made of it. */
export interface CorrectionRow extends Record<string, unknown> {
  id: string;
  session_id: string;
  original: string | null;
  corrected: string;
  corrector_id: string | null;
  corrector_name: string | null;
  created_at: string | Date;
}

/**
 * The corrections `userId` received, newest first, `limit + 1` rows from `after` (one round trip on
 * the HTTP path): every correction message that corrects a message `userId` sent, with the text
 * it corrected and who corrected it (null once that account is deleted). A learner's own
 * corrections of a partner are not in it.
 */
export async function listCorrections(
  db: Database,
  userId: string,
  limit: number,
  after?: KeysetPosition,
): Promise<CorrectionRow[]> {
  const result = await db.execute<CorrectionRow>(sql`
    select c.id, c.session_id, o.text as original, c.text as corrected, c.sender_id as corrector_id,
      p.display_name as corrector_name, c.created_at
    from messages o
    join messages c on c.corrects_id = o.id and c.type = 'correction' and c.deleted_at is null
    left join profiles p on p.user_id = c.sender_id
    where o.sender_id = ${userId}
      ${after ? sql`and (c.created_at, c.id) < (${after.at}, ${after.id}::uuid)` : sql``}
    order by c.created_at desc, c.id desc
    limit ${limit + 1}
  `);
  return result.rows;
}
