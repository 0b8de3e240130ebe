// The settings of a SCIM connection (createDirectoryConnection's `config`), all optional.
import { z } from 'zod';

export const DEFAULT_MAX_REQUEST_BYTES = 2 * 1024 * 1024;

export const scimConfigSchema = z
  .object({
    rateLimit: z
      .object({
        /** Sustained requests per second, per connection. */
        requestsPerSecond: z.number().int().min(1).max(1_000_000).default(100),
        /** Requests allowed above that rate, refilled over burst / requestsPerSecond seconds: sized for a first sync. */
        burst: z.number().int().min(0).max(10_000_000).default(50_000),
      })
      .strict()
      .default({ requestsPerSecond: 100, burst: 50_000 }),
    /** Largest request body accepted; larger ones get 413. */
    maxRequestBytes: z.number().int().min(16 * 1024).max(32 * 1024 * 1024).default(DEFAULT_MAX_REQUEST_BYTES),
    /** Most resources one list page returns (count is capped to it). */
    maxResults: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

export type ScimConfig = z.infer<typeof scimConfigSchema>;
