-- DropIndex
DROP INDEX "directory_group_connection_id_display_name_key_key";

-- CreateIndex
CREATE INDEX "directory_group_connection_id_display_name_key_idx" ON "directory_group"("connection_id", "display_name_key");
