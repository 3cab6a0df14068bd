import { createRouter } from "../../lib/create-router";
import * as handlers from "./sessions.handlers";
import * as routes from "./sessions.routes";

export const sessionsRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.end, handlers.end)
  .openapi(routes.sendMessage, handlers.sendMessage)
  .openapi(routes.markRead, handlers.markRead)
  .openapi(routes.editMessage, handlers.editMessage)
  .openapi(routes.deleteMessage, handlers.deleteMessage)
  .openapi(routes.listMessages, handlers.listMessages)
  .openapi(routes.socket, handlers.socket)
  .openapi(routes.iceServers, handlers.iceServers);
