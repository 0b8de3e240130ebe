-- CreateEnum
CREATE TYPE "ConnectionStatus" AS ENUM ('ACTIVE', 'PAUSED');

-- CreateEnum
CREATE TYPE "DeprovisionPolicy" AS ENUM ('SOFT', 'HARD_DELETE');

-- CreateEnum
CREATE TYPE "UserState" AS ENUM ('ACTIVE', 'DEPROVISIONED', 'DELETED');

-- CreateEnum
CREATE TYPE "IdentityLinking" AS ENUM ('NONE', 'EXTERNAL_ID', 'VERIFIED_EMAIL');

-- CreateEnum
CREATE TYPE "RevocationStatus" AS ENUM ('NOT_REQUIRED', 'PENDING', 'CONFIRMED', 'FAILED');

-- CreateEnum
CREATE TYPE "SyncStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "organization" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "role_ranking" TEXT[] DEFAULT ARRAY['viewer', 'member', 'admin']::TEXT[],
    "default_role" TEXT DEFAULT 'member',
    "identity_linking" "IdentityLinking" NOT NULL DEFAULT 'NONE',
    "authoritative_connection_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "directory_connection" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" "ConnectionStatus" NOT NULL DEFAULT 'ACTIVE',
    "test_mode" BOOLEAN NOT NULL DEFAULT false,
    "deprovision_policy" "DeprovisionPolicy" NOT NULL DEFAULT 'SOFT',
    "config" JSONB NOT NULL DEFAULT '{}',
    "secrets_ciphertext" TEXT,
    "token_hash" TEXT,
    "denied_attributes" TEXT[] DEFAULT ARRAY['ssn', 'socialSecurityNumber', 'nationalId', 'nationalIdentifier', 'taxId', 'passportNumber', 'password', 'dateOfBirth', 'birthDate']::TEXT[],
    "deprovision_on_drift" BOOLEAN NOT NULL DEFAULT false,
    "cursor" TEXT,
    "last_synced_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "directory_connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "directory_user" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "source_id" TEXT NOT NULL,
    "external_id" TEXT,
    "user_name" TEXT,
    "user_name_key" TEXT,
    "external_id_key" TEXT,
    "email" TEXT,
    "emails" JSONB NOT NULL DEFAULT '[]',
    "given_name" TEXT,
    "family_name" TEXT,
    "display_name" TEXT,
    "title" TEXT,
    "department" TEXT,
    "employee_number" TEXT,
    "manager" JSONB,
    "custom_attributes" JSONB NOT NULL DEFAULT '{}',
    "source_data" JSONB NOT NULL DEFAULT '{}',
    "state" "UserState" NOT NULL DEFAULT 'ACTIVE',
    "source_active" BOOLEAN NOT NULL DEFAULT true,
    "deprovisioned_at" TIMESTAMPTZ(3),
    "deprovision_reason" TEXT,
    "source_deleted_at" TIMESTAMPTZ(3),
    "source_updated_at" TIMESTAMPTZ(3),
    "last_synced_at" TIMESTAMPTZ(3),
    "roles" JSONB NOT NULL DEFAULT '{}',
    "is_admin" BOOLEAN NOT NULL DEFAULT false,
    "person_key" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "directory_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "directory_group" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "source_id" TEXT NOT NULL,
    "external_id" TEXT,
    "display_name" TEXT NOT NULL,
    "display_name_key" TEXT,
    "source_data" JSONB NOT NULL DEFAULT '{}',
    "deleted_at" TIMESTAMPTZ(3),
    "source_updated_at" TIMESTAMPTZ(3),
    "member_count" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "directory_group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "group_membership" (
    "group_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "suspended_at" TIMESTAMPTZ(3),
    "removed_at" TIMESTAMPTZ(3),
    "source_updated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_membership_pkey" PRIMARY KEY ("group_id","user_id")
);

-- CreateTable
CREATE TABLE "group_mapping" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "group_id" UUID NOT NULL,
    "role" TEXT,
    "workspace" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_mapping_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "connection_id" UUID,
    "external_ref" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_reason" TEXT,
    "revocation_status" "RevocationStatus",
    "revocation_attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "revocation_error" TEXT,
    "revocation_confirmed_at" TIMESTAMPTZ(3),

    CONSTRAINT "session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credential" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "connection_id" UUID,
    "kind" TEXT NOT NULL,
    "name" TEXT,
    "external_ref" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_reason" TEXT,
    "revocation_status" "RevocationStatus",
    "revocation_attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "revocation_error" TEXT,
    "revocation_confirmed_at" TIMESTAMPTZ(3),

    CONSTRAINT "credential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "delivery_id" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "warnings" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "test_mode" BOOLEAN NOT NULL DEFAULT false,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_chain_head" (
    "organization_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL DEFAULT 0,
    "hash" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "audit_chain_head_pkey" PRIMARY KEY ("organization_id")
);

