import type { Language } from '@leadflow/core';

const TEXT: Record<Language, { title: string; body: string }> = {
  en: { title: 'Thank you', body: 'We received your message and will get back to you shortly.' },
  ko: { title: '감사합니다', body: '문의가 접수되었습니다. 곧 연락드리겠습니다.' },
  th: { title: 'ขอบคุณค่ะ', body: 'เราได้รับข้อความของคุณแล้ว และจะติดต่อกลับโดยเร็ว' },
};

/** The small page a browser sees after a plain HTML form post when the form has no redirect URL. */
export function ThankYouPage(language: Language): string {
  const { title, body } = TEXT[language];
  return `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${title}</h1><p>${body}</p></body></html>`;
}
