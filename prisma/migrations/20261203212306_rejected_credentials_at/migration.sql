-- AlterTable
ALTER TABLE "directory_connection" ADD COLUMN     "rejected_credentials_at" TIMESTAMPTZ(3);
