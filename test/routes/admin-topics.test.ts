import { beforeAll, describe, expect, it } from "vitest";
import { levels } from "../../src/db/schema/enums";
import type { AdminTopicView, TopicView } from "../../src/services/topics";
import { bearer, type SignedIn, signIn } from "../support/auth";
import { api, postJson, readProblem } from "../support/http";
import { attempt, learner } from "../support/match";
import { endWith } from "../support/sessions";

/*
 * Admins manage what learners talk about (SPEC §10): every level starts with at least twelve
 * topics, an admin adds, edits and retires them, each change audited, and a retired topic is
 * never chosen again.
 */
let admin: SignedIn;

beforeAll(async () => {
  // ADMIN_EMAILS (see vitest.config.ts) makes this address an admin when it signs in.
  admin = await signIn("topics-admin@gaplash.test");
});

const asAdmin = (path: string, init: RequestInit = {}) =>
  api(path, { ...init, headers: { ...bearer(admin), ...init.headers } });

const patchTopic = (id: string, body: unknown) =>
  postJson(`/admin/topics/${id}`, body, { method: "PATCH", headers: bearer(admin) });

async function allTopics(query: string): Promise<AdminTopicView[]> {
  const items: AdminTopicView[] = [];
  let cursor: string | null = null;
  do {
    const response = await asAdmin(`/admin/topics?limit=50&${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: AdminTopicView[]; next_cursor: string | null };
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** A topic only learners with `tag` among their interests prefer: nothing else carries it. */
async function topicFor(tag: string): Promise<AdminTopicView> {
  const response = await postJson(
    "/admin/topics",
    {
      level: "B2",
      title: `Collecting ${tag}`,
      prompts: ["What do you collect, and why?", "How did it start?", "What is the piece you value most?"],
      tags: [tag],
    },
    { headers: bearer(admin) },
  );
  expect(response.status).toBe(201);
  return (await response.json()) as AdminTopicView;
}

async function sessionTopicFor(tag: string): Promise<{ topic: TopicView | null; end: () => Promise<Response> }> {
  const [a, b] = [await learner("B2"), await learner("B2")];
  for (const who of [a, b]) {
    expect((await postJson("/me", { interests: [tag] }, { method: "PATCH", headers: bearer(who) })).status).toBe(200);
  }
  expect((await attempt(a, "B2")).status).toBe(202);
  const matched = await attempt(b, "B2");
  expect(matched.status).toBe(200);
  return { topic: matched.body.topic ?? null, end: () => endWith(a, matched.body.session_id ?? "", { rating: 4 }) };
}

describe("GET /admin/topics", () => {
  it("lists at least twelve active topics of every CEFR level, each with three to five prompts", async () => {
    for (const level of levels) {
      const topics = await allTopics(`level=${level}&active=true`);
      expect(topics.length, level).toBeGreaterThanOrEqual(12);
      for (const topic of topics) {
        expect(topic).toMatchObject({ level, active: true });
        expect(topic.prompts.length).toBeGreaterThanOrEqual(3);
        expect(topic.prompts.length).toBeLessThanOrEqual(5);
      }
    }
  });

  it("is for admins only", async () => {
    const learnerSession = await signIn();
    expect((await api("/admin/topics", { headers: bearer(learnerSession) })).status).toBe(403);
    expect((await postJson("/admin/topics", {}, { headers: bearer(learnerSession) })).status).toBe(403);
  });
});

describe("POST and PATCH /admin/topics", () => {
  it("adds a topic that sessions choose, retires it so none does again, and audits both", async () => {
    const tag = `tag-${crypto.randomUUID().slice(0, 8)}`;
    const added = await topicFor(tag);
    expect(added).toMatchObject({ level: "B2", active: true, tags: [tag] });
    const chosen = await sessionTopicFor(tag);
    expect(chosen.topic?.id).toBe(added.id);
    await chosen.end();

    const retired = await patchTopic(added.id, { active: false });
    expect(retired.status).toBe(200);
    expect(await retired.json()).toMatchObject({ id: added.id, active: false, title: added.title });
    const after = await sessionTopicFor(tag);
    expect(after.topic?.id).not.toBe(added.id);
    await after.end();
    expect((await allTopics("level=B2&active=false")).map((topic) => topic.id)).toContain(added.id);

    const log = (await (await asAdmin("/admin/audit-logs?limit=50")).json()) as {
      items: { action: string; target_id: string; metadata: Record<string, unknown> }[];
    };
    const entries = log.items.filter((entry) => entry.target_id === added.id);
    expect(entries.map((entry) => entry.action)).toEqual(["topic.update", "topic.create"]);
    expect(entries[0]?.metadata).toEqual({ before: { active: true }, after: { active: false } });
  });

  it("edits only the fields sent", async () => {
    const added = await topicFor(`tag-${crypto.randomUUID().slice(0, 8)}`);
    const edited = await patchTopic(added.id, { title: "  Collections  ", tags: ["Art", "art", "history"] });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({
      title: "Collections",
      tags: ["art", "history"],
      prompts: added.prompts,
      level: "B2",
      active: true,
    });
    await patchTopic(added.id, { active: false });
  });

  it("refuses a topic without three to five visible prompts, or an empty edit, and changes nothing", async () => {
    const tooFew = await postJson(
      "/admin/topics",
      { level: "A1", title: "Too short", prompts: ["One?", "Two?"] },
      { headers: bearer(admin) },
    );
    expect(tooFew.status).toBe(400);
    expect((await readProblem(tooFew)).errors?.map((error) => error.field)).toEqual(["body.prompts"]);
    const invisible = await postJson(
      "/admin/topics",
      { level: "A1", title: "\u200b\u200b", prompts: ["One?", "Two?", "Three?"] },
      { headers: bearer(admin) },
    );
    expect(invisible.status).toBe(400);
    const repeated = await postJson(
      "/admin/topics",
      { level: "A1", title: "Repeated", prompts: ["Same?", "same? ", "Other?"] },
      { headers: bearer(admin) },
    );
    expect(repeated.status).toBe(400);
    expect((await readProblem(repeated)).errors?.map((error) => error.field)).toEqual(["body.prompts"]);
    expect((await allTopics("level=A1")).map((topic) => topic.title)).not.toContain("Too short");

    const added = await topicFor(`tag-${crypto.randomUUID().slice(0, 8)}`);
    expect((await patchTopic(added.id, {})).status).toBe(400);
    // A topic keeps the level it was written for.
    expect((await patchTopic(added.id, { level: "C2" })).status).toBe(400);
    const missing = await patchTopic(crypto.randomUUID(), { active: false });
    expect(missing.status).toBe(404);
    expect((await readProblem(missing)).code).toBe("NOT_FOUND");
    await patchTopic(added.id, { active: false });
  });
});
