-- The trigram index on messages.text needs pg_trgm (Neon, PGlite and PostgreSQL ship it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
