// Bounds on what one GraphQL operation may ask for: depth, cost, aliases, directives and tokens,
// checked before anything executes. They apply to every operation, over HTTP, SSE and graphql-ws
// (server.ts runs the same enveloped parse, validate and execute). Depth, aliases, directives and
// tokens are GraphQL Armor's validation plugins; cost depends on the variables, so it is counted
// once they are known (operation-cost.ts): in envelop's onExecute/onSubscribe, and in graphql-ws's
// onSubscribe, where a refusal is answered as the protocol's `error` message like other validation errors.
//
// Armor throws untyped "Syntax Error: ..." GraphQLErrors; clients branch on `extensions.code`, so
// each rejection is re-thrown as one coded error (GRAPHQL_VALIDATION_FAILED, with the limit that
// was hit). Introspection is not counted (frontend tooling needs it whole).
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { operationCost, type CostedOperation } from './operation-cost.ts';

export interface OperationLimits {
  /** Deepest selection nesting (fragments count as a level each). */
  maxDepth: number;
  /**
   * 2 per object field, 1 per scalar, 1.5x per level of depth, and times the page size (`first`/
   * `last`, literal or variable; a connection without them at its default of 50): a users page of
   * 100 with groups and emails costs ~10,000; a page of 100 users each listing 100 members of each
   * group, ~1,500,000.
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

/** `reason`: what was exceeded (Armor's message, without the "Syntax Error:" it starts with). */
export function operationLimitError(limit: OperationLimit, reason: string): GraphQLError {
  return new GraphQLError(`${reason} Split the operation into smaller ones (limits are set by GRAPHQL_MAX_* on the server).`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', retryable: false, limit },
  });
}

export function useOperationLimits(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): Plugin[] {
  const reject = (limit: OperationLimit) => ({
    propagateOnRejection: false,
    onReject: [
      (_context: unknown, error: GraphQLError) => {
        throw operationLimitError(limit, error.message.replace(/^Syntax Error:\s*/, ''));
      },
    ],
  });
  return [
    maxTokensPlugin({ n: limits.maxTokens, ...reject('tokens') }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, ...reject('depth') }) as Plugin,
    useOperationCost(limits.maxCost),
    maxAliasesPlugin({ n: limits.maxAliases, ...reject('aliases') }) as Plugin,
    maxDirectivesPlugin({ n: limits.maxDirectives, ...reject('directives') }) as Plugin,
  ];
}

/** The GRAPHQL_VALIDATION_FAILED error (limit "cost") for an operation that costs more than maxCost, or null. */
export function operationCostError(operation: CostedOperation, maxCost: number): GraphQLError | null {
  const cost = operationCost(operation);
  if (cost === null || cost <= maxCost) return null;
  const found = Number.isFinite(cost) ? `found ${Math.round(cost)}` : 'it has too many fields once its fragments are expanded';
  return operationLimitError('cost', `Query Cost limit of ${maxCost} exceeded, ${found}.`);
}

function useOperationCost(maxCost: number): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = operationCostError(args, maxCost);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = operationCostError(args, maxCost);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
