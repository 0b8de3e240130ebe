// Every benchmark `npm run bench` runs, in order.
import { clerkBackfill } from './clerk-backfill.bench.ts';
import { clerkWebhooks } from './clerk-webhooks.bench.ts';
import { consoleFirstPaint } from './console-first-paint.bench.ts';
import { engineProvision } from './engine-provision.bench.ts';
import { scimInitialSync } from './scim-initial-sync.bench.ts';
import { deprovisionLatency } from './deprovision-latency.bench.ts';
import { fanout } from './fanout.bench.ts';
import type { Benchmark } from './types.ts';
import { usersPageAndMemory } from './users-page-memory.bench.ts';
import { vendorWebhooks } from './vendor-webhooks.bench.ts';
import { webhookDelivery } from './webhooks.bench.ts';

export const benchmarks: Benchmark[] = [engineProvision, scimInitialSync, deprovisionLatency, fanout, usersPageAndMemory, consoleFirstPaint, clerkWebhooks, clerkBackfill, vendorWebhooks, webhookDelivery];
