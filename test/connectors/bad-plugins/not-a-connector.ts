// A module that loads but exports no connector.
export const version = '1.0.0';
