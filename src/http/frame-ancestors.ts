// Who may embed the setup portal in a frame (SETUP_FRAME_ANCESTORS): the SaaS shows the portal in
// an iframe on its own settings page. src/http/ui.ts puts the list in the portal pages' CSP; the
// console is never framed. X-Frame-Options is not sent with the portal: it cannot name other
// origins, and browsers that know frame-ancestors ignore it anyway.

// One CSP source: a keyword, or scheme://host[:port] (host may start with "*."), or a bare scheme.
// Nothing that could end the directive (';', ',') or the header (control characters).
const SOURCE = /^(?:'self'|'none'|https?:|https?:\/\/(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?)$/i;

export function isFrameAncestorsList(value: string): boolean {
  const sources = value.trim().split(/\s+/);
  if (!sources.length || !sources.every((s) => SOURCE.test(s))) return false;
  // 'none' means no one: it cannot be combined with sources.
  return !sources.includes("'none'") || sources.length === 1;
}
