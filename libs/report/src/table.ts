// HTML tables for the reports. Cells are HTML (a page often puts markup in them: an interval
// with a grey span, a highlighted difference); whatever text goes in must be escaped first.

/** A cell: its HTML, or its HTML and a class for the <td>. */
export type Cell = string | { html: string; class?: string };

export interface TableOptions {
  /** Header cells (HTML), one row of <th>; none when omitted. */
  head?: readonly string[];
  /** Body rows of cells. */
  rows: readonly (readonly Cell[])[];
  /** The first cell of each body row is a <th> (a row label). */
  rowHeaders?: boolean;
  /** A class for the <table>. */
  class?: string;
}

function cell(c: Cell, tag: 'td' | 'th'): string {
  if (typeof c === 'string') return `<${tag}>${c}</${tag}>`;
  return `<${tag}${c.class ? ` class="${c.class}"` : ''}>${c.html}</${tag}>`;
}

/** A <table> with an optional header row; '' when it has neither a header nor rows. */
export function htmlTable(o: TableOptions): string {
  if (!o.head && !o.rows.length) return '';
  const head = o.head ? `<thead><tr>${o.head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` : '';
  const body = o.rows.map((r) => `<tr>${r.map((c, i) => cell(c, o.rowHeaders && i === 0 ? 'th' : 'td')).join('')}</tr>`).join('');
  return `<table${o.class ? ` class="${o.class}"` : ''}>${head}<tbody>${body}</tbody></table>`;
}
