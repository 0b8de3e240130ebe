// Secrets inside free text (an error message, an upstream answer, a URL): replaced by "[redacted]"
// by their shape, and by their exact value for the few secrets the hub was started with. Used on
// every serialized log line (src/hub/logger.ts) and on upstream error summaries (src/outbound), so it
// is one regular expression over the text, and leaves the text as it was when it finds nothing.
//
// Every pattern stops at `"` and `\`: applied to a JSON line it never eats an escape or a quote,
// so the line still parses.
//
// Measured on Node 20: shapes alone cost ~0.15 µs on a 200-character request line (pino itself
// takes ~3.4 µs) and ~0.5–1.3 µs on a 1,000–1,500-character error line with its stack. Every exact
// value adds an alternative tried at each position (100 random values: ~4 µs and ~20–29 µs), so
// connectors' secrets are not scanned on every line: redactSecrets' `values` takes a connection's
// own where upstream text becomes an error (src/outbound/summary.ts).

const CENSOR = '[redacted]';

const SHAPES = [
  // Authorization header values: Bearer tokens, Basic credentials (Stytch's project:secret).
  String.raw`\b(?:[Bb]earer|BEARER|[Bb]asic|BASIC)\s+[A-Za-z0-9._~+/-]+=*`,
  // URL userinfo: scheme://user:password@ or scheme://token@ (matched from "://": the scheme stays).
  String.raw`://[^\s/?#@"\\]+@`,
  // The hub's own secrets (generateSecret): lhk_… API keys, lhscim_… SCIM tokens, 40 base62 characters.
  String.raw`\blh[a-z0-9]*_[0-9A-Za-z]{40}`,
  // Svix / Standard Webhooks signing secrets (Clerk, Stytch).
  String.raw`\bwhsec_[A-Za-z0-9+/]+=*`,
  // Clerk and WorkOS secret keys (sk_live_…, sk_test_…, WorkOS sk_…), restricted keys.
  String.raw`\b[sr]k_(?:live|test)_[A-Za-z0-9_]+`,
  String.raw`\bsk_[A-Za-z0-9_]{16,}`,
  // Stytch project secrets.
  String.raw`\bsecret-(?:test|live)-[A-Za-z0-9_=-]+`,
];

/** The hub's own secrets from the environment (admin key, encryption key, metrics token). */
const MAX_REMEMBERED = 16;
/** Shorter values are not matched exactly (they would redact ordinary words). */
const MIN_VALUE_LENGTH = 12;

const remembered = new Set<string>();
let expression: RegExp | null = null;

const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** A value as it is written and as it appears inside a JSON string (a serialized log line). */
const forms = (value: string) => {
  const json = JSON.stringify(value).slice(1, -1);
  return json === value ? [value] : [value, json];
};

function current(): RegExp {
  if (expression) return expression;
  // Longest first, so a secret that contains another is redacted whole.
  const literals = [...remembered].flatMap(forms).sort((a, b) => b.length - a.length);
  expression = new RegExp([...literals.map(escape), ...SHAPES].join('|'), 'g');
  return expression;
}

/**
 * Redacts this value from every log line from now on: for the secrets the hub is started with.
 * At most 16 (each costs on every line; the oldest is forgotten first); shorter than 12
 * characters is ignored.
 */
export function rememberSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_VALUE_LENGTH || remembered.has(value)) return;
  if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.values().next().value!);
  remembered.add(value);
  expression = null;
}

/**
 * `text` with every secret shape, remembered secret and each of `values` (a connection's own
 * secrets, say) replaced by "[redacted]".
 */
export function redactSecrets(text: string, values: readonly unknown[] = []): string {
  let out = text;
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_VALUE_LENGTH) continue;
    for (const form of forms(value)) out = out.split(form).join(CENSOR);
  }
  return out.replace(current(), (match) => {
    if (match.startsWith('://')) return `://${CENSOR}@`;
    if (/^(?:Bearer|Basic|BEARER|BASIC|bearer|basic)\s/.test(match)) return `${match.slice(0, match.search(/\s/))} ${CENSOR}`;
    return CENSOR;
  });
}
