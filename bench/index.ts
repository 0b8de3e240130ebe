// Every benchmark `npm run bench` runs, in order.
import { engineProvision } from './engine-provision.bench.ts';
import { scimInitialSync } from './scim-initial-sync.bench.ts';
import type { Benchmark } from './types.ts';

export const benchmarks: Benchmark[] = [engineProvision, scimInitialSync];
