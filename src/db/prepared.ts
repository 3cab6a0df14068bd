/**
 * A statement that drizzle builds once per database client instead of on every call: building
 * the SQL of a relational query is a good share of a short request's CPU. A prepared statement
 * belongs to the client that prepared it, so each client gets its own; the isolate's shared HTTP
 * database keeps its statements as long as the isolate lives. Only for the HTTP path: over a
 * pool a named statement is prepared on the server connection, which a transaction-mode pooler
 * (Neon's PgBouncer) hands from one client to the next.
 */
export function preparedPerClient<Client extends object, Statement>(
  prepare: (db: Client) => Statement,
): (db: Client) => Statement {
  const prepared = new WeakMap<Client, Statement>();
  return (db) => {
    const made = prepared.get(db);
    if (made) return made;
    const statement = prepare(db);
    prepared.set(db, statement);
    return statement;
  };
}
