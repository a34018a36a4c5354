import { createRoute, z } from '@hono/zod-openapi';
import {
  CAPTCHA_FIELDS,
  chatMessageSchema,
  GENERIC_WEBHOOK_TOLERANCE_SECONDS,
  genericEventSchema,
  MAX_BODY_BYTES,
  MAX_FIELDS,
  metaWebhookSchema,
  telegramUpdateSchema,
  twilioSmsParamsSchema,
  twilioVoiceParamsSchema,
} from '@leadflow/core';
import type { ApiApp } from '../app';
import { errorSchema } from '../routes/common';

/**
 * The public capture routes, described for `/openapi.json`. They are served by the ingest function (its own
 * hono app, which parses and verifies every body itself); here they are only registered in the document, so
 * one reference covers every route of the system. The schemas are core's own wherever core has one.
 */

export const PUBLIC_TAG = 'Capture (public)';
const tags = [PUBLIC_TAG];

// Header names as the ingest routes read them (functions cannot import each other; the test checks them).
const FORM_KEY_HEADER = 'X-Leadflow-Form-Key';
const META_SIGNATURE = 'X-Hub-Signature-256';
const TELEGRAM_SECRET = 'X-Telegram-Bot-Api-Secret-Token';

/**
 * A core schema as a named component. Core's schemas are built before `@hono/zod-openapi` adds `.openapi()`
 * to zod (zod 4 gives an instance its methods when it is built), so the name goes on a copy of the shape.
 */
const named = <Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>, name: string) =>
  z.object(schema.shape).openapi(name);

const failure = (description: string) => ({
  content: { 'application/json': { schema: errorSchema } },
  description,
});

const problems = {
  400: failure('Malformed body: not UTF-8, not JSON, or not the shape the sender is expected to send'),
  403: failure('The signature, secret, form key or CAPTCHA was missing or did not match'),
  404: failure('No such form, widget or source; or the channel is not configured (it does not exist)'),
  413: failure('The body is larger than the limit'),
  415: failure('The Content-Type is not accepted, or the charset is not UTF-8'),
  422: failure('Invalid fields, each named in `fields`'),
  429: {
    ...failure('Too many requests from this address to this form or widget'),
    headers: z.object({
      'Retry-After': z.string().openapi({ description: 'Seconds until the window that refused this ends.' }),
    }),
  },
  503: failure('The channel, its CAPTCHA or its form key is temporarily unavailable; retry later'),
  500: failure('Unexpected failure: the submission was not accepted; send it again'),
} as const;

const acceptedSchema = z
  .object({
    id: z.string().openapi({ description: 'The submission id.', example: '01JD7Q4W3V0K8X2N5R6T9Y1ZAB' }),
    status: z.literal('accepted'),
  })
  .openapi('Accepted');

const accepted = {
  content: { 'application/json': { schema: acceptedSchema } },
  description: 'Stored and queued for routing; a retry of the same submission gets the same id',
};

const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);

/** A form's own fields are configured per form (`config/leadflow.json`); these names mean something to every form. */
const knownFields = {
  page_url: z
    .string()
    .optional()
    .openapi({ description: 'The page the form is on (UTM tags are read from it).' }),
  referrer: z.string().optional().openapi({ description: 'The referrer of that page.' }),
  utm_source: z.string().optional().openapi({ description: 'Any `utm_*` field is kept as a source tag.' }),
  ...Object.fromEntries(
    Object.entries(CAPTCHA_FIELDS).map(([provider, field]) => [
      field,
      z
        .string()
        .optional()
        .openapi({ description: `The ${provider} token, when the form has that CAPTCHA.` }),
    ]),
  ),
};

const formFieldsJson = z
  .object(knownFields)
  .catchall(fieldValue)
  .openapi('FormFields', {
    description: `Field name → value. The form's configured fields (name, email, phone, message, consent, custom text) are validated and normalized; a value may be a string, number, boolean or list of strings (joined with ", "). At most ${MAX_FIELDS} values and ${MAX_BODY_BYTES} bytes.`,
    example: {
      name: 'Kim Minsu',
      email: 'kim.minsu@example.com',
      phone: '010-1234-5678',
      message: 'Please call me back about pricing.',
      consent: true,
      page_url: 'https://www.example.com/pricing?utm_source=google',
    },
  });