-- CreateTable
CREATE TABLE "lifecycle_event" (
    "id" BIGSERIAL NOT NULL,
    "organization_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "user_id" UUID,
    "group_id" UUID,
    "connection_id" UUID,
    "delivery_id" TEXT,
    "audit_event_id" UUID,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "enforced_at" TIMESTAMPTZ(3) NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "lifecycle_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_delivery" (
    "connection_id" UUID NOT NULL,
    "delivery_id" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "outcome" TEXT NOT NULL,
    "command_count" INTEGER NOT NULL,

    CONSTRAINT "inbound_delivery_pkey" PRIMARY KEY ("connection_id","delivery_id")
);

-- CreateTable
CREATE TABLE "api_key" (
    "id" UUID NOT NULL,
    "organization_id" UUID,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connection_request_log" (
    "id" BIGSERIAL NOT NULL,
    "connection_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "request_id" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "client" TEXT,
    "error" TEXT,

    CONSTRAINT "connection_request_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_run" (
    "id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "status" "SyncStatus" NOT NULL DEFAULT 'RUNNING',
    "processed" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER,
    "drifted" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "error" TEXT,

    CONSTRAINT "sync_run_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "organization_slug_key" ON "organization"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "directory_connection_token_hash_key" ON "directory_connection"("token_hash");

-- CreateIndex
CREATE INDEX "directory_connection_organization_id_idx" ON "directory_connection"("organization_id");

-- CreateIndex
CREATE INDEX "directory_user_organization_id_state_id_idx" ON "directory_user"("organization_id", "state", "id");

-- CreateIndex
CREATE INDEX "directory_user_organization_id_is_admin_idx" ON "directory_user"("organization_id", "is_admin");

-- CreateIndex
CREATE INDEX "directory_user_organization_id_person_key_idx" ON "directory_user"("organization_id", "person_key");

-- CreateIndex
CREATE INDEX "directory_user_organization_id_email_idx" ON "directory_user"("organization_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "directory_user_connection_id_source_id_key" ON "directory_user"("connection_id", "source_id");

-- CreateIndex
CREATE UNIQUE INDEX "directory_user_connection_id_external_id_key_key" ON "directory_user"("connection_id", "external_id_key");

-- CreateIndex
CREATE UNIQUE INDEX "directory_user_connection_id_user_name_key_key" ON "directory_user"("connection_id", "user_name_key");

-- CreateIndex
CREATE INDEX "directory_group_organization_id_deleted_at_idx" ON "directory_group"("organization_id", "deleted_at");

-- CreateIndex
CREATE UNIQUE INDEX "directory_group_connection_id_source_id_key" ON "directory_group"("connection_id", "source_id");

-- CreateIndex
CREATE UNIQUE INDEX "directory_group_connection_id_display_name_key_key" ON "directory_group"("connection_id", "display_name_key");

-- CreateIndex
CREATE INDEX "group_membership_user_id_idx" ON "group_membership"("user_id");

-- CreateIndex
CREATE INDEX "group_mapping_organization_id_idx" ON "group_mapping"("organization_id");

-- CreateIndex
CREATE UNIQUE INDEX "group_mapping_group_id_workspace_key" ON "group_mapping"("group_id", "workspace");

-- CreateIndex
CREATE INDEX "session_organization_id_idx" ON "session"("organization_id");

-- CreateIndex
CREATE INDEX "session_revocation_status_next_attempt_at_idx" ON "session"("revocation_status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "session_user_id_external_ref_key" ON "session"("user_id", "external_ref");

-- CreateIndex
CREATE INDEX "credential_organization_id_idx" ON "credential"("organization_id");

-- CreateIndex
CREATE INDEX "credential_revocation_status_next_attempt_at_idx" ON "credential"("revocation_status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "credential_user_id_kind_external_ref_key" ON "credential"("user_id", "kind", "external_ref");

-- CreateIndex
CREATE INDEX "audit_event_organization_id_target_id_idx" ON "audit_event"("organization_id", "target_id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_event_organization_id_seq_key" ON "audit_event"("organization_id", "seq");

-- CreateIndex
CREATE INDEX "lifecycle_event_organization_id_id_idx" ON "lifecycle_event"("organization_id", "id");

-- CreateIndex
CREATE INDEX "lifecycle_event_user_id_idx" ON "lifecycle_event"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_key_hash_key" ON "api_key"("hash");

-- CreateIndex
CREATE INDEX "api_key_organization_id_idx" ON "api_key"("organization_id");

-- CreateIndex
CREATE INDEX "connection_request_log_connection_id_id_idx" ON "connection_request_log"("connection_id", "id");

-- CreateIndex
CREATE INDEX "sync_run_connection_id_started_at_idx" ON "sync_run"("connection_id", "started_at");

-- AddForeignKey
ALTER TABLE "directory_connection" ADD CONSTRAINT "directory_connection_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "directory_user" ADD CONSTRAINT "directory_user_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "directory_user" ADD CONSTRAINT "directory_user_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "directory_group" ADD CONSTRAINT "directory_group_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "directory_group" ADD CONSTRAINT "directory_group_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_membership" ADD CONSTRAINT "group_membership_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "directory_group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_membership" ADD CONSTRAINT "group_membership_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "directory_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_membership" ADD CONSTRAINT "group_membership_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_mapping" ADD CONSTRAINT "group_mapping_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_mapping" ADD CONSTRAINT "group_mapping_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "directory_group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "directory_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credential" ADD CONSTRAINT "credential_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credential" ADD CONSTRAINT "credential_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "directory_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credential" ADD CONSTRAINT "credential_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_chain_head" ADD CONSTRAINT "audit_chain_head_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lifecycle_event" ADD CONSTRAINT "lifecycle_event_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lifecycle_event" ADD CONSTRAINT "lifecycle_event_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "directory_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lifecycle_event" ADD CONSTRAINT "lifecycle_event_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "directory_group"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_delivery" ADD CONSTRAINT "inbound_delivery_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connection_request_log" ADD CONSTRAINT "connection_request_log_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_run" ADD CONSTRAINT "sync_run_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "directory_connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Audit rows are append-only: the database itself refuses to update, delete or truncate one, so
-- the hash chain can only be broken by someone who first disables this trigger.
CREATE FUNCTION "audit_event_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER "audit_event_append_only" BEFORE UPDATE OR DELETE ON "audit_event"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_is_append_only"();
CREATE TRIGGER "audit_event_no_truncate" BEFORE TRUNCATE ON "audit_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_is_append_only"();
