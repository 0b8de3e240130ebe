-- AlterTable
ALTER TABLE "directory_connection" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "first_request_at" TIMESTAMPTZ(3),
ADD COLUMN     "first_sync_completed_at" TIMESTAMPTZ(3),
ADD COLUMN     "last_failure_at" TIMESTAMPTZ(3),
ADD COLUMN     "last_success_at" TIMESTAMPTZ(3),
ADD COLUMN     "recent_failures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "status_changed_at" TIMESTAMPTZ(3),
ALTER COLUMN "status" SET DEFAULT 'AWAITING_FIRST_REQUEST';

-- CreateTable
CREATE TABLE "scim_token" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "last_four" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "expiring_notified_at" TIMESTAMPTZ(3),

    CONSTRAINT "scim_token_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "scim_token_hash_key" ON "scim_token"("hash");

-- CreateIndex
CREATE INDEX "scim_token_connection_id_idx" ON "scim_token"("connection_id");

-- AddForeignKey
ALTER TABLE "scim_token" ADD CONSTRAINT "scim_token_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Each connection's existing token becomes its "Initial token" (only its hash was ever kept).
INSERT INTO "scim_token" ("id", "organization_id", "connection_id", "name", "hash", "created_at")
SELECT gen_random_uuid(), "organization_id", "id", 'Initial token', "token_hash", "created_at"
FROM "directory_connection" WHERE "token_hash" IS NOT NULL;

-- Connections that existed before the lifecycle states were working ones.
UPDATE "directory_connection" SET "status_changed_at" = "updated_at";

-- DropIndex
DROP INDEX "directory_connection_token_hash_key";

ALTER TABLE "directory_connection" DROP COLUMN "token_hash";
