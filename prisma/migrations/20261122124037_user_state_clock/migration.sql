-- AlterTable
ALTER TABLE "directory_user" ADD COLUMN     "source_state_at" TIMESTAMPTZ(3);
