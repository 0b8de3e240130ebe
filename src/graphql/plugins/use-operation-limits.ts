// Bounds on what one GraphQL operation may ask for: depth, cost, aliases, directives and tokens,
// checked before anything executes (GraphQL Armor's envelop plugins). They apply to every
// operation, over HTTP and over graphql-ws (server.ts runs the same enveloped parse and validate).
//
// Armor throws untyped "Syntax Error: ..." GraphQLErrors; clients branch on `extensions.code`, so
// each rejection is re-thrown as one coded error (GRAPHQL_VALIDATION_FAILED, with the limit that
// was hit). Introspection is not counted (frontend tooling needs it whole).
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface OperationLimits {
  /** Deepest selection nesting (fragments count as a level each). */
  maxDepth: number;
  /**
   * Armor's cost: 2 per object field, 1 per scalar, 1.5x per level of depth, and times `first`/
   * `last` when given as literals: a users page of 100 with groups and emails costs ~10,000; a page
   * of 100 users each listing 100 members of each group, ~1,500,000.
   */
  maxCost: number;
  /** Aliased fields in one operation (aliases multiply work on one request). */
  maxAliases: number;
  maxDirectives: number;
  /** Lexical tokens in the document: bounds parsing work before anything else runs. */
  maxTokens: number;
}

/** Sized so the app's own queries (demo, README, tests, GraphiQL introspection) pass with room. */
export const DEFAULT_OPERATION_LIMITS: OperationLimits = { maxDepth: 10, maxCost: 50_000, maxAliases: 30, maxDirectives: 50, maxTokens: 3000 };

export type OperationLimit = 'depth' | 'cost' | 'aliases' | 'directives' | 'tokens';

export function operationLimitError(limit: OperationLimit, armorError: GraphQLError): GraphQLError {
  const reason = armorError.message.replace(/^Syntax Error:\s*/, '');
  return new GraphQLError(`${reason} Split the operation into smaller ones (limits are set by GRAPHQL_MAX_* on the server).`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', retryable: false, limit },
  });
}

export function useOperationLimits(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): Plugin[] {
  const reject = (limit: OperationLimit) => ({
    propagateOnRejection: false,
    onReject: [
      (_context: unknown, error: GraphQLError) => {
        throw operationLimitError(limit, error);
      },
    ],
  });
  return [
    maxTokensPlugin({ n: limits.maxTokens, ...reject('tokens') }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, ...reject('depth') }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost, ignoreIntrospection: true, ...reject('cost') }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, ...reject('aliases') }) as Plugin,
    maxDirectivesPlugin({ n: limits.maxDirectives, ...reject('directives') }) as Plugin,
  ];
}
