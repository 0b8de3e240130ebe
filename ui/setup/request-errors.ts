// What the identity provider met, in words: the newest refused request in the connection's request
// log (status >= 400), unless a later one succeeded; or a wrong token, newer than anything logged.
export interface LoggedRequest { at: string; method: string; path: string; status: number; error?: string | null }

/**
 * `log` newest first. A request with a wrong token is not in the request log (anyone can send one):
 * the connection keeps only its time (health.lastRejectedCredentialsAt), which wins when newer.
 */
export function lastRefusal(log: readonly LoggedRequest[], rejectedCredentialsAt?: string | null): LoggedRequest | null {
  const newest = log[0];
  if (rejectedCredentialsAt && (!newest || Date.parse(rejectedCredentialsAt) > Date.parse(newest.at))) {
    return { at: rejectedCredentialsAt, method: '', path: '', status: 401 };
  }
  // A refusal counts only while nothing succeeded after it.
  return newest && newest.status >= 400 ? newest : null;
}

export function refusalInWords(idp: string, entry: LoggedRequest): string {
  const what = `${idp}'s last request was refused`;
  switch (entry.status) {
    case 401: return `${what}: the token was wrong, expired or revoked. In ${idp}, paste the token again exactly as it was shown, with nothing added; if you no longer have it, create a new one in step 5 (Test mode).`;
    case 403: return `${what}: it may not do that with this token. Check the token is this connection's.`;
    case 404: return `${what}: the address was not found. Paste the SCIM base URL again, exactly as shown, with nothing added.`;
    case 409: return `${what}: a user or group with the same name already exists here. Rename it in ${idp}, or let ${idp} link to the existing one.`;
    case 412: return `${what}: the record changed meanwhile. ${idp} retries on its own.`;
    case 413: return `${what}: too much at once. Push fewer users or groups at a time.`;
    case 429: return `${what}: too many requests at once. ${idp} slows down and retries on its own.`;
    case 503: return `${what}: the connection is paused or the service is busy. Resume the connection; ${idp} retries.`;
    default:
      if (entry.status >= 500) return `${what}: the service failed for a moment. ${idp} retries on its own; if it keeps failing, tell your vendor.`;
      return `${what}: the request was not valid SCIM${entry.error ? ` (${entry.error})` : ''}. Check the provisioning settings in ${idp}.`;
  }
}
