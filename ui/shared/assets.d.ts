// esbuild bundles CSS imported from the apps into <app>-<hash>.css (scripts/build.ts).
declare module '*.css';
// docs/scim/*.md bundled as text (esbuild's text loader): the setup portal's IdP instructions.
declare module '*.md' {
  const text: string;
  export default text;
}
