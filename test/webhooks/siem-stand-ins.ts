// A stand-in for a Splunk HTTP Event Collector on 127.0.0.1: POST /services/collector/event with
// `Authorization: Splunk <token>`, a body of JSON event objects one after another; answers as HEC
// does: 200 {"text":"Success","code":0}; 401 code 2 (no token) or 3 (not "Splunk <token>"); 403
// code 4 (unknown token); 400 code 5 (no data), 6 (invalid data format), 12 (event field required),
// 13 (event field blank); 503 code 9 (server busy) while `busy` says so.
import { createServer } from 'node:http';

export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  event: any;
}

export interface HecStandIn {
  url: string;
  token: string;
  events: HecEvent[];
  /** Each request's status and number of events. */
  requests: Array<{ status: number; events: number }>;
  /** Answer 503 "Server is busy" to the next this many requests. */
  busy: number;
  close(): Promise<void>;
}

/** Splits concatenated JSON objects (HEC's batch form); throws on anything else. */
function parseConcatenated(body: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) out.push(JSON.parse(body.slice(start, i + 1)));
      if (depth < 0) throw new Error('unbalanced');
    } else if (depth === 0 && !/\s/.test(c!)) throw new Error(`unexpected ${c} between events`);
  }
  if (depth !== 0 || inString) throw new Error('truncated');
  return out;
}

export async function startHecStandIn(token = '11111111-2222-3333-4444-555555555555'): Promise<HecStandIn> {
  const hec = { token, events: [] as HecEvent[], requests: [] as HecStandIn['requests'], busy: 0 } as HecStandIn;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, text: string, code: number, events = 0) => {
        hec.requests.push({ status, events });
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ text, code }));
      };
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/services/collector/event') return answer(404, 'The requested URL was not found on this server.', 404);
      const auth = req.headers.authorization;
      if (!auth) return answer(401, 'Token is required', 2);
      const match = /^Splunk (\S+)$/.exec(auth);
      if (!match) return answer(401, 'Invalid authorization', 3);
      if (match[1] !== hec.token) return answer(403, 'Invalid token', 4);
      if (hec.busy > 0) {
        hec.busy--;
        return answer(503, 'Server is busy', 9);
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (!body.trim()) return answer(400, 'No data', 5);
      let objects: unknown[];
      try {
        objects = parseConcatenated(body);
      } catch {
        return answer(400, 'Invalid data format', 6);
      }
      for (const o of objects as Array<Record<string, unknown>>) {
        if (!('event' in o)) return answer(400, 'Event field is required', 12);
        if (o.event === null || o.event === '') return answer(400, 'Event field cannot be blank', 13);
        if (o.time !== undefined && typeof o.time !== 'number') return answer(400, 'Invalid data format', 6);
      }
      hec.events.push(...(objects as HecEvent[]));
      answer(200, 'Success', 0, objects.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hec.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/services/collector/event`;
  hec.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return hec;
}

export interface DatadogStandIn {
  url: string;
  apiKey: string;
  logs: Array<Record<string, any>>;
  requests: Array<{ status: number; logs: number }>;
  close(): Promise<void>;
}

/**
 * A stand-in for Datadog's logs intake: POST /api/v2/logs with `DD-API-KEY`, a JSON array of at most
 * 1000 logs; 202 {} when accepted, 403 for a wrong key, 400 for a body that is not such an array, 413
 * past 5 MB.
 */
export async function startDatadogStandIn(apiKey = 'dd0123456789abcdef0123456789abcd'): Promise<DatadogStandIn> {
  const dd = { apiKey, logs: [] as DatadogStandIn['logs'], requests: [] as DatadogStandIn['requests'] } as DatadogStandIn;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown, logs = 0) => {
        dd.requests.push({ status, logs });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/api/v2/logs') return answer(404, { errors: ['Not found'] });
      if (req.headers['dd-api-key'] !== dd.apiKey) return answer(403, { errors: [{ status: '403', title: 'Forbidden', detail: 'Forbidden' }] });
      const body = Buffer.concat(chunks);
      if (body.length > 5 * 1024 * 1024) return answer(413, { errors: ['Payload too large'] });
      let logs: unknown;
      try {
        logs = JSON.parse(body.toString('utf8'));
      } catch {
        return answer(400, { errors: ['Bad Request'] });
      }
      if (!Array.isArray(logs) || logs.length > 1000 || logs.some((l) => typeof l !== 'object' || l === null || typeof (l as { message?: unknown }).message !== 'string')) return answer(400, { errors: ['Bad Request'] });
      dd.logs.push(...(logs as DatadogStandIn['logs']));
      answer(202, {}, logs.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dd.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v2/logs`;
  dd.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return dd;
}
