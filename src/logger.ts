import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets never reach a log line: these paths are redacted wherever they appear. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'lifecycle-hub' },
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'secret', '*.secret', 'token', '*.token', 'config.*Secret', 'config.secretKey', 'config.apiKey', 'password', '*.password'],
      censor: '[redacted]',
    },
  });
}
