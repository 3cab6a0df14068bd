import { decodeRankedCursor, encodeRankedCursor } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { searchMessages, toMessageView } from "../../services/messages";
import { voiceNoteSigner } from "../../services/uploads";
import type { SearchRoute } from "./messages.routes";

export const search: AppRouteHandler<SearchRoute> = async (c) => {
  const { q, cursor, limit } = c.req.valid("query");
  const after = cursor ? decodeRankedCursor(cursor) : undefined;
  const hits = await searchMessages(c.get("services").db, currentUser(c).userId, q, limit, after);
  const page = hits.slice(0, limit);
  const last = page.at(-1);
  const signVoiceNote = voiceNoteSigner(c.get("config").s3, new Date());
  return c.json(
    {
      items: await Promise.all(
        page.map(async (hit) => ({ ...(await toMessageView(hit, signVoiceNote)), score: Number(hit.score) })),
      ),
      next_cursor:
        hits.length > limit && last
          ? encodeRankedCursor({ score: last.score, at: new Date(last.created_at), id: last.id })
          : null,
    },
    200,
  );
};
