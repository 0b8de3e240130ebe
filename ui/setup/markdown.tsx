// IdP instructions from docs/scim, rendered with marked and sanitized with DOMPurify (the markdown
// is ours, but a page that sets innerHTML sanitizes it anyway). Links between the docs pages make
// no sense here: relative links become plain text, outside links open in a new tab.
import { useMemo } from 'react';
import { marked } from 'marked';
import DOMPurify from 'dompurify';

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName !== 'A') return;
  const href = node.getAttribute('href') ?? '';
  if (/^https:\/\//.test(href)) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  } else {
    node.removeAttribute('href');
  }
});

/** The page's first heading is the portal's own; "## " sections after the steps are reference. */
export function splitInstructions(markdown: string): { steps: string; reference: string } {
  const body = markdown.replace(/^# .*\n+/, '');
  const at = body.search(/^## /m);
  return at < 0 ? { steps: body, reference: '' } : { steps: body.slice(0, at), reference: body.slice(at) };
}

export function Markdown({ source, className }: { source: string; className?: string }) {
  const html = useMemo(() => DOMPurify.sanitize(marked.parse(source, { async: false })), [source]);
  return <div className={`markdown${className ? ` ${className}` : ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