const formFieldsEncoded = z.object(knownFields).catchall(z.string()).openapi({
  description: 'The same fields as an HTML form posts them; repeated names are joined with ", ".',
});

const formIdParam = z.object({
  formId: z.string().openapi({
    param: { name: 'formId', in: 'path' },
    description: 'A form id of the configuration.',
    example: 'demo-contact',
  }),
});

const widgetIdParam = z.object({
  widgetId: z.string().openapi({
    param: { name: 'widgetId', in: 'path' },
    description: 'A chat widget id of the configuration.',
    example: 'site-chat',
  }),
});

const sourceIdParam = z.object({
  sourceId: z.string().openapi({
    param: { name: 'sourceId', in: 'path' },
    description: 'A generic source id of the configuration (`channels.generic`).',
    example: 'callcenter',
  }),
});

const preflightHeaders = z.object({
  Origin: z
    .string()
    .openapi({ description: 'The page origin; answered only when it is among the allowed origins.' }),
  'Access-Control-Request-Method': z.literal('POST'),
  'Access-Control-Request-Headers': z.string().optional(),
});

const corsHeaders = z.object({
  'Access-Control-Allow-Origin': z.string().openapi({ description: 'The request origin, when allowed.' }),
  'Access-Control-Allow-Methods': z.string().openapi({ example: 'POST,OPTIONS' }),
  'Access-Control-Allow-Headers': z.string(),
  'Access-Control-Max-Age': z.string().openapi({ example: '600' }),
});

const twiml = (description: string) => ({
  content: {
    'text/xml': {
      schema: z.string().openapi({ example: '<?xml version="1.0" encoding="UTF-8"?><Response/>' }),
    },
  },
  description,
});

const twilioHeaders = z.object({
  'X-Twilio-Signature': z.string().openapi({
    description:
      "Twilio's HMAC-SHA1 (base64) of the public URL and the sorted parameters, with the account's auth token.",
  }),
});

const twilioSecurity =
  'Verified with `X-Twilio-Signature` against the public URL (PUBLIC_BASE_URL) before anything is read into a capture (403 otherwise). Without a Twilio auth token or `channels.twilio`, the route does not exist (404).';

