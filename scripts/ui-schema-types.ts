// The introspection gql.tada types the UI's documents with (ui/shared/graphql-env.d.ts), made from
// schema.graphql. Why not `gql.tada generate-output`: its CLI reads tsconfig through TypeScript's JS API,
// which TypeScript 7 (the Go compiler this repo uses) no longer has; this calls the same functions.
import { buildSchema, introspectionFromSchema } from 'graphql';
import { minifyIntrospection, outputIntrospectionFile } from '@gql.tada/internal';

export const UI_SCHEMA_TYPES_PATH = 'ui/shared/graphql-env.d.ts';

export function uiSchemaTypes(sdl: string): string {
  const introspection = minifyIntrospection(introspectionFromSchema(buildSchema(sdl)));
  return outputIntrospectionFile(introspection, { fileType: UI_SCHEMA_TYPES_PATH, shouldPreprocess: true });
}
