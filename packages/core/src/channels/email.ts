import PostalMime, { type Address, type Email, type Mailbox } from 'postal-mime';
import type { CaptureEvent, EmailDetails } from '../capture';
import type { ChannelsConfig } from '../config';
import { cleanLine, cleanText, normalizeEmail, normalizeName } from '../normalize';

/** The `channels.email` section of the configuration: where inbound mail goes, and which mailboxes are ours. */
export type EmailChannelSource = NonNullable<ChannelsConfig['email']>;

/** A lead's message is cut here: enough for any real enquiry, bounded for the queue (256 KiB) and the alert. */
export const MAX_EMAIL_MESSAGE_CHARS = 20_000;
const MAX_SUBJECT_CHARS = 500;
const MAX_ATTACHMENTS = 50;
const MAX_FILENAME_CHARS = 255;
const MAX_MESSAGE_ID_CHARS = 998;
// What the person wrote is at the top: reading further only costs time on hostile input.
const MAX_SCANNED_CHARS = 200_000;

export interface EmailMailbox {
  readonly address: string;
  readonly name?: string;
}

/** What leadflow reads from one raw message. */
export interface ParsedEmail {
  readonly from?: EmailMailbox;
  readonly replyTo?: EmailMailbox;
  /** RFC 2047 decoded, one line. */
  readonly subject?: string;
  /** The text part (or the HTML part as text), quoted replies and signatures stripped. */
  readonly text: string;
  readonly attachments: EmailDetails['attachments'];
  /** Without angle brackets. */
  readonly messageId?: string;
  readonly inReplyTo?: string;
  /** Oldest first, without angle brackets. */
  readonly references: readonly string[];
  /** Lowercased header name → values, in order (the top-level headers only). */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Lowercased top-level MIME type, e.g. `multipart/report`. */
  readonly contentType: string;
}

/** Why a message produced no capture: all of them are machines talking, never a person. */
export type IgnoredReason =
  | 'auto_submitted'
  | 'bulk_precedence'
  | 'auto_reply_header'
  | 'delivery_report'
  | 'null_sender'
  | 'system_sender'
  | 'out_of_office'
  | 'own_mailbox'
  | 'no_sender';

export type InboundEmailOutcome =
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason }
  | { readonly kind: 'lead'; readonly event: CaptureEvent };

export interface InboundEmailContext {
  readonly source: EmailChannelSource;
  readonly submissionId: string;
  readonly receivedAt: Date;
  /** The mailboxes the message was delivered to (SES `receipt.recipients`, SMTP `RCPT TO`). */
  readonly recipients: readonly string[];
  /** The delivery's own id (SES `mail.messageId`): the natural key of a message without a Message-ID. */
  readonly deliveryId: string;
  /** SES `receipt.dmarcVerdict.status` (PASS, FAIL, GRAY, PROCESSING_FAILED), when the receiver judged. */
  readonly dmarcVerdict?: string | undefined;
}

/**
 * Parses one raw message (MIME bytes as SES stores them) into the canonical capture event, or says why
 * it is not a lead: auto-replies, bounces, bulk mail and our own mailboxes are ignored, so two
 * autoresponders can never ping-pong leads.
 */
export async function captureInboundEmail(
  raw: Uint8Array | string,
  context: InboundEmailContext,
): Promise<InboundEmailOutcome> {
  const parsed = await parseInboundEmail(raw);
  const ours = new Set([...context.source.recipients, ...context.recipients].map((r) => r.toLowerCase()));
  const loop = loopReason(parsed, ours);
  if (loop) return { kind: 'ignored', reason: loop };

  // A site's contact-form relay sends From itself with the visitor in Reply-To: the lead is Reply-To.
  const mailbox = parsed.replyTo ?? parsed.from;
  const email = mailbox ? normalizeEmail(mailbox.address) : undefined;
  if (!mailbox || !email?.ok) return { kind: 'ignored', reason: 'no_sender' };
  if (ours.has(email.value.key)) return { kind: 'ignored', reason: 'own_mailbox' };

  const contact: CaptureEvent['contact'] = { email: email.value.address, emailKey: email.value.key };
  const dmarc = dmarcOf(context.dmarcVerdict);
  // DMARC vouches for the From domain only: a Reply-To (a relay's visitor) is whatever the writer typed.
  const from = parsed.from ? normalizeEmail(parsed.from.address) : undefined;
  const fromSender = from?.ok === true && from.value.key === email.value.key;
  const verified = dmarc === 'pass' && fromSender ? [`email:${email.value.key}`] : [];
  const name = mailbox.name ? normalizeName(mailbox.name) : undefined;
  if (name?.ok && name.value.toLowerCase() !== email.value.key) contact.name = name.value;

  const messageId = parsed.messageId ?? context.deliveryId;
  const threadRoot = parsed.references[0] ?? parsed.inReplyTo ?? messageId;
  const ourMailbox = deliveredMailbox(context);
  return {
    kind: 'lead',
    event: {
      version: 1,
      submissionId: context.submissionId,
      channel: 'email',
      sourceId: ourMailbox.sourceId,
      teamId: ourMailbox.teamId,
      receivedAt: context.receivedAt.toISOString(),
      language: context.source.language,
      contact,
      verified,
      ...(parsed.text ? { message: parsed.text } : {}),
      consent: false,
      urgent: false,
      answers: {},
      source: { utm: {} },
      externalId: messageId,
      conversationId: `email:${threadRoot}`,
      email: {
        messageId,
        deliveryId: context.deliveryId,
        ...(dmarc ? { dmarc } : {}),
        ...(parsed.subject ? { subject: parsed.subject } : {}),
        attachments: [...parsed.attachments],
      },
    },
  };
}