const routes = [
  createRoute({
    method: 'get',
    path: '/health',
    tags,
    summary: 'Liveness of the capture API',
    responses: {
      200: {
        content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
        description: 'Up',
      },
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/forms/{formId}',
    tags,
    summary: 'Submit a website form',
    description: [
      'From a browser (fetch/XHR or a plain HTML `<form method="post">`) or from the site’s own backend.',
      'A JSON client (a JSON body, or `Accept: application/json`) gets `202` and the submission id; a browser posting a plain HTML form gets a `303` to the form’s redirect URL, or a small thank-you page.',
      `The site’s backend sends the form’s key in \`${FORM_KEY_HEADER}\` and skips the per-client limit and the CAPTCHA; a form with \`access: backend\` takes only such posts, one with \`access: public\` refuses them (403). Never send the key from a browser.`,
      'Browsers are limited per client address and form (429 with `Retry-After`); a form with a CAPTCHA verifies its token after validation (403 when refused, 503 when the provider cannot be reached).',
      'A retry with the same `Idempotency-Key` within 24 hours, or the same fields within 10 minutes, is the same submission; the same key with other fields is refused (422). A honeypot hit is answered like a lead and dropped.',
    ].join('\n\n'),
    request: {
      params: formIdParam,
      headers: z.object({
        'Idempotency-Key': z.string().optional().openapi({
          description:
            '1 to 255 visible ASCII characters (400 otherwise); a retry within 24 h gets the first answer.',
          example: '5f2b8c0e-retry-safe',
        }),
        [FORM_KEY_HEADER]: z.string().optional().openapi({
          description:
            'The form’s key, from the site’s backend only (forms with `access` `backend` or `public_and_backend`).',
        }),
      }),
      body: {
        required: true,
        content: {
          'application/json': { schema: formFieldsJson },
          'application/x-www-form-urlencoded': { schema: formFieldsEncoded },
          'multipart/form-data': {
            schema: formFieldsEncoded.openapi({
              description: 'Text parts only: a file part is refused (422).',
            }),
          },
        },
      },
    },
    responses: {
      200: {
        content: { 'text/html': { schema: z.string() } },
        description: 'A plain HTML post to a form without a redirect URL: the thank-you page',
      },
      202: accepted,
      303: {
        description: 'A plain HTML post to a form with a redirect URL',
        headers: z.object({ Location: z.string().openapi({ example: 'https://www.example.com/thank-you' }) }),
      },
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      415: problems[415],
      422: problems[422],
      429: problems[429],
      500: problems[500],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'options',
    path: '/v1/forms/{formId}',
    tags,
    summary: 'CORS preflight of a form',
    description:
      "Allows the form's configured origins only, with `Content-Type`, `Idempotency-Key` and `Accept` (not the form key, which belongs on a server).",
    request: { params: formIdParam, headers: preflightHeaders },
    responses: {
      204: { description: 'The preflight answer', headers: corsHeaders },
      404: problems[404],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/chat/{widgetId}',
    tags,
    summary: 'Send a message typed into the website chat widget',
    description:
      "JSON in UTF-8 only. A retried `messageId` is the same message; a reused one with other text is refused (422). Without a `messageId`, the same text in the same session within 60 seconds is one message. Limited per client address and widget (429 with `Retry-After`). CORS allows the widget's configured origins.",
    request: {
      params: widgetIdParam,
      body: {
        required: true,
        content: { 'application/json': { schema: named(chatMessageSchema, 'ChatMessage') } },
      },
    },
    responses: {
      202: accepted,
      400: problems[400],
      404: problems[404],
      413: problems[413],
      415: problems[415],
      422: problems[422],
      429: problems[429],
      500: problems[500],
    },
  }),

  createRoute({
    method: 'options',
    path: '/v1/chat/{widgetId}',
    tags,
    summary: 'CORS preflight of a chat widget',
    request: { params: widgetIdParam, headers: preflightHeaders },
    responses: {
      204: { description: 'The preflight answer', headers: corsHeaders },
      404: problems[404],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/webhooks/twilio/voice',
    tags,
    summary: 'Twilio Programmable Voice: incoming call, status callback, <Record> and <Dial> actions',
    description: `The number's voice URL, its status callback URL and the TwiML verbs' action URLs all point here. An incoming call is answered with the voicemail TwiML; a final status (no-answer, busy, failed, canceled, or a voicemail) becomes a missed-call lead, an answered call a timeline entry. ${twilioSecurity}`,
    request: {
      headers: twilioHeaders,
      body: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: named(twilioVoiceParamsSchema, 'TwilioVoiceParams'),
          },
        },
      },
    },
    responses: {
      200: twiml('TwiML: the voicemail prompt, a thank-you after the recording, or an empty response'),
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      415: problems[415],
      422: problems[422],
      500: problems[500],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/webhooks/twilio/sms',
    tags,
    summary: 'Twilio Messaging: an inbound SMS or MMS',
    description: `Stored as a lead (or added to the person's open conversation) before the answer. The first delivery is answered with the configured auto-reply, a retried one with an empty response. ${twilioSecurity}`,
    request: {
      headers: twilioHeaders,
      body: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': { schema: named(twilioSmsParamsSchema, 'TwilioSmsParams') },
        },
      },
    },
    responses: {
      200: twiml('TwiML: the auto-reply, or an empty response'),
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      415: problems[415],
      422: problems[422],
      500: problems[500],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'get',
    path: '/v1/webhooks/meta',
    tags,
    summary: 'Meta webhook verification (WhatsApp Cloud API, Messenger, Instagram)',
    description:
      "Meta's `hub.challenge` handshake when the webhook is subscribed: the challenge is echoed when `hub.verify_token` is the configured verify token (403 otherwise).",
    request: {
      query: z.object({
        'hub.mode': z.literal('subscribe'),
        'hub.verify_token': z.string(),
        'hub.challenge': z.string().openapi({ example: '1158201444' }),
      }),
    },
    responses: {
      200: {
        content: { 'text/plain': { schema: z.string().openapi({ example: '1158201444' }) } },
        description: 'The challenge, echoed',
      },
      403: problems[403],
      404: problems[404],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/webhooks/meta',
    tags,
    summary: 'Meta webhook deliveries (WhatsApp Cloud API, Messenger, Instagram)',
    description: `\`${META_SIGNATURE}\` (\`sha256=\` HMAC of the raw body with the app secret) is verified before the body is parsed (403 otherwise). Every message of the batch is stored before the 200; items that are not messages (delivery statuses, echoes) are acknowledged and dropped. At most 4 MiB.`,
    request: {
      headers: z.object({
        [META_SIGNATURE]: z.string().openapi({ example: 'sha256=6f1c…' }),
      }),
      body: {
        required: true,
        content: { 'application/json': { schema: named(metaWebhookSchema, 'MetaWebhook') } },
      },
    },
    responses: {
      200: {
        content: { 'text/plain': { schema: z.literal('EVENT_RECEIVED') } },
        description: 'Every lead of the delivery is stored',
      },
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      500: problems[500],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/webhooks/telegram',
    tags,
    summary: 'Telegram bot webhook: an Update',
    description: `\`${TELEGRAM_SECRET}\` must carry the \`secret_token\` given to setWebhook (403 otherwise). A message is stored before the 200; every other kind of update is acknowledged and dropped, since Telegram retries every non-2xx. At most 1 MiB.`,
    request: {
      headers: z.object({ [TELEGRAM_SECRET]: z.string() }),
      body: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/TelegramUpdate' } } },
      },
    },
    responses: {
      200: {
        content: { 'application/json': { schema: z.object({}) } },
        description: 'Accepted (a lead is stored first)',
      },
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      500: problems[500],
      503: problems[503],
    },
  }),

  createRoute({
    method: 'post',
    path: '/v1/webhooks/generic/{sourceId}',
    tags,
    summary: 'A signed event from any call-tracking, SMS or lead provider',
    description: `\`X-Leadflow-Signature\` carries \`v1=\` signatures, the lowercase hex HMAC-SHA256 of \`{timestamp}.{raw body}\` with the source's secret (several during a rotation); \`X-Leadflow-Timestamp\` must be within ${GENERIC_WEBHOOK_TOLERANCE_SECONDS} seconds of our clock. Both are checked on the raw bytes before they are parsed (403 otherwise). The event's \`id\` makes a retry harmless.`,
    request: {
      params: sourceIdParam,
      headers: z.object({
        'X-Leadflow-Timestamp': z.string().openapi({ description: 'Unix seconds.', example: '1748770200' }),
        'X-Leadflow-Signature': z.string().openapi({ example: 'v1=3b1f…' }),
      }),
      body: {
        required: true,
        content: { 'application/json': { schema: named(genericEventSchema, 'GenericEvent') } },
      },
    },
    responses: {
      202: accepted,
      400: problems[400],
      403: problems[403],
      404: problems[404],
      413: problems[413],
      415: problems[415],
      422: problems[422],
      500: problems[500],
      503: problems[503],
    },
  }),
];

/**
 * Core reads Telegram's content fields leniently (`.catch`), which the OpenAPI generator cannot walk; zod's
 * own JSON Schema (2020-12, the dialect of OpenAPI 3.1) of what Telegram sends describes the same schema.
 */
function telegramUpdateComponent() {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(telegramUpdateSchema, {
    io: 'input',
    unrepresentable: 'any',
    // `.int()` adds the safe-integer bounds, which say nothing to a reader of Telegram's ids.
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'integer') {
        delete jsonSchema.minimum;
        delete jsonSchema.maximum;
      }
    },
  });
  return schema as Parameters<ApiApp['openAPIRegistry']['registerComponent']>[2];
}

/** Registers every public capture route in the app's OpenAPI document (no handler: ingest serves them). */
export function registerPublicRoutes(app: ApiApp): void {
  app.openAPIRegistry.registerComponent('schemas', 'TelegramUpdate', telegramUpdateComponent());
  for (const route of routes) app.openAPIRegistry.registerPath(route);
}
