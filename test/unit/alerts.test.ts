import { renderManagerAlert } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { composeNotification } from '../../functions/notifier/compose';
import { demoConfig, demoManager, notificationFixture } from './support';

const options = { leadLinkBaseUrl: 'https://crm.example.com/leads', manager: demoManager() };

describe('manager alerts for every channel', () => {
  it('marks a missed call urgent and asks for a call back, with the recording', () => {
    const alert = renderManagerAlert(
      notificationFixture('manager_alert', {
        channel: 'phone_call',
        sourceId: '+15550001111',
        urgent: true,
        contact: { phone: '+821012345678' },
        call: {
          sid: 'CA123',
          status: 'no-answer',
          missed: true,
          recordingUrl: 'https://api.twilio.com/rec/RE1',
          to: '+15550001111',
        },
      }),
      options,
    );
    expect(alert.subject).toBe('[URGENT] Missed call from +821012345678: call back');
    expect(alert.text).toContain('Call: missed (no-answer)');
    expect(alert.text).toContain('Recording: https://api.twilio.com/rec/RE1');
    expect(alert.html).toContain('href="https://api.twilio.com/rec/RE1"');
  });

  it('announces a follow-up message on an open lead, escaped', () => {
    const alert = renderManagerAlert(
      notificationFixture('message_alert', { channel: 'whatsapp', message: 'Is <b>Friday</b> ok?' }),
      options,
    );
    expect(alert.subject).toBe('New message from Kim Minsu via WhatsApp');
    expect(alert.html).toContain('Is &lt;b&gt;Friday&lt;/b&gt; ok?');
  });

  it('lists an inbound email subject and attachments', () => {
    const alert = renderManagerAlert(
      notificationFixture('manager_alert', {
        channel: 'email',
        email: {
          messageId: '<a@b>',
          subject: 'Quote <request>',
          attachments: [{ filename: 'plan.pdf', contentType: 'application/pdf', size: 1234 }],
        },
      }),
      options,
    );
    expect(alert.text).toContain('Subject: Quote <request>');
    expect(alert.html).toContain('Quote &lt;request&gt;');
    expect(alert.text).toContain('Attachment: plan.pdf (application/pdf, 1234 bytes)');
  });

  it('names a handle-only lead by platform and handle, and never marks a follow-up message "Returning"', () => {
    const notification = {
      ...notificationFixture('message_alert', {
        channel: 'messenger',
        contact: {},
        handles: { messenger: '6543210987654321' },
      }),
      returning: true,
    };
    expect(renderManagerAlert(notification, options).subject).toBe(
      'New message from Messenger user 6543210987654321 via Messenger',
    );
  });

  it('sends message alerts to the owning manager, never to the lead', () => {
    const email = composeNotification(notificationFixture('message_alert', { channel: 'telegram' }), {
      config: demoConfig(),
      settings: { sesFromAddress: 'leads@example.com', leadLinkBaseUrl: 'https://crm.example.com/leads' },
    });
    expect(email.to.address).toBe('alice@example.com');
    expect(email.content.subject).toContain('New message from');
  });
});
