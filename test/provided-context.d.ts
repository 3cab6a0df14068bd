import type { FaultFixtures, StackBindings } from "../scripts/stack/bindings.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackBindings;
    database: "pglite" | "postgres";
    fixtures: FaultFixtures;
  }
}
