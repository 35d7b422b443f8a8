import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  // The domain's tables, and those of messaging and delivery (outbox, idempotency keys, webhooks).
  schema: ["./src/db/schema.ts", "./src/db/schema-messaging.ts"],
  out: "./migrations",
});
