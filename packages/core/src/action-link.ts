import { z } from 'zod';
import { LINK_KEY_MIN_LENGTH, openToken, signToken, type TokenKind } from './signed-token';
import type { Language } from './vocabulary';

/**
 * The alert's one-tap links ("I'm on it", "Pass it on"): single-purpose tokens bound to one lead, one
 * action, one manager and an expiry, HMAC-SHA256-signed with the link key. They carry ids only, never a
 * customer's name, address or message, since a URL ends up in logs, browser histories and mail scanners.
 *
 * Wire form: `<payload>.<mac>`, both base64url without padding. The payload is compact JSON
 * (`{"l":leadId,"a":action,"m":managerId,"e":exp,"n":nonce}`); the MAC is over a domain-separated string, so
 * a token signed with the same key for another purpose (an unsubscribe link) is never an action link.
 */

export const ACTION_LINK_ACTIONS = ['acknowledge', 'pass'] as const;
export type ActionLinkAction = (typeof ACTION_LINK_ACTIONS)[number];

/** How long an alert's links work: a day, by default (the alert is stale by then anyway). */
export const ACTION_LINK_TTL_SECONDS = 24 * 60 * 60;

/** The shortest link key accepted: 32 characters (LINK_SECRET, or the generated Secrets Manager value). */
export const ACTION_LINK_MIN_KEY_LENGTH = LINK_KEY_MIN_LENGTH;

/** The longest token looked at; anything longer is malformed before any work is done on it. */

const KIND: TokenKind = { domain: 'leadflow/action-link/v1.', maxPayload: 1024 };
/** base64url of the 32 bytes of an HMAC-SHA256, without padding. */

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$/);

/** What a link grants: this action on this lead, for this manager, until `exp` (epoch seconds). */
export const actionLinkSchema = z.strictObject({
  leadId: id,
  action: z.enum(ACTION_LINK_ACTIONS),
  managerId: id,
  exp: z.number().int().positive(),
  /** Makes every issued link distinct (two alerts for one lead never share a token, nor a use record). */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
});
export type ActionLink = z.infer<typeof actionLinkSchema>;

const wireSchema = z
  .strictObject({
    l: actionLinkSchema.shape.leadId,
    a: actionLinkSchema.shape.action,
    m: actionLinkSchema.shape.managerId,
    e: actionLinkSchema.shape.exp,
    n: actionLinkSchema.shape.nonce,
  })
  .transform(({ l, a, m, e, n }): ActionLink => ({ leadId: l, action: a, managerId: m, exp: e, nonce: n }));

/** What a token turned out to be. `expired` still says what it was for: its signature held. */
export type ActionLinkCheck =
  | { readonly ok: true; readonly link: ActionLink }
  | { readonly ok: false; readonly reason: 'expired'; readonly link: ActionLink }
  | { readonly ok: false; readonly reason: 'tampered' | 'malformed' };

/**
 * The link a manager gets for `action` on a lead, valid from `now` for `ttlSeconds`. The nonce is the
 * caller's (random bytes at the edge): core reads no clock and draws no randomness of its own.
 */
export function actionLinkFor(input: {
  readonly leadId: string;
  readonly action: ActionLinkAction;
  readonly managerId: string;
  readonly now: Date;
  readonly nonce: string;
  readonly ttlSeconds?: number | undefined;
}): ActionLink {
  const ttl = input.ttlSeconds ?? ACTION_LINK_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  return actionLinkSchema.parse({
    leadId: input.leadId,
    action: input.action,
    managerId: input.managerId,
    exp: Math.floor(input.now.getTime() / 1000) + ttl,
    nonce: input.nonce,
  });
}

/** The token for a link, signed with `key`: URL-safe as it is (`[A-Za-z0-9_-.]`). */
export function signActionLink(link: ActionLink, key: string): string {
  const valid = actionLinkSchema.parse(link);
  return signToken(
    KIND,
    { l: valid.leadId, a: valid.action, m: valid.managerId, e: valid.exp, n: valid.nonce },
    key,
  );
}

/**
 * Checks a token at `now`: `malformed` when it is not shaped like one, `tampered` when its MAC is not ours
 * (compared in constant time, as text, so a non-canonical base64url spelling of the right bytes is refused
 * too), `expired` from `exp` on, else the link it grants. Only a token that passed the MAC is parsed.
 */
export function verifyActionLink(token: string, key: string, now: Date): ActionLinkCheck {
  const opened = openToken(KIND, token, key, wireSchema);
  if (!opened.ok) return opened;
  const link = opened.payload;
  if (now.getTime() >= link.exp * 1000) return { ok: false, reason: 'expired', link };
  return { ok: true, link };
}

