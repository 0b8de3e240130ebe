// The connector SDK: everything a connector (built in, or a partner's npm package) may use from
// the hub, imported as `lifecycle-hub/connector` (package.json `exports`). Nothing else in src/ is
// a connector's to import: test/connectors/import-boundary.test.ts fails on any other import from
// plugins/ into src/. What is here is the contract partners build against; plugins/README.md
// teaches it, plugins/template uses it, and `lifecycle-hub/connector/kit` checks a connector.

// The contract: defineConnector and what a connector's methods receive and return.
export {
  defineConnector,
  isPayloadError,
  isVerificationError,
  parseWebhookJson,
  PayloadError,
  VerificationError,
  type AnyConnector,
  type ApplyOptions,
  type BackfillPage,
  type ConnectionView,
  type ConnectorContext,
  type ConnectorDefinition,
  type ConnectorHub,
  type InboundRequest,
  type InboundResult,
  type PullPage,
  type RevocationTarget,
} from './contract.ts';

// Lifecycle commands (what a connector translates its source into) and the profile they carry.
// The zod schemas validate; their inferred types are what a connector builds.
export { EmailAddress, GroupRef, LifecycleCommand, UserProfile, UserRef, type CredentialKind, type LifecycleCommandInput } from '../engine/commands.ts';

// What applying commands returns (ConnectorHub.apply) and how it fails: EngineError's `code` says
// what to answer (NOT_FOUND, CONFLICT, PRECONDITION_FAILED…); `retryable` ones may succeed unchanged
// later. Recognize the hub's errors with the is…Error helpers, not instanceof: a connector loaded
// from a path or a package has its own copy of this module, and so of each class.
export { EngineError, isEngineError, type EngineErrorCode } from '../engine/errors.ts';
// The hub's one error vocabulary: each code and how each protocol answers it (GraphQL code,
// webhook status, SCIM status and scimType). knownError() turns any failure into the hub's error it
// stands for (a transient database failure into UNAVAILABLE), or null for a bug.
export { ERRORS, HubError, isHubError, knownError, type ErrorAnswer, type ErrorCode } from '../hub/errors.ts';
export type { DeliveryOutcome, GroupRecord, UserRecord } from '../engine/types.ts';
/** The hub's one id check: ids are uuids, and a string that is not one names nothing. */
export { isUuid } from '../storage/sql.ts';
/** The hub's canonical JSON (keys sorted): two values are the same when their texts are. */
export { canonicalJson } from '../engine/audit-chain.ts';

// Reading what a source sends: parseWebhookJson for a webhook body (a PayloadError when refused),
// parseUntrustedJson for a protocol's own routes (an UntrustedJsonError: not JSON, a prototype key,
// an ill-formed string), and the hub's one backoff formula for a connector's own retries.
export { parseUntrustedJson, UntrustedJsonError } from '../http/untrusted-json.ts';
export { backoffDelay, backoffSleep, type BackoffPolicy } from '../jobs/backoff.ts';

// The way out (ctx.outbound) and how to report an upstream's failure without leaking what it echoed.
export type { OutboundHttp } from '../outbound/index.ts';
export { OutboundRefusedError, refusalIn } from '../outbound/refusal.ts';
export { safeLine, summarizeUpstream, type UpstreamAnswer } from '../outbound/summary.ts';

// Typed reads of what a connection holds (ConnectorHub.directory, ctx.directory), with filters.
export {
  DirectoryFilterError,
  isDirectoryFilterError,
  type DirectoryFilter,
  type DirectoryGroup,
  type DirectoryMember,
  type DirectoryPage,
  type DirectoryQuery,
  type DirectoryReader,
  type DirectoryUser,
  type ElementField,
  type ElementFilter,
  type FilterField,
  type FilterList,
  type FilterOperator,
  type FilterType,
  type FilterValue,
  type GroupColumn,
  type SourceDataField,
  type UserColumn,
} from './directory/types.ts';
