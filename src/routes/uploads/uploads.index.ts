import { createRouter } from "../../lib/create-router";
import * as handlers from "./uploads.handlers";
import * as routes from "./uploads.routes";

export const uploadsRouter = createRouter().openapi(routes.presign, handlers.presign);
