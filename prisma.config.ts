// Prisma CLI configuration. The CLI is used here only for `prisma generate`; migrations are
// applied by our own runner (src/infra/db/migrate.ts) because `prisma migrate` needs a native
// schema engine that cannot be downloaded offline. Both agree on prisma/migrations and on
// the _prisma_migrations table, so `prisma migrate deploy` elsewhere sees the same history.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/city" },
});
