import { NeonDbError, neon, neonConfig } from "@neondatabase/serverless";
import { describe, expect, inject, it } from "vitest";

/*
 * The local stand-in of Neon's SQL-over-HTTP endpoint, driven by the serverless driver itself, as
 * the Worker drives Neon: values come back as Postgres text for the driver's own type parsers,
 * errors in Neon's shape, batches as one transaction.
 */
const { DATABASE_URL, NEON_HTTP_ENDPOINT } = inject("stack");
neonConfig.fetchEndpoint = NEON_HTTP_ENDPOINT;
const sql = neon(DATABASE_URL);
const table = `http_probe_${crypto.randomUUID().replaceAll("-", "")}`;

describe("the local Neon HTTP endpoint", () => {
  it("returns each value as Postgres text with its type's OID, for the driver's type parsers", async () => {
    // The parsers the driver would pick are global and drizzle replaces some of them when it loads
    // (timestamps stay text), so the check reads the wire itself: the text and the type of each column.
    const raw = { getTypeParser: () => (text: string) => text };
    const id = crypto.randomUUID();
    const result = await sql.query(
      `select $1::uuid as id, '2026-11-26T12:34:56.789Z'::timestamptz as at, 9007199254740993::int8 as big,
        12.50::numeric as amount, '{"a": [1, "two"]}'::jsonb as doc, array['x', 'y z']::text[] as tags,
        true as yes, null::text as nothing, 42 as answer`,
      [id],
      { fullResults: true, types: raw },
    );
    expect(result.rows).toEqual([
      {
        id,
        at: "2026-11-26 12:34:56.789+00",
        big: "9007199254740993",
        amount: "12.50",
        doc: '{"a": [1, "two"]}',
        tags: '{x,"y z"}',
        yes: "t",
        nothing: null,
        answer: "42",
      },
    ]);
    // pg's OIDs: uuid, timestamptz, int8, numeric, jsonb, text[], bool, text, int4.
    expect(result.fields.map((field) => field.dataTypeID)).toEqual([2950, 1184, 20, 1700, 3802, 1009, 16, 25, 23]);
  });

  it("answers full results and array mode as the driver asks", async () => {
    const result = await sql.query("select $1::int + 1 as next", [41], { fullResults: true, arrayMode: true });
    expect(result.rows).toEqual([[42]]);
    expect(result.fields.map((field) => field.name)).toEqual(["next"]);
    expect(result.command).toBe("SELECT");
    expect(result.rowCount).toBe(1);
  });

  it("raises NeonDbError with Postgres's code, constraint and detail", async () => {
    await sql.query(`create table ${table} (id int primary key, name text not null)`);
    await sql.query(`insert into ${table} values (1, 'first')`);
    const error = await sql.query(`insert into ${table} values (1, 'again')`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505", constraint: `${table}_pkey`, table });
    expect((error as NeonDbError).detail).toContain("(id)=(1)");
    const syntax = await sql.query("selec 1").catch((caught: unknown) => caught);
    expect(syntax).toMatchObject({ code: "42601" });
  });

  it("runs a batch as one transaction: a failing statement rolls back the ones before it", async () => {
    const failed = await sql
      .transaction([
        sql.query(`insert into ${table} values (2, 'in the batch')`),
        sql.query(`insert into ${table} values (1, 'a duplicate')`),
      ])
      .catch((caught: unknown) => caught);
    expect(failed).toMatchObject({ code: "23505" });
    expect(await sql.query(`select id from ${table} order by id`)).toEqual([{ id: 1 }]);

    const [inserted, counted] = await sql.transaction(
      [
        sql.query(`insert into ${table} values (3, 'kept') returning id`),
        sql.query(`select count(*)::int as n from ${table}`),
      ],
      { isolationLevel: "Serializable" },
    );
    expect([inserted, counted]).toEqual([[{ id: 3 }], [{ n: 2 }]]);
    const readOnly = await sql
      .transaction([sql.query(`insert into ${table} values (4, 'refused')`)], { readOnly: true })
      .catch((caught: unknown) => caught);
    expect(readOnly).toMatchObject({ code: "25006" });
  });

  it("serves many requests at once, each with its own parameters", async () => {
    const values = Array.from({ length: 40 }, (_, i) => i);
    const answers = await Promise.all(
      values.map((value) => sql.query("select $1::int * 2 as doubled, pg_sleep(0.01)", [value])),
    );
    expect(answers.map((rows) => rows[0]?.doubled)).toEqual(values.map((value) => value * 2));
  });
});
