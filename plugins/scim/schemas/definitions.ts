// The User, Enterprise User and Group schemas (RFC 7643 §4, §8.7), as data: served by /Schemas,
// and used to resolve attribute names case-insensitively (§2.1), to know which strings compare
// case-insensitively (caseExact) and which values are booleans, and to tell schema attributes from
// custom ones.
import { ENTERPRISE_USER, GROUP, USER } from './urns.ts';

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';

export interface AttributeDef {
  name: string;
  type: AttributeType;
  description: string;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned?: 'always' | 'never' | 'default' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

const str = (name: string, description: string, extra: Partial<AttributeDef> = {}): AttributeDef => ({ name, type: 'string', description, ...extra });
const bool = (name: string, description: string, extra: Partial<AttributeDef> = {}): AttributeDef => ({ name, type: 'boolean', description, ...extra });

/** value / display / type / primary: the sub-attributes every multi-valued complex attribute has. */
function multi(name: string, description: string, valueType: AttributeType, types: string[], extraSubs: AttributeDef[] = [], extra: Partial<AttributeDef> = {}): AttributeDef {
  return {
    name,
    type: 'complex',
    multiValued: true,
    description,
    subAttributes: [
      { name: 'value', type: valueType, description: `The ${name} value.` },
      ...extraSubs,
      str('display', 'A human-readable name, primarily used for display purposes.'),
      str('type', 'A label indicating the function of the value.', types.length ? { canonicalValues: types } : {}),
      bool('primary', 'Whether this is the preferred value.'),
    ],
    ...extra,
  };
}

export const userSchema: SchemaDef = {
  id: USER,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', 'Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Unique per connection, compared regardless of case, Unicode form and surrounding spaces; invisible characters are refused.', { required: true, uniqueness: 'server' }),
    {
      name: 'name',
      type: 'complex',
      description: "The components of the user's real name.",
      subAttributes: [
        str('formatted', 'The full name, formatted for display.'),
        str('familyName', 'The family name of the User.'),
        str('givenName', 'The given name of the User.'),
        str('middleName', 'The middle name(s) of the User.'),
        str('honorificPrefix', 'The honorific prefix(es) of the User.'),
        str('honorificSuffix', 'The honorific suffix(es) of the User.'),
      ],
    },
    str('displayName', 'The name of the User, suitable for display to end-users.'),
    str('nickName', 'The casual way to address the user.'),
    { name: 'profileUrl', type: 'reference', referenceTypes: ['external'], description: "A fully qualified URL pointing to a page representing the User's online profile." },
    str('title', "The user's title, such as \"Vice President\"."),
    str('userType', 'Used to identify the relationship between the organization and the user.'),
    str('preferredLanguage', "The User's preferred written or spoken language (RFC 7231 Accept-Language format)."),
    str('locale', "The User's default location for localizing items (e.g. en-US)."),
    str('timezone', "The User's time zone in the IANA Time Zone database format (e.g. America/Los_Angeles)."),
    bool('active', "The User's administrative status. false deprovisions the user (sessions and credentials revoked, memberships suspended); true reactivates."),
    str('password', 'Accepted and discarded: Lifecycle Hub never stores passwords.', { mutability: 'writeOnly', returned: 'never' }),
    multi('emails', 'Email addresses for the user.', 'string', ['work', 'home', 'other']),
    multi('phoneNumbers', 'Phone numbers for the User.', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multi('ims', 'Instant messaging addresses for the User.', 'string', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multi('photos', 'URLs of photos of the User.', 'reference', ['photo', 'thumbnail']),
    {
      name: 'addresses',
      type: 'complex',
      multiValued: true,
      description: 'A physical mailing address for this User.',
      subAttributes: [
        str('formatted', 'The full mailing address, formatted for display.'),
        str('streetAddress', 'The full street address component.'),
        str('locality', 'The city or locality component.'),
        str('region', 'The state or region component.'),
        str('postalCode', 'The zip code or postal code component.'),
        str('country', 'The country name component (ISO 3166-1 alpha-2).'),
        str('type', 'A label indicating the function of the address.', { canonicalValues: ['work', 'home', 'other'] }),
        bool('primary', 'Whether this is the preferred mailing address.'),
      ],
    },
    multi('groups', 'The groups the user belongs to (read-only: change memberships through /Groups).', 'string', ['direct', 'indirect'], [{ name: '$ref', type: 'reference', referenceTypes: ['Group'], description: 'The URI of the Group.', mutability: 'readOnly' }], { mutability: 'readOnly' }),
    multi('entitlements', 'A list of entitlements for the User.', 'string', []),
    multi('roles', 'A list of roles for the User.', 'string', []),
    multi('x509Certificates', 'A list of certificates issued to the User.', 'binary', []),
  ],
};

export const enterpriseUserSchema: SchemaDef = {
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'Numeric or alphanumeric identifier assigned to a person by the organization.'),
    str('costCenter', 'Identifies the name of a cost center.'),
    str('organization', 'Identifies the name of an organization.'),
    str('division', 'Identifies the name of a division.'),
    str('department', 'Identifies the name of a department.'),
    {
      name: 'manager',
      type: 'complex',
      description: "The User's manager. Also accepted as a bare id string (Entra ID).",
      subAttributes: [
        str('value', 'The id of the SCIM resource representing the manager.', { caseExact: true }),
        { name: '$ref', type: 'reference', referenceTypes: ['User'], description: 'The URI of the manager.' },
        str('displayName', 'The displayName of the manager.', { mutability: 'readOnly' }),
      ],
    },
  ],
};

