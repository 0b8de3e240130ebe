// Every benchmark `npm run bench` runs, in order.
import { clerkBackfill } from './clerk-backfill.bench.ts';
import { clerkWebhooks } from './clerk-webhooks.bench.ts';
import { engineProvision } from './engine-provision.bench.ts';
import { scimInitialSync } from './scim-initial-sync.bench.ts';
import type { Benchmark } from './types.ts';
import { vendorWebhooks } from './vendor-webhooks.bench.ts';

export const benchmarks: Benchmark[] = [engineProvision, scimInitialSync, clerkWebhooks, clerkBackfill, vendorWebhooks];
