// The identity providers the portal offers, each with its instructions from docs/scim (bundled as
// text at build time: the docs and the portal read the same file).
import okta from '../../docs/scim/okta.md';
import entra from '../../docs/scim/entra-id.md';
import google from '../../docs/scim/google-workspace.md';
import onelogin from '../../docs/scim/onelogin.md';
import jumpcloud from '../../docs/scim/jumpcloud.md';
import generic from '../../docs/scim/README.md';

export interface IdentityProvider {
  id: string;
  name: string;
  /** What the admin recognises it by. */
  hint: string;
  markdown: string;
}

export const IDENTITY_PROVIDERS: IdentityProvider[] = [
  { id: 'okta', name: 'Okta', hint: 'Okta Workforce Identity', markdown: okta },
  { id: 'entra', name: 'Microsoft Entra ID', hint: 'formerly Azure Active Directory', markdown: entra },
  { id: 'google', name: 'Google Workspace', hint: 'Google Admin console', markdown: google },
  { id: 'onelogin', name: 'OneLogin', hint: 'OneLogin Administration', markdown: onelogin },
  { id: 'jumpcloud', name: 'JumpCloud', hint: 'JumpCloud Admin Portal', markdown: jumpcloud },
  { id: 'scim', name: 'Other SCIM 2.0 provider', hint: 'any client that speaks SCIM 2.0', markdown: generic },
];

export const identityProvider = (id: string) => IDENTITY_PROVIDERS.find((p) => p.id === id) ?? IDENTITY_PROVIDERS.at(-1)!;
