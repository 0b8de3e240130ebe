// Secrets at rest. Bearer tokens and API keys are random and high-entropy, so a SHA-256 digest is
// enough to store them (no slow KDF needed) and lets a request find its key by digest. Connector
// secrets (webhook signing secrets, vendor API keys) must be usable again, so they are encrypted
// with AES-256-GCM under a key that never lives in the database.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `<prefix>_<40 base62 chars>`: about 238 bits of entropy. */
export function generateSecret(prefix: string): string {
  const bytes = randomBytes(40);
  let out = '';
  for (const b of bytes) out += BASE62[b % 62];
  return `${prefix}_${out}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares two hex digests without leaking where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && ab.length > 0 && timingSafeEqual(ab, bb);
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes (base64 or hex)');
    return new SecretBox(key);
  }

  /** ENCRYPTION_KEY when set; otherwise a key generated once and kept in DATA_DIR. */
  static load(options: { encryptionKey?: string; dataDir: string }): { box: SecretBox; generated: boolean; path?: string } {
    if (options.encryptionKey) return { box: SecretBox.fromKey(parseKey(options.encryptionKey)), generated: false };
    const path = join(options.dataDir, 'encryption.key');
    if (existsSync(path)) return { box: SecretBox.fromKey(parseKey(readFileSync(path, 'utf8').trim())), generated: false, path };
    mkdirSync(options.dataDir, { recursive: true });
    const key = randomBytes(32);
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return { box: SecretBox.fromKey(key), generated: true, path };
  }

  /**
   * A key for another purpose (HKDF-SHA256 of the encryption key): separate keys from one secret,
   * none of which is ever stored in the database.
   */
  deriveKey(purpose: string, length = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, 'lifecycle-hub', purpose, length));
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  open<T = unknown>(sealed: string): T {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognized sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  }
}

function parseKey(text: string): Buffer {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  return Buffer.from(text, 'base64');
}
