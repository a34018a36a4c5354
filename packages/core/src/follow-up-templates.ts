import { z } from 'zod';
import { cleanLine, cleanText } from './normalize';
import { ACK_NAME_MAX, escapeHtml, hasLinkLikeText, headerText, type RenderedEmail } from './templates';
import { type Language, languageSchema } from './vocabulary';

/**
 * The lead-facing templates of configuration (`templates`): a subject, a text and an HTML body per language,
 * each template with a `version` that is recorded with every send, so a reader of the timeline knows which
 * wording a lead received. Placeholders (`{{leadName}}`, `{{businessName}}`, `{{ownerName}}`, each with an
 * optional fallback: `{{leadName|there}}`) are filled with values that are always escaped for where they
 * land: HTML-escaped in the HTML, one clean line in the subject, control characters removed in the text.
 * The template's own wording is trusted configuration (a reviewed commit), the values never are.
 */

/** What a template may name: the person's own name, the business, and the manager who owns the lead. */
export const TEMPLATE_VARIABLES = ['leadName', 'businessName', 'ownerName'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Readonly<Record<TemplateVariable, string | undefined>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*(?:\|([^{}]*))?\}\}/g;

/** The names a template text uses that are not template variables (configuration errors). */
export function unknownPlaceholders(text: string): string[] {
  const known = new Set<string>(TEMPLATE_VARIABLES);
  return [...text.matchAll(PLACEHOLDER)]
    .map((match) => match[1] as string)
    .filter((name) => !known.has(name));
}

const templateText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((text, ctx) => {
      const unknown = unknownPlaceholders(text);
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder(s) ${unknown.map((name) => `{{${name}}}`).join(', ')}; known: ${TEMPLATE_VARIABLES.join(', ')}`,
        });
      }
    });

/** One language of a template. `html` is the body's inner HTML (the renderer wraps it and adds the footer). */
export const templateContentSchema = z.object({
  subject: templateText(200),
  text: templateText(20_000),
  html: templateText(50_000),
});
export type TemplateContent = z.infer<typeof templateContentSchema>;

export const templateSchema = z.object({
  /** Raised with every change of wording; recorded with each send. */
  version: z.number().int().positive(),
  /** English is required: it is what a missing translation falls back to. */
  languages: z.partialRecord(languageSchema, templateContentSchema).refine((languages) => languages.en, {
    message: 'a template needs English (en): a missing translation falls back to it',
  }),
});
export type Template = z.infer<typeof templateSchema>;

export const templatesSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes'),
  templateSchema,
);
export type Templates = z.infer<typeof templatesSchema>;

/** Built-in words around a lead-facing template: the unsubscribe footer, in each language. */
const FOOTER: Record<Language, { why: (business: string) => string; unsubscribe: string }> = {
  en: {
    why: (business) => `You get this email because you contacted ${business} and agreed to hear from us.`,
    unsubscribe: 'Unsubscribe',
  },
  ko: {
    why: (business) => `${business}에 문의하시면서 연락 수신에 동의하셔서 이 메일을 보내드립니다.`,
    unsubscribe: '수신 거부',
  },
  th: {
    why: (business) => `คุณได้รับอีเมลนี้เพราะคุณติดต่อ ${business} และยินยอมให้เราติดต่อกลับ`,
    unsubscribe: 'ยกเลิกการรับอีเมล',
  },
};

export interface RenderedTemplate {
  readonly email: RenderedEmail;
  /** The language the email is in: the one asked for, or English when it had no translation. */
  readonly language: Language;
  /** True when the asked-for language was missing and English was used: the caller logs it. */
  readonly fellBack: boolean;
  readonly version: number;
}

/**
 * The person's name as a lead-facing email may greet them: one clean line, cut short, and left out when it
 * holds anything a mail client would make a link of (a form is a place anyone can type a URL into).
 */
export function greetingName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const line = headerText(name, 200);
  if (line === '' || hasLinkLikeText(line)) return undefined;
  return headerText(line, ACK_NAME_MAX);
}

/** Fills placeholders; `safe` makes each value safe where it lands (the template's own text is trusted). */
function fill(text: string, values: TemplateValues, safe: (value: string) => string): string {
  return text.replace(PLACEHOLDER, (_, name: string, fallback: string | undefined) => {
    const value = values[name as TemplateVariable];
    return value !== undefined && value !== '' ? safe(value) : (fallback ?? '');
  });
}

/**
 * Renders a template for a lead in `language`, falling back to English (and saying so) when that
 * translation is missing. Every value is escaped; the footer with the unsubscribe link is always added.
 */
export function renderTemplate(
  template: Template,
  options: {
    readonly language: Language;
    readonly values: TemplateValues;
    /** The one-click unsubscribe page; shown in the footer of subscription mail. */
    readonly unsubscribeUrl: string;
  },
): RenderedTemplate {
  const asked = template.languages[options.language];
  const language: Language = asked ? options.language : 'en';
  const content = (asked ?? template.languages.en) as TemplateContent;
  const values: TemplateValues = {
    leadName: greetingName(options.values.leadName),
    businessName: options.values.businessName && cleanLine(options.values.businessName),
    ownerName: options.values.ownerName && cleanLine(options.values.ownerName),
  };
  const footer = FOOTER[language];
  const business = values.businessName ?? '';
  const subject = headerText(fill(content.subject, values, (value) => headerText(value)));
  const text = [
    fill(cleanText(content.text), values, cleanLine),
    '',
    '--',
    footer.why(business),
    `${footer.unsubscribe}: ${options.unsubscribeUrl}`,
  ].join('\n');
  const html = `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:15px;line-height:1.5;color:#111">${fill(
    content.html,
    values,
    escapeHtml,
  )}<hr style="border:0;border-top:1px solid #ddd;margin:24px 0 8px"><p style="font-size:12px;color:#666">${escapeHtml(
    footer.why(business),
  )} <a href="${escapeHtml(options.unsubscribeUrl)}" style="color:#666">${escapeHtml(footer.unsubscribe)}</a></p></body></html>`;
  return {
    email: { subject, text, html },
    language,
    fellBack: language !== options.language,
    version: template.version,
  };
}
