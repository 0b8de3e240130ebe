// A partner connector with bugs, loaded into a hub process through LIFECYCLE_PLUGINS by
// stray-errors.test.ts. Its deliveries (unsigned: this is a test double of a buggy plugin, not of
// a source) say what goes wrong: `throw` fails inside the request, `later` throws from a timer
// after the request was answered, `reject` leaves a promise rejection no one handles.
import { z } from 'zod';
import { defineConnector } from '../../../src/connectors/contract.ts';

export default defineConnector({
  id: 'faulty',
  displayName: 'Faulty partner plugin',
  configSchema: z.object({}).strict(),
  async inbound(request) {
    const fault = request.rawBody.trim();
    if (fault === 'throw') throw new Error('a bug inside the request');
    if (fault === 'later') setTimeout(() => { throw new Error('a bug in a timer, outside any request'); }, 10);
    if (fault === 'reject') void Promise.reject(new Error('a rejection no one handles'));
    return { deliveryId: `faulty-${Date.now()}-${Math.random()}`, ignored: `fault "${fault}" scheduled` };
  },
});
