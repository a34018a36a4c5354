import { ACTION_LINK_ACTIONS, type ActionLinkAction, actionLinkLabel } from './action-link';
import type { Channel } from './capture';
import type { FormConfig, Language, LeadflowConfig, Manager } from './config';
import { cleanLine } from './normalize';
import type { Notification } from './notification';

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string);
}

/** Makes user text safe for a mail header: one line, no CR/LF/NUL (CWE-93), bounded length. */
export function headerText(value: string, max = 150): string {
  // Cut by code points, never inside a surrogate pair.
  const chars = Array.from(cleanLine(value));
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
}

const CHANNEL_LABELS: Record<Channel, string> = {
  web_form: 'web form',
  phone_call: 'phone call',
  sms: 'SMS',
  email: 'email',
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  telegram: 'Telegram',
  chat: 'website chat',
};

/** The name to show for a lead: their name, else email, else phone, else their platform handle. */
export function displayName(
  contact: Notification['capture']['contact'],
  handles: Notification['capture']['handles'] = {},
): string {
  const handle = Object.entries(handles ?? {}).find(([, value]) => value);
  const platform = handle
    ? `${CHANNEL_LABELS[handle[0] as Channel] ?? handle[0]} user ${handle[1]}`
    : undefined;
  return contact.name ?? contact.email ?? contact.phone ?? platform ?? 'Unknown';
}

interface Row {
  readonly label: string;
  readonly value: string;
  readonly href?: string;
}

function rowsToText(rows: readonly Row[]): string {
  return rows.map((row) => `${row.label}: ${row.value}`).join('\n');
}

function rowsToHtml(rows: readonly Row[]): string {
  const cell = 'padding:4px 12px 4px 0;vertical-align:top;';
  return rows
    .map((row) => {
      const value = row.href
        ? `<a href="${escapeHtml(row.href)}">${escapeHtml(row.value)}</a>`
        : escapeHtml(row.value).replace(/\n/g, '<br>');
      return `<tr><th align="left" style="${cell}color:#555;font-weight:normal">${escapeHtml(row.label)}</th><td style="${cell}">${value}</td></tr>`;
    })
    .join('');
}

function page(lang: Language, title: string, inner: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:15px;line-height:1.5;color:#111">${inner}</body></html>`;
}

/**
 * The alert a manager gets for a new or returning lead, a missed call, or a new message on an open lead.
 * `actions` are the signed one-tap links for this manager ("I'm on it", "Pass it on"), labelled in the
 * manager's language; without them the alert has only "Open the lead".
 */
