-- The seed's DDL (TASK_PHASE_CITY_BACKEND_FINISHER.md, section 2), verbatim in meaning.

CREATE TABLE "city_rooms" (
    "id" TEXT PRIMARY KEY,
    "slug" TEXT NOT NULL UNIQUE,
    "name" TEXT NOT NULL,
    "description" TEXT NULL,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "created_by" TEXT NULL
);
CREATE INDEX "ix_city_rooms_slug" ON "city_rooms"("slug");

CREATE TABLE "city_room_messages" (
    "id" TEXT PRIMARY KEY,
    "room_id" TEXT NOT NULL REFERENCES "city_rooms"("id") ON DELETE CASCADE,
    "author_user_id" TEXT NULL,
    "author_agent_id" TEXT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "ix_city_room_messages_room_time" ON "city_room_messages"("room_id", "created_at" DESC);

CREATE TABLE "city_feed_events" (
    "id" TEXT PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "room_id" TEXT NULL REFERENCES "city_rooms"("id") ON DELETE SET NULL,
    "user_id" TEXT NULL,
    "agent_id" TEXT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "ix_city_feed_time" ON "city_feed_events"("created_at" DESC);

CREATE TABLE "secondme_sessions" (
    "id" TEXT PRIMARY KEY,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE "secondme_messages" (
    "id" TEXT PRIMARY KEY,
    "session_id" TEXT NOT NULL REFERENCES "secondme_sessions"("id") ON DELETE CASCADE,
    "user_id" TEXT NOT NULL,
    "role" TEXT NOT NULL CHECK ("role" IN ('user', 'assistant')),
    "content" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "ix_secondme_messages_session_time" ON "secondme_messages"("session_id", "created_at" DESC);
