-- What CONTRACT.md needs beyond the seed. Adds only; no seed name or meaning changes.

-- Per-room order (CONTRACT §7): the room row is the counter and the lock. A message takes
-- last_seq + 1 in the same statement that inserts it, so seq order is commit order per room.
ALTER TABLE "city_rooms"
    ADD COLUMN "last_seq" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "last_message_at" TIMESTAMPTZ NULL;

ALTER TABLE "city_room_messages"
    ADD COLUMN "seq" BIGINT NOT NULL,
    ADD COLUMN "client_message_id" TEXT NULL,
    ADD COLUMN "author_name" TEXT NULL,
    ADD CONSTRAINT "ck_city_room_messages_one_author"
        CHECK (num_nonnulls("author_user_id", "author_agent_id") = 1);

CREATE UNIQUE INDEX "ux_city_room_messages_room_seq" ON "city_room_messages"("room_id", "seq");

-- Idempotency: one message per (room, author, client_message_id).
CREATE UNIQUE INDEX "ux_city_room_messages_client_id"
    ON "city_room_messages"("room_id", (COALESCE("author_user_id", "author_agent_id")), "client_message_id")
    WHERE "client_message_id" IS NOT NULL;

-- Feed pages: newest first with a stable tie-break on id.
CREATE INDEX "ix_city_feed_time_id" ON "city_feed_events"("created_at" DESC, "id" DESC);

-- Second Me: the user's latest session and history.
CREATE INDEX "ix_secondme_sessions_user_time" ON "secondme_sessions"("user_id", "created_at" DESC);
CREATE INDEX "ix_secondme_messages_user_time" ON "secondme_messages"("user_id", "created_at" DESC, "id" DESC);
