-- CreateTable
CREATE TABLE "user_name_collision" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "user_name_key" TEXT NOT NULL,
    "user_ids" UUID[],
    "detected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_name_collision_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "user_name_collision_connection_id_idx" ON "user_name_collision"("connection_id");

-- userName and group displayName keys, recomputed the way src/engine/name-key.ts now makes them.
-- The keys stored so far were the names lower-cased by the same toLowerCase(), so what is left is
-- what nameKey() does next: drop invisible characters (the class below is its \p{Cc}, \p{Cf} and
-- \p{Default_Ignorable_Code_Point} at this migration's Unicode version), trim what String.trim()
-- trims, NFC. test/db/name-key-migration.test.ts checks this SQL and nameKey() agree on every
-- code point. The script runs as one transaction (one simple query), so it applies whole or not.
--
-- Users of one connection whose new keys are one key cannot all hold it (the unique index): they
-- keep the keys they had, and each such collision is recorded in user_name_collision, which the
-- hub reports at start (docs/operations.md#username-collisions). No other user's new key can be a
-- kept key: nameKey() of a key is that key, so such a user would be in the collision too.
WITH rekeyed AS (
    SELECT "id", "organization_id", "connection_id", "user_name_key" AS "old_key",
        NULLIF(normalize(btrim(regexp_replace("user_name_key", '[\u0001-\u001F\u007F-\u009F\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u115F-\u1160\u17B4-\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0000-\U000E0FFF]', '', 'g'),
            E'\u0020\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000'), NFC), '') AS "new_key"
    FROM "directory_user"
    WHERE "user_name_key" IS NOT NULL
), colliding AS (
    SELECT "organization_id", "connection_id", "new_key", array_agg("id" ORDER BY "id") AS "user_ids"
    FROM rekeyed
    WHERE "new_key" IS NOT NULL
    GROUP BY "organization_id", "connection_id", "new_key"
    HAVING count(*) > 1
), recorded AS (
    INSERT INTO "user_name_collision" ("id", "organization_id", "connection_id", "user_name_key", "user_ids")
    SELECT gen_random_uuid(), "organization_id", "connection_id", "new_key", "user_ids" FROM colliding
)
UPDATE "directory_user" u SET "user_name_key" = r."new_key"
FROM rekeyed r
WHERE u."id" = r."id" AND r."new_key" IS DISTINCT FROM r."old_key"
    AND NOT EXISTS (SELECT 1 FROM colliding c WHERE c."connection_id" = r."connection_id" AND c."new_key" = r."new_key");

-- Group names are not unique in the database (the engine checks them where the source promises
-- it, and lets a group keep a name it holds), so every group takes its new key.
UPDATE "directory_group" SET "display_name_key" = k."new_key"
FROM (
    SELECT "id", NULLIF(normalize(btrim(regexp_replace("display_name_key", '[\u0001-\u001F\u007F-\u009F\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u115F-\u1160\u17B4-\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0000-\U000E0FFF]', '', 'g'),
        E'\u0020\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000'), NFC), '') AS "new_key"
    FROM "directory_group"
    WHERE "display_name_key" IS NOT NULL
) k
WHERE "directory_group"."id" = k."id" AND k."new_key" IS DISTINCT FROM "directory_group"."display_name_key";
