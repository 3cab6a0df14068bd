import { decodeOffsetCursor, encodeOffsetCursor } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { searchMessages, toMessageView } from "../../services/messages";
import { voiceNoteSigner } from "../../services/uploads";
import type { SearchRoute } from "./messages.routes";

export const search: AppRouteHandler<SearchRoute> = async (c) => {
  const { q, cursor, limit } = c.req.valid("query");
  const offset = cursor ? decodeOffsetCursor(cursor) : 0;
  const hits = await searchMessages(c.get("services").db, currentUser(c).userId, q, limit, offset);
  const signVoiceNote = voiceNoteSigner(c.get("config").s3, new Date());
  return c.json(
    {
      items: await Promise.all(
        hits
          .slice(0, limit)
          .map(async (hit) => ({ ...(await toMessageView(hit, signVoiceNote)), score: Number(hit.score) })),
      ),
      next_cursor: hits.length > limit ? encodeOffsetCursor(offset + limit) : null,
    },
    200,
  );
};
