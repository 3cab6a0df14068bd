import { createRouter } from "../../lib/create-router";
import { requireAdmin } from "../../middleware/admin";
import { requireAuth } from "../../middleware/auth";
import * as handlers from "./admin.handlers";
import * as routes from "./admin.routes";

const router = createRouter();
// Every /admin route, declared or not, is for admins only: nobody else learns what exists there.
router.use("/admin/*", requireAuth, requireAdmin);

export const adminRouter = router
  .openapi(routes.listReports, handlers.listReports)
  .openapi(routes.getReport, handlers.getReport)
  .openapi(routes.closeReport, handlers.closeReport)
  .openapi(routes.suspendUser, handlers.suspendUser)
  .openapi(routes.unsuspendUser, handlers.unsuspendUser)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.setRole, handlers.setRole)
  .openapi(routes.overview, handlers.overview)
  .openapi(routes.queues, handlers.queues)
  .openapi(routes.auditLogs, handlers.auditLogs)
  .openapi(routes.listTopics, handlers.listTopics)
  .openapi(routes.createTopic, handlers.createTopic)
  .openapi(routes.updateTopic, handlers.updateTopic);
