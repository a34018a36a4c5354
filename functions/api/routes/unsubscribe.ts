import { createRoute, z } from '@hono/zod-openapi';
import { unsubscribeContact } from '@leadflow/aws';
import {
  escapeHtml,
  type Language,
  ONE_CLICK_BODY,
  PayloadTooLargeError,
  verifyUnsubscribeLink,
} from '@leadflow/core';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiEnv } from '../deps';
import type { RouteModule } from '.';
import { linkPageHeaders } from './link-page';

/** The tag of the unsubscribe pages in the OpenAPI document: public, the signed token is the authority. */
export const UNSUBSCRIBE_TAG = 'Unsubscribe (public)';

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}' +
  'button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#1a56db;color:#fff;cursor:pointer}';

/** The unsubscribe pages' headers (see `linkPageHeaders`). */
const PAGE = linkPageHeaders(STYLE);
export const UNSUBSCRIBE_CSP = PAGE.csp;
const HEADERS = PAGE.headers;

interface Strings {
  readonly confirmTitle: string;
  readonly confirm: string;
  readonly button: string;
  readonly doneTitle: string;
  readonly done: string;
  readonly invalidTitle: string;
  readonly invalid: string;
  readonly expiredTitle: string;
  readonly expired: string;
  readonly unavailableTitle: string;
  readonly unavailable: string;
}

const STRINGS: Record<Language, Strings> = {
  en: {
    confirmTitle: 'Unsubscribe from follow-up emails?',
    confirm:
      'You will get no more follow-up emails from us. An answer to a request you send us yourself still reaches you.',
    button: 'Unsubscribe',
    doneTitle: 'You are unsubscribed',
    done: 'We will send you no more follow-up emails. This took effect at once.',
    invalidTitle: 'This link is not valid',
    invalid: 'It is damaged or was changed: open the link from the email again. Nothing was changed.',
    expiredTitle: 'This link has expired',
    expired: 'Reply to the email and ask us to stop; we will. Nothing was changed.',
    unavailableTitle: 'Not available',
    unavailable:
      'Unsubscribing is not available on this server right now. Please reply to the email instead.',
  },
  ko: {
    confirmTitle: '후속 안내 메일 수신을 거부하시겠습니까?',
    confirm:
      '더 이상 후속 안내 메일을 보내드리지 않습니다. 직접 보내신 문의에 대한 답변은 계속 받으실 수 있습니다.',
    button: '수신 거부',
    doneTitle: '수신 거부되었습니다',
    done: '더 이상 후속 안내 메일을 보내드리지 않습니다. 즉시 적용되었습니다.',
    invalidTitle: '올바르지 않은 링크입니다',
    invalid:
      '링크가 손상되었거나 변경되었습니다. 메일의 링크를 다시 열어 주세요. 아무것도 변경되지 않았습니다.',
    expiredTitle: '만료된 링크입니다',
    expired: '메일에 답장하여 수신 거부를 요청해 주세요. 아무것도 변경되지 않았습니다.',
    unavailableTitle: '사용할 수 없습니다',
    unavailable: '지금은 이 서버에서 수신 거부를 처리할 수 없습니다. 메일에 답장해 주세요.',
  },
  th: {
    confirmTitle: 'ยกเลิกการรับอีเมลติดตามผลหรือไม่?',
    confirm: 'เราจะไม่ส่งอีเมลติดตามผลถึงคุณอีก คำตอบต่อคำขอที่คุณส่งมาเองจะยังส่งถึงคุณตามปกติ',
    button: 'ยกเลิกการรับอีเมล',
    doneTitle: 'ยกเลิกการรับอีเมลเรียบร้อยแล้ว',
    done: 'เราจะไม่ส่งอีเมลติดตามผลถึงคุณอีก มีผลทันที',
    invalidTitle: 'ลิงก์นี้ไม่ถูกต้อง',
    invalid: 'ลิงก์เสียหายหรือถูกแก้ไข กรุณาเปิดลิงก์จากอีเมลอีกครั้ง ไม่มีการเปลี่ยนแปลงใด ๆ',
    expiredTitle: 'ลิงก์นี้หมดอายุแล้ว',
    expired: 'กรุณาตอบกลับอีเมลเพื่อขอยกเลิก ไม่มีการเปลี่ยนแปลงใด ๆ',
    unavailableTitle: 'ไม่พร้อมใช้งาน',
    unavailable: 'ขณะนี้ไม่สามารถยกเลิกการรับอีเมลบนเซิร์ฟเวอร์นี้ได้ กรุณาตอบกลับอีเมลแทน',
  },
};

const tokenParam = z.object({
  token: z.string().openapi({
    param: { name: 'token', in: 'path' },
    description: 'The signed token of the unsubscribe link (it names the contact only, never an address).',
  }),
});

