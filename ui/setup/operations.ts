// The portal's GraphQL: only what a setup session may use (src/graphql/plugins/use-setup-restrictions.ts).
import { graphql } from '../shared/graphql.ts';

export const ViewerQuery = graphql(`
  query SetupViewer { viewer { kind connectionId expiresAt organization { id name } } }
`);

export const StartSetupSession = graphql(`
  mutation StartSetupSession($token: String!) {
    startSetupSession(input: { token: $token }) { viewer { kind connectionId expiresAt organization { id name } } }
  }
`);

export const CreateConnection = graphql(`
  mutation CreateSetupConnection($organizationId: ID!, $name: String!) {
    createDirectoryConnection(input: { organizationId: $organizationId, provider: "scim", name: $name }) {
      connection { id scimBaseUrl }
      secret
    }
  }
`);

export const CreateScimToken = graphql(`
  mutation CreatePortalScimToken($connectionId: ID!, $name: String) {
    createScimToken(input: { connectionId: $connectionId, name: $name }) { token { id name lastFour } secret }
  }
`);

export const RevokeScimToken = graphql(`
  mutation RevokePortalScimToken($tokenId: ID!) { revokeScimToken(input: { tokenId: $tokenId }) { token { id revokedAt } } }
`);

export const ConnectionStatusQuery = graphql(`
  query SetupConnection($id: ID!) {
    connection(id: $id) {
      id name status testMode scimBaseUrl
      firstSync { startedAt completedAt users groups memberships }
      counts { users activeUsers groups memberships }
      requestLog(first: 20) { id at method path status error client }
      health { lastRejectedCredentialsAt }
      scimTokens { id name lastFour createdAt lastUsedAt expiresAt revokedAt }
    }
  }
`);

export const MappingQuery = graphql(`
  query SetupMapping($id: ID!) {
    viewer { organization { id roleRanking defaultRole } }
    connection(id: $id) {
      id
      groups(first: 200) { id displayName memberCount mappings { id workspace role } }
    }
  }
`);

// Apart from the groups: members under each group multiply in the hub's query cost limit.
export const PreviewQuery = graphql(`
  query SetupPreview($id: ID!) {
    connection(id: $id) {
      id
      groups(first: 25) { id displayName members(first: 20) { edges { node { id displayName userName email roles } } } }
    }
  }
`);

// What saving a row would change, asked while it is edited (the engine computes it; nothing is saved).
export const MappingPreviewQuery = graphql(`
  query SetupMappingPreview($groupId: ID!, $mappings: [GroupMappingProposal!]!) {
    groupMappingPreview(input: { groupId: $groupId, mappings: $mappings }) {
      members changed warnings
      changes(first: 5) { before after user { id displayName userName email } }
    }
  }
`);

export const SetGroupMapping = graphql(`
  mutation SetupSetGroupMapping($groupId: ID!, $role: String, $workspace: String) {
    setGroupMapping(input: { groupId: $groupId, role: $role, workspace: $workspace }) { mapping { id workspace role } }
  }
`);

export const RemoveGroupMapping = graphql(`
  mutation SetupRemoveGroupMapping($groupId: ID!, $workspace: String) {
    removeGroupMapping(input: { groupId: $groupId, workspace: $workspace }) { mapping { id } }
  }
`);

export const SetTestMode = graphql(`
  mutation SetupTestMode($id: ID!, $testMode: Boolean!) {
    setConnectionTestMode(input: { connectionId: $id, testMode: $testMode }) { connection { id testMode status } }
  }
`);

export const PauseConnection = graphql(`
  mutation SetupPause($id: ID!) { pauseConnection(input: { connectionId: $id }) { connection { id status } } }
`);

export const ResumeConnection = graphql(`
  mutation SetupResume($id: ID!) { resumeConnection(input: { connectionId: $id }) { connection { id status } } }
`);

export const EndSession = graphql(`
  mutation SetupEndSession { endSession { ended } }
`);
