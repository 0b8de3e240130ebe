// Relay connection page sizes (Pothos prisma connections), shared by the schema builder and the
// cost limit, which counts a connection without `first`/`last` at the size it will return.
export const CONNECTION_PAGE_SIZE = { default: 50, max: 500 } as const;
