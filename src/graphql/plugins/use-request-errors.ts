// Requests yoga refuses before any operation runs still get a GraphQL error with a code:
//  - a body of a media type yoga does not read (text/plain, multipart...) and an Accept it cannot
//    answer are refused by yoga with an empty 415 / 406; clients get { errors: [{ extensions: { code } }] };
//  - a body that is not JSON: yoga attaches the JSON parser's message as `originalError`, which
//    quotes the start of the body back (a password in `variables`, say). It is dropped;
//  - variables that do not coerce to their types get BAD_USER_INPUT (graphql-js gives no code).
import type { Plugin } from 'graphql-yoga';

export function requestError(code: string, message: string): Record<string, unknown> {
  return { errors: [{ message, extensions: { code, retryable: false } }] };
}

export function useRequestErrors(): Plugin {
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      const requestLevel = !('data' in result);
      for (const error of result.errors ?? []) {
        const extensions = error.extensions as Record<string, unknown> | undefined;
        if (!extensions) continue;
        if (extensions.code === 'BAD_REQUEST') delete extensions.originalError;
        // Variables that do not fit their types (graphql-js's coercion errors carry no code).
        else if (requestLevel && extensions.code === undefined) extensions.code = 'BAD_USER_INPUT';
      }
    },
    onResponse({ response, setResponse, fetchAPI }) {
      if ((response.status !== 415 && response.status !== 406) || response.headers.get('content-type')) return;
      const body =
        response.status === 415
          ? requestError('UNSUPPORTED_MEDIA_TYPE', 'send the operation as JSON: Content-Type: application/json (or a GET with a query string)')
          : requestError('NOT_ACCEPTABLE', 'accept application/graphql-response+json or application/json');
      setResponse(new fetchAPI.Response(JSON.stringify(body), { status: response.status, headers: { 'content-type': 'application/json; charset=utf-8' } }));
    },
  };
}
