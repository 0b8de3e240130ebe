// Downloads one of the hub's export routes (/audit/*) as a file: fetched with the session cookie and
// the CSRF header (a plain link could not send the header), then saved from a blob URL.
import { CSRF_HEADER } from './client.ts';

export async function downloadFile(path: string, fallbackName: string): Promise<void> {
  const response = await fetch(path, { credentials: 'same-origin', headers: { [CSRF_HEADER]: '1' } });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { message?: string } | null;
    throw new Error(response.status === 401 ? 'you are signed out: sign in again, then retry' : body?.message ?? `the hub answered ${response.status}`);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
