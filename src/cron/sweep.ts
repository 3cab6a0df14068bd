import { log } from "../lib/logger";

/** The every-minute Cron Trigger. */
export const sweep: ExportedHandlerScheduledHandler<Env> = async (controller) => {
  log("info", "cron sweep", {
    cron: controller.cron,
    scheduled_time: new Date(controller.scheduledTime).toISOString(),
  });
};