export const groupSchema: SchemaDef = {
  id: GROUP,
  name: 'Group',
  description: 'Group',
  attributes: [
    str('displayName', 'A human-readable name for the Group. Unique per connection, compared regardless of case, Unicode form, surrounding spaces and invisible characters.', { required: true, uniqueness: 'server' }),
    {
      name: 'members',
      type: 'complex',
      multiValued: true,
      description: 'A list of members of the Group (users of the same connection).',
      subAttributes: [
        str('value', 'Identifier of the member of this Group.', { mutability: 'immutable', caseExact: true }),
        { name: '$ref', type: 'reference', referenceTypes: ['User'], mutability: 'immutable', description: 'The URI of the member.' },
        str('display', 'A human-readable name of the member.', { mutability: 'readOnly' }),
        str('type', 'The type of member.', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
    },
  ],
};

/** The attributes every resource has (RFC 7643 §3.1). */
export const commonAttributes: AttributeDef[] = [
  str('id', 'Identifier of the resource, issued by the service provider.', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  str('externalId', "An identifier for the resource as defined by the provisioning client.", { caseExact: true }),
  {
    name: 'meta',
    type: 'complex',
    mutability: 'readOnly',
    description: 'Resource metadata.',
    subAttributes: [
      str('resourceType', 'The name of the resource type of the resource.', { caseExact: true, mutability: 'readOnly' }),
      { name: 'created', type: 'dateTime', mutability: 'readOnly', description: 'When the resource was added to the service provider.' },
      { name: 'lastModified', type: 'dateTime', mutability: 'readOnly', description: 'When the resource was last modified.' },
      { name: 'location', type: 'reference', mutability: 'readOnly', description: 'The URI of the resource.' },
      str('version', 'The version (weak ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
    ],
  },
];

/** The full RFC 7643 §7 representation of an attribute: every characteristic spelled out. */
function describe(a: AttributeDef): Record<string, unknown> {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description,
    required: a.required ?? false,
    ...(a.type === 'string' || a.type === 'reference' || a.type === 'binary' ? { caseExact: a.caseExact ?? false } : {}),
    ...(a.canonicalValues ? { canonicalValues: a.canonicalValues } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(describe) } : {}),
  };
}

export const allSchemas = [userSchema, enterpriseUserSchema, groupSchema];

export function schemaResource(schema: SchemaDef, baseUrl: string): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(describe),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  };
}
