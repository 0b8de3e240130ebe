import type { Principal } from '../auth/principal.ts';
import type { Hub } from '../hub.ts';

export interface GraphQLContext {
  hub: Hub;
  principal: Principal | null;
  requestId: string;
}
