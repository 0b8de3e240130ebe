// Which identity provider sent a request, from its User-Agent, for the request log. Only for
// display and debugging: behaviour never depends on it (several IdPs send none, or an empty one).
//   Okta:      "Okta SCIM Client 1.0.0" (Okta's SCIM 2.0 reference); its OIN spec test: "OKTA SCIM Integration"
//   Google:    "Google-Auto-Provisioning" (reported by SCIM server maintainers)
//   Entra ID:  Microsoft does not document one; matched loosely (Azure / Microsoft / AAD)
//   OneLogin:  often empty; admins may set "OneLogin SCIM" as a custom header
//   JumpCloud: not documented; matched by name
const patterns: Array<[RegExp, string]> = [
  [/okta/i, 'okta'],
  [/google/i, 'google'],
  [/azure|microsoft|\baad\b|entra/i, 'entra'],
  [/onelogin/i, 'onelogin'],
  [/jumpcloud/i, 'jumpcloud'],
  [/pingfederate|pingone/i, 'ping'],
];

export function detectClient(userAgent: string | undefined | null): string | null {
  if (!userAgent || !userAgent.trim()) return null;
  for (const [pattern, name] of patterns) if (pattern.test(userAgent)) return name;
  // Something else: keep a short, printable trace of it.
  return userAgent.replace(/[^\x20-\x7e]/g, '').slice(0, 64) || null;
}