/** The capture's reading of an SES DMARC verdict; undefined when the receiver gave none. */
function dmarcOf(verdict: string | undefined): 'pass' | 'fail' | 'none' | undefined {
  if (verdict === undefined) return undefined;
  const status = verdict.toUpperCase();
  return status === 'PASS' ? 'pass' : status === 'FAIL' ? 'fail' : 'none';
}

/** Reads a raw message: sender, Reply-To, subject, the stripped text, attachments and threading headers. */
export async function parseInboundEmail(raw: Uint8Array | string): Promise<ParsedEmail> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  const headers = new Map<string, string[]>();
  for (const header of email.headers) {
    const values = headers.get(header.key);
    if (values) values.push(header.value);
    else headers.set(header.key, [header.value]);
  }

  const from = mailboxFrom(email.from);
  const replyTo = mailboxFrom(email.replyTo?.[0]);
  const subjectRaw = email.subject === undefined ? undefined : decodeIso2022Kr(email.subject);
  const subject = subjectRaw === undefined ? undefined : truncate(cleanLine(subjectRaw), MAX_SUBJECT_CHARS);
  return {
    ...(from ? { from } : {}),
    ...(replyTo ? { replyTo } : {}),
    ...(subject ? { subject } : {}),
    text: bodyText(email),
    attachments: email.attachments.slice(0, MAX_ATTACHMENTS).map((attachment) => ({
      ...(attachment.filename
        ? { filename: truncate(cleanLine(attachment.filename), MAX_FILENAME_CHARS) }
        : {}),
      contentType: attachment.mimeType.toLowerCase(),
      size: byteLength(attachment.content),
    })),
    ...optional('messageId', messageIds(email.messageId)[0]),
    ...optional('inReplyTo', messageIds(email.inReplyTo)[0]),
    references: messageIds(email.references),
    headers,
    contentType: (headers.get('content-type')?.[0] ?? 'text/plain').split(';')[0]?.trim().toLowerCase() ?? '',
  };
}

