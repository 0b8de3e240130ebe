// What an operation costs (GRAPHQL_MAX_COST), counted from its coerced variables: `first: $n` with
// n = 500 costs what `first: 500` costs. The limit is checked where variables are known
// (use-operation-limits.ts), not in a validation rule: validation sees no variables, and yoga
// caches its result per document.
//
// graphql-query-complexity walks the operation with the variables coerced (schema defaults
// included, @skip/@include applied) and bounds the walk itself (maxQueryNodes: fragments spread
// into each other cannot make costing the operation the expensive part). The estimator keeps the
// weights of GraphQL Armor's cost-limit, which this replaces, so GRAPHQL_MAX_COST keeps its
// magnitudes: 2 per object field, 1 per scalar, each level 1.5x, times the page size.
import { getNamedType, getOperationAST, getVariableValues, isCompositeType, isObjectType, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { CONNECTION_PAGE_SIZE } from '../page-size.ts';

const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;
/** Selections walked at most (fragment spreads expanded); an operation past it is refused as too costly. */
export const MAX_COSTED_NODES = 10_000;

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/** A field's page size: its `first`/`last` (variables and schema defaults included), else a Relay connection's default page. */
function pageSize(args: Record<string, unknown>, type: ReturnType<typeof getNamedType>): number {
  const requested = [args.first, args.last].filter((n): n is number => typeof n === 'number');
  if (requested.length) return Math.max(1, ...requested);
  const isConnection = isObjectType(type) && 'edges' in type.getFields() && 'pageInfo' in type.getFields();
  return isConnection ? CONNECTION_PAGE_SIZE.default : 1;
}

const estimate: ComplexityEstimator = ({ field, args, childComplexity }) => {
  // Introspection is not counted: frontend tooling needs the whole schema.
  if (INTROSPECTION_FIELDS.has(field.name)) return 0;
  const type = getNamedType(field.type);
  if (!isCompositeType(type)) return SCALAR_COST;
  return (OBJECT_COST + DEPTH_FACTOR * childComplexity) * pageSize(args, type);
};

export interface CostedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

/** The operation's cost with these variables; null when execution will refuse it anyway (no such operation, variables that do not coerce). */
export function operationCost({ schema, document, operationName, variableValues }: CostedOperation): number | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variableValues ?? {}).errors) return null;
  try {
    return getComplexity({
      schema,
      query: document,
      // Only for a named operation: the library reads the name of every operation it is compared with.
      operationName: operation.name?.value,
      variables: variableValues ?? {},
      estimators: [estimate],
      maxQueryNodes: MAX_COSTED_NODES,
    });
  } catch {
    // Past MAX_COSTED_NODES (the only error left once validation and coercion passed).
    return Number.POSITIVE_INFINITY;
  }
}