export function renderManagerAlert(
  notification: Notification,
  options: {
    form?: FormConfig | undefined;
    leadLinkBaseUrl: string;
    manager: Manager;
    actions?: Readonly<Record<ActionLinkAction, string>> | undefined;
  },
): RenderedEmail {
  const { capture, assignment } = notification;
  const name = displayName(capture.contact, capture.handles);
  const channel = CHANNEL_LABELS[capture.channel];
  // "Returning" tells a manager a new lead is an existing customer; on a follow-up message it is noise.
  const returning = notification.returning && notification.kind === 'manager_alert';
  // The priority the rules gave (a missed call is urgent even without a rule), then "returning".
  const priority = assignment.priority ?? (capture.urgent ? 'urgent' : 'normal');
  const prefix =
    priority === 'urgent' ? '[URGENT] ' : priority === 'high' ? '[HIGH] ' : returning ? '[Returning] ' : '';
  const headline =
    notification.kind === 'message_alert'
      ? capture.call
        ? // A recording that arrived after its call's lead was opened: the voicemail is the news.
          capture.call.missed && capture.call.recordingUrl
          ? `Voicemail from ${name}`
          : `Call with ${name} (${capture.call.status}) on an open lead`
        : `New message from ${name} via ${channel}`
      : capture.call?.missed
        ? `Missed call from ${name}: call back`
        : `New lead: ${name} via ${channel}`;
  const subject = headerText(`${prefix}${headline}`);
  const leadUrl = `${options.leadLinkBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(notification.leadId)}`;

  const contactRows: Row[] = [
    ...(capture.contact.name ? [{ label: 'Name', value: capture.contact.name }] : []),
    ...(capture.contact.email
      ? [{ label: 'Email', value: capture.contact.email, href: `mailto:${capture.contact.email}` }]
      : []),
    // Still a lead, but the From may be forged: whoever answers must not take it for the customer's.
    ...(capture.email?.dmarc === 'fail'
      ? [{ label: 'Sender', value: 'unverified: the message failed DMARC, so anyone could have sent it' }]
      : []),
    ...(capture.contact.phone
      ? [
          {
            label: 'Phone',
            value: `${capture.contact.phone}${capture.contact.phoneExtension ? ` ext. ${capture.contact.phoneExtension}` : ''}`,
            // RFC 3966: a phone's dialler takes the extension from the link.
            href: `tel:${capture.contact.phone}${capture.contact.phoneExtension ? `;ext=${capture.contact.phoneExtension}` : ''}`,
          },
        ]
      : []),
    ...(notification.possibleDuplicateOf
      ? [
          {
            label: 'Possible duplicate',
            value: `of an existing customer (contact ${notification.possibleDuplicateOf}): the details were typed into a public form, so they were not added to that customer`,
          },
        ]
      : []),
    { label: 'Language', value: capture.language },
    { label: 'Consent to contact', value: capture.consent ? 'yes' : 'no' },
  ];
  const { call, email } = capture;
  const detailRows: Row[] = [
    ...(call
      ? [
          { label: 'Call', value: `${call.missed ? 'missed' : 'answered'} (${call.status})` },
          ...(call.durationSeconds === undefined
            ? []
            : [{ label: 'Duration', value: `${call.durationSeconds} s` }]),
          ...(call.recordingUrl
            ? [{ label: 'Recording', value: call.recordingUrl, href: call.recordingUrl }]
            : []),
          ...(call.to ? [{ label: 'Number called', value: call.to }] : []),
        ]
      : []),
    ...(email
      ? [
          ...(email.subject ? [{ label: 'Subject', value: email.subject }] : []),
          ...email.attachments.map((attachment) => ({
            label: 'Attachment',
            value: `${attachment.filename ?? '(unnamed)'} (${attachment.contentType}, ${attachment.size} bytes)`,
          })),
        ]
      : []),
  ];
  const answerRows: Row[] = [
    ...detailRows,
    ...Object.entries(capture.answers).map(([field, value]) => ({
      label: options.form?.fields.find((f) => f.name === field)?.label ?? field,
      value,
    })),
  ];
  const sourceRows: Row[] = [
    { label: 'Channel', value: channel },
    {
      label: capture.channel === 'web_form' ? 'Form' : 'Source',
      value: options.form?.name ?? capture.sourceId,
    },
    ...(capture.source.pageUrl
      ? [{ label: 'Page', value: capture.source.pageUrl, href: capture.source.pageUrl }]
      : []),
    ...(capture.source.referrer ? [{ label: 'Referrer', value: capture.source.referrer }] : []),
    ...Object.entries(capture.source.utm).map(([key, value]) => ({ label: key, value })),
    { label: 'Captured at', value: capture.receivedAt },
    ...(assignment.priority ? [{ label: 'Priority', value: assignment.priority }] : []),
    ...(assignment.score === undefined ? [] : [{ label: 'Score', value: String(assignment.score) }]),
    ...(assignment.tags && assignment.tags.length > 0
      ? [{ label: 'Tags', value: assignment.tags.join(', ') }]
      : []),
    ...(assignment.rule &&
    !['default', 'conversation', 'sticky_owner', 'round_robin'].includes(assignment.rule)
      ? [{ label: 'Rule', value: assignment.rule }]
      : []),
    { label: 'Assigned because', value: assignment.reason },
    { label: 'Lead id', value: notification.leadId },
  ];

  const { actions } = options;
  const actionLinks = actions
    ? ACTION_LINK_ACTIONS.map((action) => ({
        action,
        label: actionLinkLabel(action, options.manager.language),
        href: actions[action],
      }))
    : [];

  const text = [
    `${prefix}${headline} (for ${options.manager.name})`,
    ...(actionLinks.length > 0 ? ['', ...actionLinks.map((link) => `${link.label}: ${link.href}`)] : []),
    '',
    rowsToText(contactRows),
    ...(capture.message ? ['', 'Message:', capture.message] : []),
    ...(answerRows.length > 0 ? ['', rowsToText(answerRows)] : []),
    '',
    rowsToText(sourceRows),
    '',
    `Open the lead: ${leadUrl}`,
  ].join('\n');

  const html = page(
    'en',
    subject,
    [
      `<h2 style="margin:0 0 12px">${priority === 'urgent' ? '<span style="color:#b00020">Urgent</span> ' : priority === 'high' ? '<span style="color:#9a5b00">High priority</span> ' : ''}${escapeHtml(headline)}</h2>`,
      `<p>${[
        ...actionLinks.map(
          (link) =>
            `<a href="${escapeHtml(link.href)}" style="display:inline-block;margin:0 8px 8px 0;padding:8px 16px;background:${link.action === 'acknowledge' ? '#137333' : '#5f6368'};color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(link.label)}</a>`,
        ),
        `<a href="${escapeHtml(leadUrl)}" style="display:inline-block;margin:0 8px 8px 0;padding:8px 16px;background:#0b57d0;color:#fff;border-radius:6px;text-decoration:none">Open the lead</a>`,
      ].join('')}</p>`,
      `<table role="presentation" style="border-collapse:collapse">${rowsToHtml(contactRows)}</table>`,
      capture.message
        ? `<h3 style="margin:16px 0 4px">Message</h3><blockquote style="margin:0;padding:8px 12px;border-left:3px solid #ccc;white-space:pre-wrap">${escapeHtml(capture.message)}</blockquote>`
        : '',
      answerRows.length > 0
        ? `<table role="presentation" style="border-collapse:collapse;margin-top:12px">${rowsToHtml(answerRows)}</table>`
        : '',
      `<h3 style="margin:16px 0 4px">Source</h3><table role="presentation" style="border-collapse:collapse">${rowsToHtml(sourceRows)}</table>`,
    ].join(''),
  );
  return { subject, text, html };
}

/**
 * To a team lead when nobody in their team could take a lead: it waits in the team's queue, or it went
 * to the fallback team. Says who is waiting, why nobody could take it, and where it is now.
 */
export function renderTeamWarning(
  notification: Extract<Notification, { kind: 'team_warning' }>,
  options: { config: LeadflowConfig; leadLinkBaseUrl: string },
): RenderedEmail {
  const { capture, assignment } = notification;
  const name = displayName(capture.contact, capture.handles);
  const teamName = (id: string) => options.config.teams.get(id)?.name ?? id;
  const from = assignment.fallbackFrom?.[0];
  const headline =
    notification.warning === 'queued'
      ? `Nobody available in ${teamName(assignment.teamId)}: a lead from ${name} is waiting`
      : `Nobody available in ${teamName(from ?? assignment.teamId)}: a lead from ${name} went to ${teamName(assignment.teamId)}`;
  const subject = headerText(`[${notification.warning === 'queued' ? 'Queued' : 'Fallback'}] ${headline}`);
  const leadUrl = `${options.leadLinkBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(notification.leadId)}`;
  const skipped = (assignment.candidates ?? []).filter((candidate) => !candidate.chosen);
  const rows: Row[] = [
    { label: 'Channel', value: CHANNEL_LABELS[capture.channel] },
    { label: 'Captured at', value: capture.receivedAt },
    ...(assignment.priority ? [{ label: 'Priority', value: assignment.priority }] : []),
    ...skipped.map((candidate) => ({ label: candidate.managerId, value: candidate.why })),
    { label: 'Why', value: assignment.reason },
    { label: 'Lead id', value: notification.leadId },
  ];
  const text = [headline, '', rowsToText(rows), '', `Open the lead: ${leadUrl}`].join('\n');
  const html = page(
    'en',
    subject,
    [
      `<h2 style="margin:0 0 12px">${escapeHtml(headline)}</h2>`,
      `<p><a href="${escapeHtml(leadUrl)}">Open the lead</a></p>`,
      `<table role="presentation" style="border-collapse:collapse">${rowsToHtml(rows)}</table>`,
    ].join(''),
  );
  return { subject, text, html };
}

interface AckStrings {
  /** No user text: the subject is what a mail-bomber would most like to write in. */
  subject(business: string): string;
  greeting(name: string | undefined): string;
  body(business: string, manager: string): string;
  yourMessage: string;
  linkRemoved: string;
  signOff(business: string): string;
}

const ACK: Record<Language, AckStrings> = {
  en: {
    subject: (business) => `${business} received your message`,
    greeting: (name) => (name ? `Hello ${name},` : 'Hello,'),
    body: (business, manager) =>
      `Thank you for contacting ${business}. ${manager} will get back to you personally, usually within a few minutes during business hours.`,
    yourMessage: 'Your message',
    linkRemoved: '[link removed]',
    signOff: (business) => `Best regards,\n${business}`,
  },
  ko: {
    subject: (business) => `${business}에 문의가 접수되었습니다`,
    greeting: (name) => (name ? `${name}님, 안녕하세요.` : '안녕하세요.'),
    body: (business, manager) =>
      `${business}에 문의해 주셔서 감사합니다. 담당자 ${manager}이(가) 곧 직접 연락드리겠습니다. 영업시간에는 보통 몇 분 안에 연락드립니다.`,
    yourMessage: '보내주신 내용',
    linkRemoved: '[링크 삭제됨]',
    signOff: (business) => `감사합니다.\n${business} 드림`,
  },
  th: {
    subject: (business) => `${business} ได้รับข้อความของคุณแล้ว`,
    greeting: (name) => (name ? `สวัสดีค่ะ คุณ${name}` : 'สวัสดีค่ะ'),
    body: (business, manager) =>
      `ขอบคุณที่ติดต่อ ${business} คุณ${manager} จะติดต่อกลับหาคุณโดยตรง โดยปกติภายในไม่กี่นาทีในเวลาทำการ`,
    yourMessage: 'ข้อความของคุณ',
    linkRemoved: '[ลบลิงก์แล้ว]',
    signOff: (business) => `ขอแสดงความนับถือ\n${business}`,
  },
};

/** The name in an acknowledgement is cut this short: enough for a real name, too little for a pitch. */
export const ACK_NAME_MAX = 24;
const ACK_ECHO_MAX = 300;

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * What a mail client would turn into a link: a URL with a scheme, `www.…`, an email address, or a
 * bare domain (`evil.example/x`). Mail clients auto-link these even in plain text.
 */
const LINK_LIKE =
  /(?:\b[a-z][a-z0-9+.-]*:\/\/|\bwww\.)\S+|[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+|(?:[\p{L}\p{N}-]+\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)\b(?:[/?#]\S*)?/giu;

/** True when text holds something a mail client would render as a link. */
export function hasLinkLikeText(text: string): boolean {
  LINK_LIKE.lastIndex = 0;
  return LINK_LIKE.test(text);
}

/** Replaces every link-like token with `replacement`, so nothing the person typed becomes a link. */
export function withoutLinks(text: string, replacement: string): string {
  return text.replace(LINK_LIKE, replacement);
}

/**
 * The personal acknowledgement a lead gets, in the form's language. It goes to an address anyone could
 * type into a form, so it carries as little of their text as a personal reply can: none in the subject,
 * the name cut short (and left out if it holds a link), the message echo shortened and stripped of links.
 */
export function renderAcknowledgement(
  notification: Notification,
  options: { businessName: string; manager: Manager },
): RenderedEmail {
  const strings = ACK[notification.capture.language];
  const { capture } = notification;
  const message = capture.message
    ? truncate(withoutLinks(capture.message, strings.linkRemoved), ACK_ECHO_MAX)
    : undefined;
  const fullName = capture.contact.name === undefined ? undefined : headerText(capture.contact.name, 200);
  const name =
    fullName === undefined || fullName === '' || hasLinkLikeText(fullName)
      ? undefined
      : headerText(fullName, ACK_NAME_MAX);
  const subject = headerText(strings.subject(options.businessName));
  const body = strings.body(options.businessName, options.manager.name);
  const text = [
    strings.greeting(name),
    '',
    body,
    ...(message ? ['', `${strings.yourMessage}:`, ...message.split('\n').map((line) => `> ${line}`)] : []),
    '',
    strings.signOff(options.businessName),
  ].join('\n');
  const html = page(
    capture.language,
    subject,
    [
      `<p>${escapeHtml(strings.greeting(name))}</p>`,
      `<p>${escapeHtml(body)}</p>`,
      message
        ? `<p style="margin-bottom:4px;color:#555">${escapeHtml(strings.yourMessage)}</p><blockquote style="margin:0;padding:8px 12px;border-left:3px solid #ccc;white-space:pre-wrap">${escapeHtml(message)}</blockquote>`
        : '',
      `<p>${escapeHtml(strings.signOff(options.businessName)).replace(/\n/g, '<br>')}</p>`,
    ].join(''),
  );
  return { subject, text, html };
}

// ---------------------------------------------------------------------------------------------------------
// SLA and task notices (to managers, in the recipient manager's language)

type SlaNotice = Extract<Notification, { kind: 'sla_warning' | 'sla_overdue' }>;
type TaskNotice = Extract<Notification, { kind: 'task_reminder' | 'task_overdue' }>;

interface NoticeStrings {
  warning(name: string, time: string): string;
  /** Follows `[Overdue] ` in the subject, whatever the language (filters and tests key on it). */
  overdue(owner: string, name: string, time: string): string;
  reminder(type: string, what: string, time: string): string;
  taskOverdue(assignee: string, type: string, what: string, time: string): string;
  warningBody: string;
  overdueBody(level: number): string;
  rows: {
    lead: string;
    channel: string;
    priority: string;
    owner: string;
    due: string;
    task: string;
    assignee: string;
  };
  open: string;
}

const NOTICE: Record<Language, NoticeStrings> = {
  en: {
    warning: (name, time) => `Respond to ${name} by ${time}`,
    overdue: (owner, name, time) => `${owner} has not responded to ${name} (due ${time})`,
    reminder: (type, what, time) => `${type} due ${time}: ${what}`,
    taskOverdue: (assignee, type, what, time) => `${assignee}'s ${type} was due ${time}: ${what}`,
    warningBody: 'The first-response deadline for this lead is close. Acknowledge it or contact them now.',
    overdueBody: (level) =>
      `The first-response deadline passed without a response (escalation level ${level}). Follow up with the owner, or pass the lead on.`,
    rows: {
      lead: 'Lead',
      channel: 'Channel',
      priority: 'Priority',
      owner: 'Owner',
      due: 'Due',
      task: 'Task',
      assignee: 'Assignee',
    },
    open: 'Open the lead',
  },
  ko: {
    warning: (name, time) => `${time}까지 ${name}님에게 응답해 주세요`,
    overdue: (owner, name, time) => `${owner}님이 ${name}님에게 아직 응답하지 않았습니다 (기한 ${time})`,
    reminder: (type, what, time) => `${type} 예정 ${time}: ${what}`,
    taskOverdue: (assignee, type, what, time) =>
      `${assignee}님의 ${type} 기한(${time})이 지났습니다: ${what}`,
    warningBody: '이 리드의 첫 응답 기한이 곧 다가옵니다. 지금 확인하거나 연락해 주세요.',
    overdueBody: (level) =>
      `첫 응답 기한이 지났지만 응답이 없습니다 (에스컬레이션 단계 ${level}). 담당자에게 확인하거나 리드를 다른 담당자에게 넘겨 주세요.`,
    rows: {
      lead: '리드',
      channel: '채널',
      priority: '우선순위',
      owner: '담당자',
      due: '기한',
      task: '할 일',
      assignee: '담당',
    },
    open: '리드 열기',
  },
  th: {
    warning: (name, time) => `โปรดตอบกลับ ${name} ภายใน ${time}`,
    overdue: (owner, name, time) => `${owner} ยังไม่ได้ตอบกลับ ${name} (ครบกำหนด ${time})`,
    reminder: (type, what, time) => `${type} ครบกำหนด ${time}: ${what}`,
    taskOverdue: (assignee, type, what, time) => `${type} ของ ${assignee} เลยกำหนด ${time}: ${what}`,
    warningBody: 'ใกล้ถึงกำหนดตอบกลับครั้งแรกของลีดนี้แล้ว โปรดรับเรื่องหรือติดต่อกลับตอนนี้',
    overdueBody: (level) =>
      `เลยกำหนดตอบกลับครั้งแรกแล้วโดยยังไม่มีการตอบกลับ (การยกระดับขั้นที่ ${level}) โปรดติดตามกับผู้รับผิดชอบ หรือส่งต่อลีด`,
    rows: {
      lead: 'ลีด',
      channel: 'ช่องทาง',
      priority: 'ความสำคัญ',
      owner: 'ผู้รับผิดชอบ',
      due: 'กำหนด',
      task: 'งาน',
      assignee: 'ผู้รับงาน',
    },
    open: 'เปิดลีด',
  },
};