// RFC 3834: auto-generated mail says so; `Precedence` and the X- headers are the older conventions.
const BULK_PRECEDENCE = new Set(['bulk', 'junk', 'list', 'auto_reply']);
const SYSTEM_SENDERS = /^(mailer-daemon|mail-daemon|postmaster)@/i;
const OUT_OF_OFFICE =
  /^\s*[[(]?\s*(auto(matic)?[\s_-]*(reply|response|antwort)|autoreply|auto:|out[\s-]+of[\s-]+(the[\s-]+)?office|ooo\b|abwesenheit|absence|réponse automatique|respuesta automática|자동\s*(회신|응답)|부재\s*중|ตอบกลับอัตโนมัติ|不在|自動(返信|応答))/i;

/** Why this message was written by a machine (and must not become a lead, or be answered), if it was. */
export function loopReason(
  parsed: ParsedEmail,
  ownMailboxes: ReadonlySet<string> = new Set(),
): IgnoredReason | undefined {
  const first = (name: string) => parsed.headers.get(name)?.[0]?.trim().toLowerCase();
  if (parsed.contentType === 'multipart/report') return 'delivery_report';
  const autoSubmitted = first('auto-submitted');
  if (autoSubmitted && !/^no\b/.test(autoSubmitted)) return 'auto_submitted';
  const precedence = first('precedence');
  if (precedence && BULK_PRECEDENCE.has(precedence)) return 'bulk_precedence';
  if (first('x-autoreply') || first('x-autorespond') || first('x-autoresponse')) return 'auto_reply_header';
  const returnPath = first('return-path');
  if (returnPath !== undefined && /^<?\s*>?$/.test(returnPath)) return 'null_sender';
  if (parsed.from && SYSTEM_SENDERS.test(parsed.from.address)) return 'system_sender';
  if (parsed.subject && OUT_OF_OFFICE.test(parsed.subject)) return 'out_of_office';
  if (parsed.from && ownMailboxes.has(parsed.from.address.toLowerCase())) return 'own_mailbox';
  return undefined;
}

// Reply attributions, which clients wrap over up to three lines: how the first line starts, and how
// the whole attribution reads.
const ATTRIBUTION: readonly { start: RegExp; whole: RegExp }[] = [
  { start: /^On\s/i, whole: /^On\s.{1,400}\bwrote\s?:$/i },
  { start: /^Le\s/i, whole: /^Le\s.{1,400}\ba écrit\s?:$/i },
  { start: /^Am\s/i, whole: /^Am\s.{1,400}\bschrieb\b.{0,200}:$/i },
  { start: /^El\s/i, whole: /^El\s.{1,400}\bescribió\s?:$/i },
  // Gmail in Korean: "2026년 11월 20일 (목) 오전 10:12, 이름 <a@b.c>님이 작성:"
  { start: /^\d{4}\s?(년|[./-])/, whole: /님이\s?작성\s?:$/ },
  // Gmail in Thai: "เมื่อ วันจันทร์ที่ … <a@b.c> เขียนว่า:"
  { start: /^เมื่อ/, whole: /เขียนว่า\s?:$/ },
];
const SEPARATOR = [
  /^-{2,}\s*(original message|forwarded message|weitergeleitete nachricht|message d'origine|mensaje original|원본 메시지|전달된 메시지|ข้อความต้นฉบับ|ข้อความที่ส่งต่อ)\s*-{2,}$/i,
  /^begin forwarded message\s?:$/i,
  /^_{10,}$/,
  // RFC 3676 signature delimiter, and the same with the trailing space trimmed by an editor.
  /^-- ?$/,
  /^(sent from my\b.*|sent from (mail|outlook|yahoo mail)\b.*|get outlook for\b.*|sent via\b.*)$/i,
  /에서 보냄$/,
  /^ส่งจาก\s/,
];
// Outlook's reply header block: "From: …" then "Sent:"/"Date:" within a few lines.
const HEADER_FROM = /^\*?(from|de|von|보낸 사람|จาก)\s?:\*?\s/i;
const HEADER_NEXT = /^\*?(sent|date|envoyé|gesendet|enviado|보낸 날짜|날짜|ส่ง|วันที่|to|받는 사람)\s?:/i;

/**
 * Keeps what the person wrote in this message: drops `>` quoted lines and cuts at reply attributions
 * ("On … wrote:", "…님이 작성:", Outlook header blocks), forwarded/original-message separators, the
 * `-- ` signature delimiter and "Sent from my iPhone"-style lines.
 */
export function stripQuotedText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    if (endsHere(lines, index)) break;
    if (line.startsWith('>')) continue;
    kept.push((lines[index] ?? '').trimEnd());
  }
  return kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function endsHere(lines: readonly string[], index: number): boolean {
  const line = (lines[index] ?? '').trim();
  if (line === '') return false;
  if (SEPARATOR.some((pattern) => pattern.test(line))) return true;
  for (const { start, whole } of ATTRIBUTION) {
    if (!start.test(line)) continue;
    const window: string[] = [];
    for (const part of lines.slice(index, index + 3)) {
      if (part.trim() === '') break;
      window.push(part.trim());
      if (whole.test(window.join(' '))) return true;
    }
  }
  if (HEADER_FROM.test(line)) {
    return lines.slice(index + 1, index + 5).some((next) => HEADER_NEXT.test(next.trim()));
  }
  return false;
}

/**
 * Decodes ISO-2022-KR (RFC 1557), which TextDecoder does not support: postal-mime falls back to
 * windows-1252, which keeps its 7-bit bytes as they are, so they can be read here. Shifted-out pairs
 * are KS X 1001, that is EUC-KR with the high bit cleared.
 */
export function decodeIso2022Kr(value: string): string {
  if (!value.includes('\x1b$)C') || !value.includes('\x0e')) return value;
  // ISO-2022-KR is a 7-bit encoding: anything above ASCII means the text was decoded some other way.
  if ([...value].some((char) => char.charCodeAt(0) > 0x7f)) return value;
  const bytes: number[] = [];
  let shifted = false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (value.startsWith('\x1b$)C', index)) {
      index += 3;
    } else if (code === 0x0e) {
      shifted = true;
    } else if (code === 0x0f || code === 0x0a || code === 0x0d) {
      shifted = false;
      if (code !== 0x0f) bytes.push(code);
    } else bytes.push(shifted && code > 0x20 && code < 0x7f ? code | 0x80 : code);
  }
  return new TextDecoder('euc-kr').decode(new Uint8Array(bytes));
}

function bodyText(email: Email): string {
  const text = (email.text ?? (email.html ? htmlToText(email.html.slice(0, MAX_SCANNED_CHARS)) : '')).slice(
    0,
    MAX_SCANNED_CHARS,
  );
  const full = cleanText(decodeIso2022Kr(text));
  // A message that is only a quote or a forward still carries what the person sent us.
  const own = stripQuotedText(full) || full;
  return truncate(own, MAX_EMAIL_MESSAGE_CHARS);
}

const BLOCK_END = new Set([
  'p',
  'div',
  'li',
  'tr',
  'table',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'pre',
]);
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The text of an HTML-only message: block elements become lines, `<blockquote>` content becomes `> `
 * lines (so the quote stripping drops it), and head, style and script go. A linear tag scan, no regex
 * backtracking on hostile markup.
 */
function htmlToText(html: string): string {
  let out = '';
  let depth = 0;
  let hidden = 0;
  // `[^<>]*` stops at the next `<`, so unclosed tags cannot make the scan quadratic.
  for (const [token, closing, tag] of withoutComments(html).matchAll(
    /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>|[^<]+|</g,
  )) {
    if (tag === undefined) {
      if (hidden > 0) continue;
      const text = token.replace(/\s+/g, ' ');
      out += depth > 0 ? text.replace(/^ /, '') : text;
      continue;
    }
    const name = tag.toLowerCase();
    if (name === 'head' || name === 'style' || name === 'script' || name === 'title') {
      hidden = Math.max(0, hidden + (closing ? -1 : 1));
      continue;
    }
    if (name === 'blockquote') depth = Math.max(0, depth + (closing ? -1 : 1));
    if (name === 'br' || (BLOCK_END.has(name) && (closing || name === 'blockquote'))) {
      out += `\n${'> '.repeat(depth)}`;
    } else if (name === 'li' && !closing) out += '- ';
  }
  return out
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, code: string) => {
      if (code.startsWith('#')) {
        const point =
          code[1]?.toLowerCase() === 'x' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1));
        return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : '';
      }
      return ENTITIES[code.toLowerCase()] ?? entity;
    })
    .split('\n')
    .map((line) => line.trim())
    .join('\n');
}

