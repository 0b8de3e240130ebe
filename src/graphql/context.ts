import type { Principal } from '../tenancy/principal.ts';
import type { Hub } from '../hub/hub.ts';

export interface GraphQLContext {
  hub: Hub;
  principal: Principal | null;
  requestId: string;
  /**
   * Present for a browser request over HTTP (a session cookie or the CSRF header, no
   * Authorization): the Set-Cookie values resolvers add go out with the response.
   */
  browser?: { setCookies: string[] };
}