/** The URL of a link: `<base>/a/<token>` (the token alone in the path, never in a query string). */
export function actionLinkUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/a/${token}`;
}

/** The alert's two buttons, in each alert language. */
export const ACTION_LINK_LABELS: Readonly<Record<Language, Readonly<Record<ActionLinkAction, string>>>> = {
  en: { acknowledge: "I'm on it", pass: 'Pass it on' },
  ko: { acknowledge: '제가 맡을게요', pass: '다른 담당자에게 넘기기' },
  th: { acknowledge: 'รับเรื่องนี้เอง', pass: 'ส่งต่อให้คนอื่น' },
};

/** The label of an action's button in `language` (English for a language without one). */
export function actionLinkLabel(action: ActionLinkAction, language: string): string {
  const labels = ACTION_LINK_LABELS[language as Language] ?? ACTION_LINK_LABELS.en;
  return labels[action];
}

/** Every sentence of the link pages, in each alert language. */
export interface ActionPageStrings {
  readonly confirmTitle: Record<ActionLinkAction, string>;
  readonly confirm: Record<ActionLinkAction, (leadId: string) => string>;
  readonly as: (manager: string) => string;
  readonly acknowledged: (leadId: string) => string;
  readonly alreadyAcknowledged: (leadId: string, at: string) => string;
  readonly passed: (leadId: string, to: string) => string;
  readonly usedTitle: string;
  readonly used: (by: string, at: string) => string;
  readonly expiredTitle: string;
  readonly expired: (at: string) => string;
  readonly invalidTitle: string;
  readonly invalid: string;
  readonly notYoursTitle: string;
  readonly notYours: (leadId: string) => string;
  readonly nobodyTitle: string;
  readonly nobody: (leadId: string) => string;
  readonly closedTitle: string;
  readonly closed: (leadId: string) => string;
  readonly unavailableTitle: string;
  readonly unavailable: string;
  readonly failedTitle: string;
  readonly failed: string;
  readonly nothingChanged: string;
  readonly doneTitle: string;
}

export const ACTION_PAGE_STRINGS: Readonly<Record<Language, ActionPageStrings>> = {
  en: {
    confirmTitle: { acknowledge: "I'm on it", pass: 'Pass it on' },
    confirm: {
      acknowledge: (lead) =>
        `Tell the team you are on lead ${lead}: it records your first response and stops its response clock.`,
      pass: (lead) =>
        `Pass lead ${lead} on to the next available manager of its team. It will no longer be yours, and they will be alerted.`,
    },
    as: (manager) => `This link acts for ${manager}.`,
    acknowledged: (lead) => `Done: you are on lead ${lead}.`,
    alreadyAcknowledged: (lead, at) => `You had already said you are on lead ${lead}, at ${at}.`,
    passed: (lead, to) => `Done: lead ${lead} went to ${to}, who has been alerted.`,
    usedTitle: 'This link was already used',
    used: (by, at) => `It was used by ${by} at ${at}. A link works once.`,
    expiredTitle: 'This link has expired',
    expired: (at) => `It stopped working at ${at}. Open the lead from the managers' API instead.`,
    invalidTitle: 'This link is not valid',
    invalid:
      'It is damaged or was changed: copy the whole link from the alert again, or open the lead from the managers’ API.',
    notYoursTitle: 'This lead is no longer yours',
    notYours: (lead) => `Lead ${lead} is not assigned to you any more (or no longer exists).`,
    nobodyTitle: 'Nobody else can take it now',
    nobody: (lead) =>
      `Nobody else in the team is available for lead ${lead} right now, so it stays with you. Try again later.`,
    closedTitle: 'This lead is closed',
    closed: (lead) => `Lead ${lead} was already won or lost.`,
    unavailableTitle: 'Links are not available',
    unavailable: 'Action links are not set up on this server. Open the lead from the managers’ API instead.',
    failedTitle: 'Something went wrong',
    failed: 'The action could not be completed. Please try again in a moment.',
    nothingChanged: 'Nothing was changed.',
    doneTitle: 'Done',
  },
  ko: {
    confirmTitle: { acknowledge: '제가 맡을게요', pass: '다른 담당자에게 넘기기' },
    confirm: {
      acknowledge: (lead) =>
        `리드 ${lead}을(를) 맡는다고 팀에 알립니다. 첫 응답으로 기록되고 응답 시간 측정이 멈춥니다.`,
      pass: (lead) =>
        `리드 ${lead}을(를) 팀에서 다음으로 응대 가능한 담당자에게 넘깁니다. 더 이상 내 리드가 아니며, 새 담당자에게 알림이 갑니다.`,
    },
    as: (manager) => `이 링크는 ${manager}님으로 처리합니다.`,
    acknowledged: (lead) => `완료: 리드 ${lead}을(를) 맡았습니다.`,
    alreadyAcknowledged: (lead, at) => `리드 ${lead}은(는) 이미 ${at}에 맡겠다고 하셨습니다.`,
    passed: (lead, to) => `완료: 리드 ${lead}이(가) ${to}님에게 넘어갔고, 알림을 보냈습니다.`,
    usedTitle: '이미 사용된 링크입니다',
    used: (by, at) => `${by}님이 ${at}에 사용했습니다. 링크는 한 번만 쓸 수 있습니다.`,
    expiredTitle: '만료된 링크입니다',
    expired: (at) => `${at}에 만료되었습니다. 매니저 API에서 리드를 열어 주세요.`,
    invalidTitle: '올바르지 않은 링크입니다',
    invalid:
      '링크가 손상되었거나 변경되었습니다. 알림에서 링크 전체를 다시 복사하거나 매니저 API에서 리드를 열어 주세요.',
    notYoursTitle: '더 이상 내 리드가 아닙니다',
    notYours: (lead) => `리드 ${lead}은(는) 더 이상 나에게 배정되어 있지 않습니다(또는 존재하지 않습니다).`,
    nobodyTitle: '지금은 넘겨받을 사람이 없습니다',
    nobody: (lead) =>
      `지금은 팀에서 리드 ${lead}을(를) 맡을 수 있는 다른 담당자가 없어 그대로 내 리드로 남습니다. 잠시 후 다시 시도해 주세요.`,
    closedTitle: '종료된 리드입니다',
    closed: (lead) => `리드 ${lead}은(는) 이미 성사 또는 실패로 종료되었습니다.`,
    unavailableTitle: '링크를 사용할 수 없습니다',
    unavailable: '이 서버에는 알림 링크가 설정되어 있지 않습니다. 매니저 API에서 리드를 열어 주세요.',
    failedTitle: '문제가 발생했습니다',
    failed: '처리하지 못했습니다. 잠시 후 다시 시도해 주세요.',
    nothingChanged: '아무것도 변경되지 않았습니다.',
    doneTitle: '완료',
  },
  th: {
    confirmTitle: { acknowledge: 'รับเรื่องนี้เอง', pass: 'ส่งต่อให้คนอื่น' },
    confirm: {
      acknowledge: (lead) =>
        `แจ้งทีมว่าคุณรับดูแลลีด ${lead} แล้ว ระบบจะบันทึกเป็นการตอบกลับครั้งแรกของคุณและหยุดนับเวลาตอบกลับ`,
      pass: (lead) => `ส่งต่อลีด ${lead} ให้ผู้จัดการคนถัดไปในทีมที่ว่างอยู่ ลีดนี้จะไม่ใช่ของคุณอีกต่อไป และผู้รับจะได้รับการแจ้งเตือน`,
    },
    as: (manager) => `ลิงก์นี้ดำเนินการในนามของ ${manager}`,
    acknowledged: (lead) => `เรียบร้อย: คุณรับดูแลลีด ${lead} แล้ว`,
    alreadyAcknowledged: (lead, at) => `คุณได้แจ้งรับดูแลลีด ${lead} ไว้แล้วเมื่อ ${at}`,
    passed: (lead, to) => `เรียบร้อย: ลีด ${lead} ถูกส่งต่อให้ ${to} และได้แจ้งเตือนแล้ว`,
    usedTitle: 'ลิงก์นี้ถูกใช้ไปแล้ว',
    used: (by, at) => `${by} ใช้ลิงก์นี้เมื่อ ${at} ลิงก์หนึ่งใช้ได้เพียงครั้งเดียว`,
    expiredTitle: 'ลิงก์นี้หมดอายุแล้ว',
    expired: (at) => `ลิงก์หมดอายุเมื่อ ${at} กรุณาเปิดลีดจาก API ของผู้จัดการแทน`,
    invalidTitle: 'ลิงก์นี้ไม่ถูกต้อง',
    invalid: 'ลิงก์เสียหายหรือถูกแก้ไข กรุณาคัดลอกลิงก์ทั้งหมดจากการแจ้งเตือนอีกครั้ง หรือเปิดลีดจาก API ของผู้จัดการ',
    notYoursTitle: 'ลีดนี้ไม่ใช่ของคุณแล้ว',
    notYours: (lead) => `ลีด ${lead} ไม่ได้มอบหมายให้คุณแล้ว (หรือไม่มีอยู่แล้ว)`,
    nobodyTitle: 'ตอนนี้ไม่มีใครรับต่อได้',
    nobody: (lead) => `ตอนนี้ไม่มีผู้จัดการคนอื่นในทีมว่างรับลีด ${lead} ลีดจึงยังเป็นของคุณ กรุณาลองใหม่ภายหลัง`,
    closedTitle: 'ลีดนี้ปิดแล้ว',
    closed: (lead) => `ลีด ${lead} ปิดไปแล้ว (ได้ลูกค้าหรือไม่ได้ลูกค้า)`,
    unavailableTitle: 'ใช้ลิงก์ไม่ได้',
    unavailable: 'เซิร์ฟเวอร์นี้ไม่ได้ตั้งค่าลิงก์ในการแจ้งเตือน กรุณาเปิดลีดจาก API ของผู้จัดการแทน',
    failedTitle: 'เกิดข้อผิดพลาด',
    failed: 'ไม่สามารถดำเนินการได้ กรุณาลองใหม่อีกครั้งในอีกสักครู่',
    nothingChanged: 'ไม่มีการเปลี่ยนแปลงใด ๆ',
    doneTitle: 'เรียบร้อย',
  },
};

/** The page strings in `language` (English for a language without them). */
export function actionPageStrings(language: string): ActionPageStrings {
  return ACTION_PAGE_STRINGS[language as Language] ?? ACTION_PAGE_STRINGS.en;
}
