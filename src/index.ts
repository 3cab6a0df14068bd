import { app } from "./app";
import { sweep } from "./cron/sweep";

export { Matchmaker } from "./durable-objects/matchmaker";
export { SessionRoom } from "./durable-objects/session-room";

export default {
  fetch: app.fetch,
  scheduled: sweep,
} satisfies ExportedHandler<Env>;
