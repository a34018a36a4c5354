import { describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import { contextSchema } from '../../infra/context';
import { testContext } from './support';

describe('context', () => {
  it('accepts the cdk.json parameters, coercing -c strings to numbers', () => {
    const parsed = contextSchema.parse({ ...testContext, throttleRateLimit: '25', throttleBurstLimit: '50' });
    expect(parsed).toMatchObject({ throttleRateLimit: 25, throttleBurstLimit: 50, alarmEmail: '' });
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
    ['alarmEmail', 'oncall'],
  ] as const)('fails fast naming leadflow:%s when it is %j', (key, value) => {
    expect(() => createApp({ context: { ...testContext, [key]: value } })).toThrow(
      new RegExp(`leadflow:${key}:`),
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
});