/** An instant as the recipient reads it: local date and time in the business's time zone, with the zone. */
function localStamp(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(iso))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} (${timeZone})`;
}

function notice(
  notification: Notification,
  lang: Language,
  subject: string,
  headline: string,
  body: string,
  rows: readonly Row[],
  leadLinkBaseUrl: string,
  actions: readonly { label: string; href: string; primary: boolean }[] = [],
): RenderedEmail {
  const leadUrl = `${leadLinkBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(notification.leadId)}`;
  const open = NOTICE[lang].open;
  const links = [...actions, { label: open, href: leadUrl, primary: true }];
  const text = [
    headline,
    '',
    body,
    '',
    rowsToText(rows),
    '',
    ...links.map((link) => `${link.label}: ${link.href}`),
  ].join('\n');
  const html = page(
    lang,
    subject,
    [
      `<h2 style="margin:0 0 12px">${escapeHtml(headline)}</h2>`,
      `<p>${escapeHtml(body)}</p>`,
      `<p>${links
        .map(
          (link) =>
            `<a href="${escapeHtml(link.href)}" style="display:inline-block;margin:0 8px 8px 0;padding:8px 16px;background:${link.primary ? '#0b57d0' : '#137333'};color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(link.label)}</a>`,
        )
        .join('')}</p>`,
      `<table role="presentation" style="border-collapse:collapse">${rowsToHtml(rows)}</table>`,
    ].join(''),
  );
  return { subject, text, html };
}

/**
 * The owner's warning shortly before their first-response deadline (`sla_warning`), or the team lead's
 * `[Overdue]` alert at the breach and each escalation level after it (`sla_overdue`), in the recipient's
 * language. `actions` are the recipient's signed one-tap links, when the notifier has a link key.
 */
export function renderSlaNotice(
  notification: SlaNotice,
  options: {
    recipient: Manager;
    owner?: Manager | undefined;
    timeZone: string;
    leadLinkBaseUrl: string;
    actions?: Readonly<Partial<Record<ActionLinkAction, string>>> | undefined;
  },
): RenderedEmail {
  const lang = options.recipient.language;
  const strings = NOTICE[lang];
  const { capture, sla } = notification;
  const name = displayName(capture.contact, capture.handles);
  const due = localStamp(sla.dueAt, options.timeZone);
  const ownerName = options.owner?.name ?? sla.ownerId;
  const headline =
    notification.kind === 'sla_warning' ? strings.warning(name, due) : strings.overdue(ownerName, name, due);
  const subject = headerText(
    notification.kind === 'sla_warning'
      ? `[${sla.priority.toUpperCase()}] ${headline}`
      : `[Overdue] ${headline}`,
    200,
  );
  const rows: Row[] = [
    { label: strings.rows.lead, value: name },
    { label: strings.rows.channel, value: CHANNEL_LABELS[capture.channel] },
    { label: strings.rows.priority, value: sla.priority },
    { label: strings.rows.owner, value: ownerName },
    { label: strings.rows.due, value: due },
    { label: 'Lead id', value: notification.leadId },
  ];
  const actions = ACTION_LINK_ACTIONS.flatMap((action) => {
    const href = options.actions?.[action];
    return href ? [{ label: actionLinkLabel(action, lang), href, primary: false }] : [];
  });
  const body = notification.kind === 'sla_warning' ? strings.warningBody : strings.overdueBody(sla.level);
  return notice(notification, lang, subject, headline, body, rows, options.leadLinkBaseUrl, actions);
}

/**
 * A task's reminder to its assignee at its due time (`task_reminder`), or the `[Overdue]` notice to the
 * assignee's team lead when it is still open a while later (`task_overdue`), in the recipient's language.
 */
export function renderTaskNotice(
  notification: TaskNotice,
  options: { recipient: Manager; assignee?: Manager | undefined; timeZone: string; leadLinkBaseUrl: string },
): RenderedEmail {
  const lang = options.recipient.language;
  const strings = NOTICE[lang];
  const { capture, task } = notification;
  const name = displayName(capture.contact, capture.handles);
  const what = task.title ? `${task.title} (${name})` : name;
  const due = localStamp(task.dueAt, options.timeZone);
  const assignee = options.assignee?.name ?? task.assigneeId;
  const headline =
    notification.kind === 'task_reminder'
      ? strings.reminder(task.type, what, due)
      : strings.taskOverdue(assignee, task.type, what, due);
  const subject = headerText(
    notification.kind === 'task_reminder' ? `[Task] ${headline}` : `[Overdue] ${headline}`,
    200,
  );
  const rows: Row[] = [
    { label: strings.rows.task, value: task.title ? `${task.type}: ${task.title}` : task.type },
    { label: strings.rows.due, value: due },
    { label: strings.rows.assignee, value: assignee },
    { label: strings.rows.lead, value: name },
    { label: strings.rows.channel, value: CHANNEL_LABELS[capture.channel] },
    { label: 'Lead id', value: notification.leadId },
  ];
  return notice(notification, lang, subject, headline, headline, rows, options.leadLinkBaseUrl);
}