const html = (description: string) => ({ content: { 'text/html': { schema: z.string() } }, description });

const refusals = {
  400: html('A malformed token: nothing changed'),
  403: html('A token whose signature does not match (tampered): nothing changed'),
  410: html('The link has expired: nothing changed'),
  503: html('Unsubscribe links are not configured on this server'),
};

const confirmRoute = createRoute({
  method: 'get',
  path: '/u/{token}',
  tags: [UNSUBSCRIBE_TAG],
  summary: 'The unsubscribe confirmation page of a follow-up email',
  description:
    'Shows a button that posts to the same URL. A GET changes nothing, so a mail scanner that opens every link unsubscribes nobody.',
  security: [],
  request: { params: tokenParam },
  responses: { 200: html('The confirmation page, with its button'), ...refusals },
});

const unsubscribeRoute = createRoute({
  method: 'post',
  path: '/u/{token}',
  tags: [UNSUBSCRIBE_TAG],
  summary: 'Unsubscribe from follow-up emails (RFC 8058 one-click)',
  description:
    'What mailbox providers POST when the person clicks their Unsubscribe button (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`), and what the confirmation page’s button posts. No cookie, no authentication, no redirect: the signed token is the authority. Takes effect at once, for every follow-up of the contact, and is recorded on the contact (`unsubscribedAt`, a timeline entry); repeating it changes nothing.',
  security: [],
  request: {
    params: tokenParam,
    body: {
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({ 'List-Unsubscribe': z.literal('One-Click').optional() }),
        },
      },
      required: false,
    },
  },
  responses: { 200: html('Unsubscribed (or already): the page says so'), ...refusals },
});

const MAX_BODY_BYTES = 4096;

interface Page {
  readonly status: 200 | 400 | 403 | 410 | 503;
  readonly html: string;
  readonly error?: string;
}

/**
 * `/u/{token}`: the unsubscribe link of every follow-up email. `POST` is RFC 8058's one-click unsubscribe
 * (and the confirmation page's button); `GET` only shows that page.
 */
export const unsubscribeRoutes: RouteModule = (app, deps) => {
  app.openAPIRegistry.registerPath(confirmRoute);
  app.openAPIRegistry.registerPath(unsubscribeRoute);
  // A one-click body is 26 bytes; the confirmation form's a little more.
  app.use(
    '/u/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(`The body is larger than ${MAX_BODY_BYTES} bytes.`);
      },
    }),
  );

  const send = (c: Context<ApiEnv>, { status, html: body, error }: Page) => {
    deps.observe?.({ route: c.req.routePath, status, ...(error ? { error } : {}) });
    return c.body(body, status, HEADERS);
  };

  /** The token checked: the contact (and page language) it names, or the page that refuses it. */
  const check = (token: string): { page: Page } | { contactId: string; t: Strings; language: Language } => {
    if (deps.linkKey === undefined) {
      return {
        page: {
          status: 503,
          html: page('en', STRINGS.en.unavailableTitle, para(STRINGS.en.unavailable)),
          error: 'links_unavailable',
        },
      };
    }
    const result = verifyUnsubscribeLink(token, deps.linkKey, deps.data.clock());
    if (!result.ok) {
      const t = STRINGS.en;
      return {
        page:
          result.reason === 'expired'
            ? { status: 410, html: page('en', t.expiredTitle, para(t.expired)), error: 'link_expired' }
            : {
                status: result.reason === 'tampered' ? 403 : 400,
                html: page('en', t.invalidTitle, para(t.invalid)),
                error: `link_${result.reason}`,
              },
      };
    }
    const language = result.link.language ?? 'en';
    return { contactId: result.link.contactId, t: STRINGS[language], language };
  };

  app.get('/u/:token', (c) => {
    const checked = check(c.req.param('token'));
    if ('page' in checked) return send(c, checked.page);
    const { t, language } = checked;
    return send(c, {
      status: 200,
      html: page(
        language,
        t.confirmTitle,
        `${para(t.confirm)}<form method="post"><input type="hidden" name="${ONE_CLICK_BODY.name}" value="${ONE_CLICK_BODY.value}"><input type="hidden" name="via" value="page"><button type="submit">${escapeHtml(t.button)}</button></form>`,
      ),
    });
  });

  app.post('/u/:token', async (c) => {
    const checked = check(c.req.param('token'));
    if ('page' in checked) return send(c, checked.page);
    const { contactId, t, language } = checked;
    // The confirmation page says it posted; anything else is a mailbox provider's one-click POST.
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const via = form.via === 'page' ? 'page' : 'one_click';
    const result = await unsubscribeContact(deps.data, contactId, via);
    return send(c, {
      status: 200,
      html: page(language, t.doneTitle, para(t.done)),
      ...(result.outcome === 'gone' ? { error: 'contact_gone' } : {}),
    });
  });
};

function para(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

function page(language: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
