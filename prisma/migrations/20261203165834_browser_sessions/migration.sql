-- CreateEnum
CREATE TYPE "browser_session_kind" AS ENUM ('console', 'setup');

-- CreateTable
CREATE TABLE "setup_link" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection_id" UUID,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by_type" TEXT NOT NULL,
    "created_by_id" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "setup_link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "browser_session" (
    "id" UUID NOT NULL,
    "hash" TEXT NOT NULL,
    "kind" "browser_session_kind" NOT NULL,
    "api_key_id" UUID,
    "admin" BOOLEAN NOT NULL DEFAULT false,
    "admin_key_hash" TEXT,
    "organization_id" UUID,
    "connection_id" UUID,
    "setup_link_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "browser_session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "setup_link_hash_key" ON "setup_link"("hash");

-- CreateIndex
CREATE INDEX "setup_link_organization_id_created_at_idx" ON "setup_link"("organization_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "browser_session_hash_key" ON "browser_session"("hash");

-- CreateIndex
CREATE INDEX "browser_session_api_key_id_idx" ON "browser_session"("api_key_id");

-- CreateIndex
CREATE INDEX "browser_session_setup_link_id_idx" ON "browser_session"("setup_link_id");

-- AddForeignKey
ALTER TABLE "setup_link" ADD CONSTRAINT "setup_link_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "setup_link" ADD CONSTRAINT "setup_link_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "browser_session" ADD CONSTRAINT "browser_session_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_key"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "browser_session" ADD CONSTRAINT "browser_session_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "browser_session" ADD CONSTRAINT "browser_session_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "browser_session" ADD CONSTRAINT "browser_session_setup_link_id_fkey" FOREIGN KEY ("setup_link_id") REFERENCES "setup_link"("id") ON DELETE CASCADE ON UPDATE CASCADE;