/** Drops `<!-- … -->` with indexOf, not a lazy regex that rescans to the end for every unclosed comment. */
function withoutComments(html: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = html.indexOf('<!--', from);
    if (start < 0) return out + html.slice(from);
    out += html.slice(from, start);
    const end = html.indexOf('-->', start + 4);
    if (end < 0) return out;
    from = end + 3;
  }
}

function mailboxFrom(address: Address | undefined): EmailMailbox | undefined {
  const mailbox: Mailbox | undefined = address?.group ? address.group[0] : address;
  if (!mailbox?.address) return undefined;
  const name = cleanLine(decodeIso2022Kr(mailbox.name ?? ''));
  return { address: mailbox.address, ...(name ? { name } : {}) };
}

/** `<a@b> <c@d>` → `['a@b', 'c@d']`; a bare id without brackets is taken as it is. */
function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  const bracketed = [...value.matchAll(/<([^<>\s]+)>/g)].map((match) => match[1] ?? '');
  const ids = bracketed.length > 0 ? bracketed : value.split(/\s+/);
  return ids.map((id) => cleanLine(id).slice(0, MAX_MESSAGE_ID_CHARS)).filter((id) => id.length > 0);
}

/**
 * Which of our mailboxes the message came in through, and whose team it goes to: the first configured
 * recipient it was delivered to (by address, in configuration order) and that recipient's team, else
 * the channel's team (e.g. a delivery to another address of a configured domain).
 */
function deliveredMailbox(context: InboundEmailContext): { sourceId: string; teamId: string } {
  const { recipients, recipientTeams, teamId } = context.source;
  const configured = recipients.map((r) => r.toLowerCase());
  const delivered = context.recipients.map((r) => r.toLowerCase());
  const matched = configured.find((r) => delivered.includes(r));
  if (matched) return { sourceId: matched, teamId: recipientTeams[matched] ?? teamId };
  const sourceId =
    delivered.find((r) => configured.some((c) => c.split('@')[1] === r.split('@')[1])) ??
    delivered[0] ??
    configured[0] ??
    'email';
  return { sourceId, teamId };
}

function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = value.slice(0, max - 1);
  // Never leave half a surrogate pair at the cut.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function byteLength(content: ArrayBuffer | Uint8Array | string): number {
  return typeof content === 'string' ? new TextEncoder().encode(content).byteLength : content.byteLength;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
