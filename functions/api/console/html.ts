/**
 * The console's only way to write HTML: a tagged template that escapes every interpolated value unless it
 * is already `Html` (built by this same template). User text can therefore reach a page only escaped.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** Markup that is safe to write as it is: built by `html`, or a constant of the console's own. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What a template accepts: markup, text (escaped), numbers, nothing (skipped), and lists of them. */
export type Child = Html | string | number | boolean | null | undefined | readonly Child[];

function render(value: Child): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\``: the literal parts as written, every value escaped (or spliced when `Html`). */
export function html(strings: TemplateStringsArray, ...values: readonly Child[]): Html {
  let out = strings[0] ?? '';
  for (let index = 0; index < values.length; index++) {
    out += render(values[index] as Child) + (strings[index + 1] ?? '');
  }
  return new Html(out);
}

/** `flag('selected', true)` → ` selected`; false or undefined → nothing. */
export function flag(name: string, on: boolean | undefined): Html {
  return new Html(on ? ` ${name}` : '');
}
