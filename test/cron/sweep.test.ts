import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the every-minute cron trigger", () => {
  it("runs the sweep and logs it as one structured line", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const controller = createScheduledController({
      cron: "* * * * *",
      scheduledTime: Date.parse("2026-11-26T12:00:00Z"),
    });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: "cron sweep", cron: "* * * * *", scheduled_time: "2026-11-26T12:00:00.000Z" }),
    );
  });
});
