// JSON from outside the hub (SCIM bodies, webhook payloads, GraphQL variables and JSON arguments):
// parsed and checked in one place, so no entry point forgets either check.
//
//  - Prototype keys: JSON.parse keeps `"__proto__"` as an ordinary own key, but the first merge,
//    copy or path walk that assigns through it changes a prototype (of one object, or of every
//    object in the process: issue 14, item 1). secure-json-parse (fastify's) refuses `__proto__`
//    keys and `constructor` objects holding `prototype`, escaped spellings included.
//  - Lone surrogates: `"\ud800"` is valid JSON but not Unicode text; PostgreSQL refuses it in text
//    and JSONB, so it must be refused as the client's mistake before it reaches a write (item 5).
import secureJson from 'secure-json-parse';

export type UntrustedJsonProblem = 'syntax' | 'prototype' | 'ill-formed';

export class UntrustedJsonError extends Error {
  constructor(
    readonly problem: UntrustedJsonProblem,
    message: string,
    /** Where, for an ill-formed string (e.g. `emails[0].value`). */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'UntrustedJsonError';
  }
}

const REFUSE = { protoAction: 'error', constructorAction: 'error' } as const;

/** JSON.parse for untrusted text; throws UntrustedJsonError. Syntax errors keep only the parser's position (its message quotes the text). */
export function parseUntrustedJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new UntrustedJsonError('syntax', `not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
  checkUntrustedValue(value);
  return value;
}

/** The same checks for a value some library already parsed (GraphQL variables, a vendor SDK's event). */
export function checkUntrustedValue(value: unknown): void {
  if (value !== null && typeof value === 'object') {
    try {
      secureJson.scan(value as object, REFUSE);
    } catch {
      throw new UntrustedJsonError('prototype', 'a "__proto__" key, or a "constructor" object with a "prototype" key, is not accepted anywhere in a request');
    }
  }
  const at = illFormedStringAt(value);
  if (at !== null) throw new UntrustedJsonError('ill-formed', `${at} is not well-formed Unicode text (a lone surrogate such as "\\ud800"); send UTF-16 surrogates only in pairs`, at);
}

/**
 * Where the first string (a value or a key) that is not well-formed Unicode is, as a path like
 * `emails[0].value`, or null. Iterative: a deep value cannot overflow the stack.
 */
export function illFormedStringAt(value: unknown, root = '(root)'): string | null {
  const pending: Array<[unknown, string]> = [[value, root]];
  while (pending.length) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (!current.isWellFormed()) return path;
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => pending.push([item, `${path}[${i}]`]));
    } else if (current !== null && typeof current === 'object' && !(current instanceof Date)) {
      for (const [key, item] of Object.entries(current)) {
        if (!key.isWellFormed()) return `a key of ${path}`;
        pending.push([item, path === root ? key : `${path}.${key}`]);
      }
    }
  }
  return null;
}
