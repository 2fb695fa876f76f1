// The page shell every rapo report shares: one self-contained HTML5 document (inline CSS, no
// scripts, no external files), so a report opens from disk anywhere and never changes after it
// is written.
import { escapeHtml } from './format.js';

export interface PageOptions {
  /** The document title (escaped here). */
  title: string;
  /** The page's own CSS, inlined in a <style> element. */
  css: string;
  /** Everything inside <body>, as HTML. */
  body: string;
}

/** A complete HTML5 document around `body`. */
export function htmlPage(o: PageOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<style>
${o.css.trim()}
</style>
</head>
<body>
${o.body}
</body>
</html>
`;
}
