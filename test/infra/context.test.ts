import { describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import { contextSchema } from '../../infra/context';
import { testContext } from './support';

describe('context', () => {
  it('accepts the cdk.json parameters, coercing -c strings to numbers', () => {
    const parsed = contextSchema.parse({
      ...testContext,
      throttleRateLimit: '75',
      throttleBurstLimit: '150',
    });
    expect(parsed).toMatchObject({ throttleRateLimit: 75, throttleBurstLimit: 150, alarmEmail: '' });
  });

  it('coerces the route throttles and the per-client limit from -c strings', () => {
    const parsed = contextSchema.parse({
      ...testContext,
      anonymousThrottleRateLimit: '10',
      anonymousThrottleBurstLimit: '15',
      webhookThrottleRateLimit: '30',
      webhookThrottleBurstLimit: '60',
      rateLimitPerClient: '120',
    });
    expect(parsed).toMatchObject({
      anonymousThrottleRateLimit: 10,
      anonymousThrottleBurstLimit: 15,
      webhookThrottleRateLimit: 30,
      webhookThrottleBurstLimit: 60,
      rateLimitPerClient: 120,
    });
  });

  it('accepts 0 as the per-client limit: off', () => {
    expect(contextSchema.parse({ ...testContext, rateLimitPerClient: '0' }).rateLimitPerClient).toBe(0);
  });

  it('accepts route limits equal to the stage limits', () => {
    expect(() =>
      contextSchema.parse({
        ...testContext,
        anonymousThrottleRateLimit: testContext.throttleRateLimit,
        anonymousThrottleBurstLimit: testContext.throttleBurstLimit,
      }),
    ).not.toThrow();
  });

  it.each([
    ['anonymousThrottleRateLimit', 'throttleRateLimit'],
    ['anonymousThrottleBurstLimit', 'throttleBurstLimit'],
    ['webhookThrottleRateLimit', 'throttleRateLimit'],
    ['webhookThrottleBurstLimit', 'throttleBurstLimit'],
  ] as const)('refuses leadflow:%s above leadflow:%s, naming both', (route, stage) => {
    expect(() => createApp({ context: { ...testContext, [route]: testContext[stage] + 1 } })).toThrow(
      new RegExp(`leadflow:${route}: Must not exceed leadflow:${stage} \\(${testContext[stage]}\\)`),
    );
  });

  it('treats a missing alarmEmail as no subscription', () => {
    const { alarmEmail: _, ...withoutEmail } = testContext;
    expect(contextSchema.parse(withoutEmail).alarmEmail).toBe('');
  });

  it.each([
    ['sesFromAddress', 'not-an-address'],
    ['sesFromAddress', 'leads@other.org'],
    ['sesIdentityDomain', 'localhost'],
    ['leadLinkBaseUrl', 'http://crm.example.com/leads'],
    ['throttleRateLimit', 0],
    ['throttleBurstLimit', 'lots'],
    ['anonymousThrottleRateLimit', 0],
    ['anonymousThrottleBurstLimit', 'lots'],
    ['webhookThrottleRateLimit', -5],
    ['webhookThrottleBurstLimit', 2.5],
    ['rateLimitPerClient', -1],
    ['rateLimitPerClient', 1.5],
    ['rateLimitPerClient', ''],
    ['rateLimitPerClient', 'sixty'],
    ['alarmEmail', 'oncall'],
    ['inboundRecipients', ''],
    ['inboundRecipients', []],
    ['inboundRecipients', 'sales@example.com, not a recipient'],
    ['inboundRecipients', '["sales@example.com"'],
    ['publicBaseUrl', 'http://api.example.com'],
  ] as const)('fails fast naming leadflow:%s when it is %j', (key, value) => {
    expect(() => createApp({ context: { ...testContext, [key]: value } })).toThrow(
      new RegExp(`leadflow:${key}(\\.\\d+)?:`),
    );
  });

  it('names a missing required parameter', () => {
    const { sesIdentityDomain: _, ...rest } = testContext;
    expect(() => createApp({ context: rest })).toThrow(/leadflow:sesIdentityDomain:/);
  });

  it('accepts a sender on a subdomain of the identity', () => {
    expect(() =>
      contextSchema.parse({ ...testContext, sesFromAddress: 'alerts@mail.example.com' }),
    ).not.toThrow();
  });

  it.each([
    ['a JSON list', ['sales@example.com', 'leads.example.com']],
    ['a comma-separated -c value', 'sales@example.com, leads.example.com'],
    ['a JSON list passed as -c text', '["sales@example.com","leads.example.com"]'],
  ])('reads inbound recipients from %s', (_, value) => {
    expect(contextSchema.parse({ ...testContext, inboundRecipients: value }).inboundRecipients).toEqual([
      'sales@example.com',
      'leads.example.com',
    ]);
  });

  it('accepts a subdomain wildcard recipient and an https public base URL', () => {
    const parsed = contextSchema.parse({
      ...testContext,
      inboundRecipients: '.example.com',
      publicBaseUrl: 'https://api.example.com',
    });
    expect(parsed).toMatchObject({
      inboundRecipients: ['.example.com'],
      publicBaseUrl: 'https://api.example.com',
    });
  });

  it('treats a missing publicBaseUrl as none', () => {
    const { publicBaseUrl: _, ...rest } = testContext;
    expect(contextSchema.parse(rest).publicBaseUrl).toBe('');
  });
});
