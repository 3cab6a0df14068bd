import { afterAll, describe, expect, it } from "vitest";
import { bearer, latestCode, type SignedIn } from "../support/auth";
import { type OpenApiDocument, publishedDocument } from "../support/contract";
import { makeAdmin, testDatabase } from "../support/db";
import { api, readProblem } from "../support/http";
import { cancelAttempt, learner, ping } from "../support/match";
import { pairInSession } from "../support/sessions";

/*
 * The request examples in the document are what an integrator copies first (Swagger UI's "Try it
 * out", Postman's generated requests), so each must be accepted as it stands. The body is
 * composed from the document as those tools compose it; only references to things that must
 * exist — path ids, a login id and its mailed code, a refresh token, a report's target — are
 * replaced by live ones.
 */

const handle = testDatabase();
afterAll(() => handle.close());

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;

/** The body a tool would fill in from the document: schema examples first, then per property. */
function composeExample(document: OpenApiDocument, schema: Schema, missing: string[], at: string): Json | undefined {
  const components = (document.components as { schemas: Record<string, Schema> }).schemas;
  let resolved = schema;
  while (typeof resolved.$ref === "string") {
    const name = resolved.$ref.split("/").pop() ?? "";
    resolved = components[name] ?? {};
  }
  if (resolved.example !== undefined) return resolved.example as Json;
  const options = (resolved.oneOf ?? resolved.anyOf) as Schema[] | undefined;
  if (options?.[0]) return composeExample(document, options[0], missing, at);
  const properties = resolved.properties as Record<string, Schema> | undefined;
  if (!properties) return undefined;
  const required = (resolved.required as string[] | undefined) ?? [];
  const body: Record<string, Json> = {};
  for (const [name, property] of Object.entries(properties)) {
    const value = composeExample(document, property, missing, `${at}.${name}`);
    if (value !== undefined) body[name] = value;
    else if (required.includes(name)) missing.push(`${at}.${name}`);
  }
  return body;
}

interface Live {
  token?: SignedIn;
  path?: string;
  replace?: Record<string, Json>;
}

describe("request examples", () => {
  it("has one for every body an operation takes, and the API accepts each as the document says", async () => {
    const document = await publishedDocument();
    const bodies = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) => {
        const content = (operation as { requestBody?: { content: Record<string, { schema: Schema }> } }).requestBody
          ?.content["application/json"];
        return content ? [{ path, method, operation, schema: content.schema }] : [];
      }),
    );

    const missing: string[] = [];
    const examples = new Map(
      bodies.map(({ operation, schema }) => [
        operation.operationId,
        composeExample(document, schema, missing, operation.operationId),
      ]),
    );
    expect(missing, "required fields without an example").toEqual([]);

    // The live things the examples refer to.
    const exampleEmail = (examples.get("requestEmailCode") as { email: string }).email;
    const { a, b, sessionId } = await pairInSession(handle, ["Example A", "Example B"]);
    const matcher = await learner("B1", "Example matcher");
    await ping(matcher);
    const admin = await learner("B2", "Example admin");
    await makeAdmin(handle, admin.user.id);
    let signedIn: SignedIn | undefined;
    let loginId = "";
    let reportId = "";
    let topicId = "";
    let messageId = "";

    // In this order: a sign-in before its refresh, a report before it is closed, the session's
    // message before its end, a topic before its edit (the example retires it).
    const live: [string, () => Live | Promise<Live>][] = [
      ["requestEmailCode", () => ({})],
      ["verifyEmailCode", async () => ({ replace: { login_id: loginId, code: await latestCode(exampleEmail) } })],
      ["refreshTokens", () => ({ replace: { refresh_token: signedIn?.refresh_token ?? "" } })],
      ["logout", () => ({ replace: { refresh_token: signedIn?.refresh_token ?? "" } })],
      ["updateMe", () => ({ token: a })],
      ["uploadAvatar", () => ({ token: a })],
      ["presignUpload", () => ({ token: a })],
      ["attemptMatch", () => ({ token: matcher })],
      ["sendMessage", () => ({ token: a, path: `/sessions/${sessionId}/messages` })],
      ["markRead", () => ({ token: b, path: `/sessions/${sessionId}/read`, replace: { up_to: messageId } })],
      ["editMessage", () => ({ token: a, path: `/sessions/${sessionId}/messages/${messageId}` })],
      ["endSession", () => ({ token: a, path: `/sessions/${sessionId}/end` })],
      ["fileReport", () => ({ token: a, replace: { target_user_id: b.user.id } })],
      ["reportAndLeave", () => ({ token: a, path: `/sessions/${sessionId}/report-and-leave` })],
      ["closeReport", () => ({ token: admin, path: `/admin/reports/${reportId}/close` })],
      ["setUserRole", () => ({ token: admin, path: `/admin/users/${b.user.id}/role` })],
      ["createTopic", () => ({ token: admin })],
      ["updateTopic", () => ({ token: admin, path: `/admin/topics/${topicId}` })],
    ];
    expect(live.map(([id]) => id).sort(), "every body-taking operation is tried").toEqual([...examples.keys()].sort());

    for (const [operationId, describeLive] of live) {
      const found = bodies.find((body) => body.operation.operationId === operationId);
      if (!found) throw new Error(`no operation ${operationId}`);
      const { token, path, replace } = await describeLive();
      const body = { ...(examples.get(operationId) as Record<string, Json>), ...replace };
      const response = await api(path ?? found.path, {
        method: found.method.toUpperCase(),
        headers: { "content-type": "application/json", ...(token ? bearer(token) : {}) },
        body: JSON.stringify(body),
      });
      const success = Object.keys(found.operation.responses).filter((status) => status.startsWith("2"));
      const detail = response.status >= 400 ? (await readProblem(response.clone())).detail : "";
      expect(success, `${operationId} answered ${response.status} ${detail}`).toContain(String(response.status));

      if (operationId === "requestEmailCode") loginId = ((await response.json()) as { login_id: string }).login_id;
      if (operationId === "verifyEmailCode" || operationId === "refreshTokens") {
        signedIn = (await response.json()) as SignedIn;
      }
      if (operationId === "fileReport") reportId = ((await response.json()) as { id: string }).id;
      if (operationId === "createTopic") topicId = ((await response.json()) as { id: string }).id;
      if (operationId === "sendMessage") messageId = ((await response.json()) as { id: string }).id;
    }
    await cancelAttempt(matcher);
  });
});
