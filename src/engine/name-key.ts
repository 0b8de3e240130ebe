// When two names are the same name: the key a userName (unique per connection) and a group
// displayName (unique where the source promises it) are stored, looked up and compared by.
//
// Names that look alike must share a key, or a source can create a second, identical-looking user:
// so the key is the name lower-cased, without invisible characters, trimmed, in Unicode NFC (what
// RFC 8265's UsernameCaseMapped profile does, minus its width mapping: "Ａ" and "A" look different).
// Lower-casing is toLowerCase(), as that profile says, not PostgreSQL's lower(), which depends on
// the database's locale: keys are computed here only, and SQL compares them as they are.
//
// The stored name itself is kept as the source sent it: an identity provider reads back what it
// wrote (RFC 7643 §2.1 makes userName caseExact false with uniqueness "server": compared loosely,
// returned as given), and Okta and Entra compare what they read with what they hold to decide
// whether to send an update.
//
// prisma/migrations/20261203075612_normalized_name_keys recomputed the keys stored before this
// definition with SQL that mirrors it (test/db/name-key-migration.test.ts checks both agree on
// every code point): change one and the other must follow, with a new migration.

/**
 * Characters that do not show: controls (Cc), format characters (Cf: zero-width space and joiners,
 * bidi controls, soft hyphen, BOM…) and the other default-ignorable code points (variation
 * selectors, Hangul fillers, tags…). Refused in a new userName, dropped from keys.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/** The name compared loosely, not trimmed: what `co`, `sw` and `ew` filters match keys against. */
export function foldName(name: string): string {
  return name.toLowerCase().replace(INVISIBLE_ALL, '').normalize('NFC');
}

/** The key of a userName or group displayName; null for none (absent, or nothing visible). */
export function nameKey(name: string | null | undefined): string | null {
  if (name == null) return null;
  // Trimmed before NFC, as the migration's SQL does (NFC neither adds nor removes edge whitespace).
  const key = name.toLowerCase().replace(INVISIBLE_ALL, '').trim().normalize('NFC');
  return key === '' ? null : key;
}

/** The first invisible character of a name, for an error that says which and where; null if none. */
export function invisibleCharacterIn(name: string): { codePoint: string; index: number } | null {
  const match = INVISIBLE.exec(name);
  if (!match) return null;
  return { codePoint: `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, index: match.index };
}

/** A name with its invisible characters written as \u{…}, so a message shows what was sent. */
export function showName(name: string): string {
  return `"${name.replace(INVISIBLE_ALL, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`)}"`;
}
