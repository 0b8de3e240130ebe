// Stytch B2B webhook bodies (delivered by Svix), parsed from the raw bytes. The envelope is
// `{ project_id, event_id, action, object_type, source, id, timestamp, vertical? }`; CREATE and UPDATE
// carry the entity under the key named by `object_type` (`member`, `idp_group`), DELETE the
// envelope only. The event type is `source.object_type.action` in lower case, e.g.
// `scim.member.delete`. The SCIM group events' bodies are not published by Stytch: the group is read
// from `idp_group` (SCIMGroup: group_id, group_name, organization_id, connection_id) or the envelope
// `id`, the member from a top-level `member_id` — see test/fixtures/stytch/README.md.
import { z } from 'zod';
import { parseWebhookJson } from 'lifecycle-hub/connector';

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 timestamp');
const text = z.string();

export const memberSchema = z
  .object({
    member_id: z.string().min(1),
    organization_id: z.string().min(1),
    email_address: text.nullish(),
    email_address_verified: z.boolean().nullish(),
    status: z.string(),
    name: text.nullish(),
    external_id: text.nullish(),
    is_breakglass: z.boolean().nullish(),
    roles: z.array(z.object({ role_id: z.string() }).loose()).nullish(),
    trusted_metadata: z.record(z.string(), z.unknown()).nullish(),
    scim_registration: z
      .object({
        connection_id: text.nullish(),
        external_id: text.nullish(),
        scim_attributes: z.record(z.string(), z.unknown()).nullish(),
      })
      .loose()
      .nullish(),
    created_at: timestamp.nullish(),
    updated_at: timestamp.nullish(),
  })
  .loose();

export type StytchMember = z.infer<typeof memberSchema>;

export const idpGroupSchema = z
  .object({ group_id: z.string().min(1), group_name: text.nullish(), organization_id: text.nullish(), connection_id: text.nullish() })
  .loose();

export type StytchIdpGroup = z.infer<typeof idpGroupSchema>;

const envelopeSchema = z
  .object({
    event_id: z.string().min(1).nullish(),
    project_id: z.string().nullish(),
    action: z.string().min(1),
    object_type: z.string().min(1),
    source: z.string().min(1),
    id: z.string().min(1),
    timestamp,
    member: z.unknown().optional(),
    idp_group: z.unknown().optional(),
    member_id: z.string().min(1).nullish(),
  })
  .loose();

export interface StytchEvent {
  eventId: string | null;
  projectId: string | null;
  /** `source.object_type.action`, lower case. */
  type: string;
  action: string;
  objectType: string;
  source: string;
  id: string;
  /** When Stytch sent the event (microseconds; JavaScript keeps milliseconds). */
  sentAt: Date;
  member: StytchMember | null;
  idpGroup: StytchIdpGroup | null;
  memberId: string | null;
}

export class StytchPayloadError extends Error {}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StytchPayloadError(`${what}: ${[...issue.path].join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export function eventFromWebhookBody(rawBody: string): StytchEvent {
  let json: unknown;
  try {
    json = parseWebhookJson(rawBody);
  } catch (error) {
    throw new StytchPayloadError((error as Error).message);
  }
  const e = parse(envelopeSchema, json, 'event');
  const action = e.action.toLowerCase();
  const objectType = e.object_type.toLowerCase();
  return {
    eventId: e.event_id ?? null,
    projectId: e.project_id ?? null,
    type: `${e.source.toLowerCase()}.${objectType}.${action}`,
    action,
    objectType,
    source: e.source.toLowerCase(),
    id: e.id,
    sentAt: new Date(e.timestamp),
    member: e.member === undefined || e.member === null ? null : parse(memberSchema, e.member, `${objectType} event member`),
    idpGroup: e.idp_group === undefined || e.idp_group === null ? null : parse(idpGroupSchema, e.idp_group, `${objectType} event idp_group`),
    memberId: e.member_id ?? null,
  };
}
