import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, inject, it } from "vitest";

/** The local Upstash REST endpoint, driven by the very clients the Worker uses. */
const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = inject("stack");
const redis = new Redis({ url, token, enableTelemetry: false });
const key = (name: string) => `test:${crypto.randomUUID()}:${name}`;

describe("the Upstash REST endpoint", () => {
  it("runs single commands: set with expiry, get, ttl, incr, del", async () => {
    const name = key("greeting");
    expect(await redis.set(name, "salom dunyo", { ex: 60 })).toBe("OK");
    expect(await redis.get(name)).toBe("salom dunyo");
    const ttl = await redis.ttl(name);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    const counter = key("counter");
    expect(await redis.incr(counter)).toBe(1);
    expect(await redis.incrby(counter, 41)).toBe(42);
    expect(await redis.del(name, counter)).toBe(2);
    expect(await redis.get(name)).toBeNull();
  });

  it("keeps non-ASCII text and JSON values intact through base64 encoding", async () => {
    const name = key("json");
    const value = { text: "Oʻzbekcha — ünïcödé ✓", n: 7, list: ["a", "b"] };
    await redis.set(name, value);
    expect(await redis.get(name)).toEqual(value);
  });

  it("expires keys", async () => {
    const name = key("short");
    await redis.set(name, "x");
    expect(await redis.expire(name, 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await redis.exists(name)).toBe(0);
  });

  it("runs a pipeline in order and reports each result", async () => {
    const online = key("online");
    const pipeline = redis.pipeline();
    pipeline.zadd(online, { score: 1, member: "u1" }, { score: 2, member: "u2" });
    pipeline.zcard(online);
    pipeline.zrange(online, 0, -1);
    pipeline.expire(online, 30);
    expect(await pipeline.exec()).toEqual([2, 2, ["u1", "u2"], 1]);
  });

  it("runs multi-exec atomically", async () => {
    const a = key("a");
    const transaction = redis.multi();
    transaction.set(a, 1);
    transaction.incr(a);
    transaction.get(a);
    expect(await transaction.exec()).toEqual(["OK", 2, 2]);
  });

  it("runs Lua with EVAL and EVALSHA", async () => {
    const name = key("lua");
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";
    expect(await redis.eval(script, [name], ["from-lua"])).toBe("from-lua");
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, [name], ["again"])).toBe("again");
  });

  it("accepts Upstash's own script flags, by EVAL and then by the original script's SHA", async () => {
    const name = key("flagged");
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script));
    const sha = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    expect(await redis.eval(script, [name], [])).toBe(1);
    expect(await redis.evalsha(sha, [name], [])).toBe(2);
  });

  it("answers Redis errors as Upstash does", async () => {
    const name = key("list");
    await redis.lpush(name, "x");
    await expect(redis.incr(name)).rejects.toThrow(/WRONGTYPE/);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("refuses a wrong token", async () => {
    const intruder = new Redis({ url, token: "wrong", enableTelemetry: false, retry: false });
    await expect(intruder.get("anything")).rejects.toThrow(/Unauthorized/);
  });

  it("serves @upstash/ratelimit's scripts: the limit holds and then refuses", async () => {
    const limiter = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(3, "60 s"), prefix: key("rl") });
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await limiter.limit("someone"));
    expect(results.map((result) => result.success)).toEqual([true, true, true, false]);
    expect(results[3]?.remaining).toBe(0);
  });
});
