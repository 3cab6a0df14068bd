import { decodeRankedCursor, encodeRankedCursor, toPage } from "../../lib/pagination";
import type { AppRouteHandler } from "../../lib/types";
import { currentUser } from "../../middleware/auth";
import { searchMessages, toMessageView } from "../../services/messages";
import { voiceNoteSigner } from "../../services/uploads";
import type { SearchRoute } from "./messages.routes";

export const search: AppRouteHandler<SearchRoute> = async (c) => {
  const { q, cursor, limit } = c.req.valid("query");
  const after = cursor ? decodeRankedCursor(cursor) : undefined;
  const hits = await searchMessages(c.get("services").db, currentUser(c).userId, q, limit, after);
  const signVoiceNote = voiceNoteSigner(c.get("config").s3, new Date());
  return c.json(
    await toPage(
      hits,
      limit,
      (hit) => ({ score: hit.score, at: new Date(hit.created_at), id: hit.id }),
      async (hit) => ({ ...(await toMessageView(hit, signVoiceNote)), score: Number(hit.score) }),
      encodeRankedCursor,
    ),
    200,
  );
};
