// Every benchmark `npm run bench` runs, in order.
import { engineProvision } from './engine-provision.bench.ts';
import type { Benchmark } from './types.ts';
import { vendorWebhooks } from './vendor-webhooks.bench.ts';

export const benchmarks: Benchmark[] = [engineProvision, vendorWebhooks];
