import {
  type BusinessHours,
  businessHoursSchema,
  isOpen,
  localTime,
  nextOpening,
  WEEKDAYS,
  zonedInstant,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demoConfig } from './support';

function hours(input: {
  timeZone: string;
  weekly: BusinessHours['weekly'];
  holidays?: string[];
}): BusinessHours {
  return businessHoursSchema.parse(input);
}

function teamHours(teamId: string): BusinessHours {
  const found = demoConfig().team(teamId).businessHours;
  if (!found) throw new Error(`The demo team ${teamId} has no business hours`);
  return found;
}

const at = (iso: string) => new Date(iso);
const weekdays = (blocks: string[]) =>
  Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, blocks]));

describe('isOpen in Asia/Seoul (the demo sales team)', () => {
  const sales = teamHours('sales');

  it('is open from 09:00 up to, not including, 18:00 on weekdays', () => {
    // Tuesday 2026-03-10; Seoul is UTC+9 all year.
    expect(isOpen(sales, at('2026-03-09T23:59:00Z'))).toBe(false); // 08:59
    expect(isOpen(sales, at('2026-03-10T00:00:00Z'))).toBe(true); // 09:00
    expect(isOpen(sales, at('2026-03-10T01:00:00Z'))).toBe(true); // 10:00
    expect(isOpen(sales, at('2026-03-10T08:59:00Z'))).toBe(true); // 17:59
    expect(isOpen(sales, at('2026-03-10T09:00:00Z'))).toBe(false); // 18:00
  });

  it('is closed at weekends, a day left out of `weekly`', () => {
    expect(isOpen(sales, at('2026-03-14T01:00:00Z'))).toBe(false); // Saturday 10:00
    expect(isOpen(sales, at('2026-03-15T01:00:00Z'))).toBe(false); // Sunday 10:00
  });

  it('is closed all day on a holiday, by the local date', () => {
    // Friday 2026-12-25 10:00 KST; the day before is open.
    expect(isOpen(sales, at('2026-12-25T01:00:00Z'))).toBe(false);
    expect(isOpen(sales, at('2026-12-24T01:00:00Z'))).toBe(true);
    // 2026-12-24 15:30 UTC is already 00:30 on the 25th in Seoul; 2026-12-25 23:30 UTC is the 26th (Saturday).
    expect(localTime(at('2026-12-24T15:30:00Z'), 'Asia/Seoul')).toEqual({
      date: '2026-12-25',
      weekday: 'fri',
      minute: 30,
    });
    expect(isOpen(sales, at('2027-01-01T02:00:00Z'))).toBe(false);
  });
});

describe('isOpen in Asia/Bangkok (the demo Thai desk)', () => {
  const thai = teamHours('thai');

  it('is open 08:00–20:00 Monday to Saturday, Bangkok time (UTC+7)', () => {
    expect(isOpen(thai, at('2026-03-14T00:59:00Z'))).toBe(false); // Saturday 07:59
    expect(isOpen(thai, at('2026-03-14T01:00:00Z'))).toBe(true); // Saturday 08:00
    expect(isOpen(thai, at('2026-03-14T12:59:00Z'))).toBe(true); // Saturday 19:59
    expect(isOpen(thai, at('2026-03-14T13:00:00Z'))).toBe(false); // Saturday 20:00
    expect(isOpen(thai, at('2026-03-15T05:00:00Z'))).toBe(false); // Sunday noon
  });

  it('reads the same instant as a different day than Seoul does', () => {
    // Monday 2026-03-16 00:30 in Seoul is still Sunday 22:30 in Bangkok.
    const instant = at('2026-03-15T15:30:00Z');
    expect(localTime(instant, 'Asia/Seoul')).toMatchObject({ weekday: 'mon', minute: 30 });
    expect(localTime(instant, 'Asia/Bangkok')).toMatchObject({ weekday: 'sun', minute: 22 * 60 + 30 });
  });
});

describe('a day with a lunch break (two blocks)', () => {
  const lunch = hours({ timeZone: 'Asia/Seoul', weekly: weekdays(['09:00-12:00', '13:00-18:00']) });

  it('is open in each block and closed between them', () => {
    expect(isOpen(lunch, at('2026-03-10T02:59:00Z'))).toBe(true); // 11:59
    expect(isOpen(lunch, at('2026-03-10T03:00:00Z'))).toBe(false); // 12:00
    expect(isOpen(lunch, at('2026-03-10T03:30:00Z'))).toBe(false); // 12:30
    expect(isOpen(lunch, at('2026-03-10T04:00:00Z'))).toBe(true); // 13:00
  });

  it('opens again after lunch', () => {
    expect(nextOpening(lunch, at('2026-03-10T03:30:00Z'))).toEqual(at('2026-03-10T04:00:00Z'));
  });

  it('takes a block ending at 24:00 to the last minute of the day', () => {
    const evening = hours({ timeZone: 'Asia/Seoul', weekly: { tue: ['18:00-24:00'] } });
    expect(isOpen(evening, at('2026-03-10T14:59:00Z'))).toBe(true); // 23:59
    expect(isOpen(evening, at('2026-03-10T15:00:00Z'))).toBe(false); // Wednesday 00:00
  });
});

describe('America/New_York across the 2026 DST changes', () => {
  // Spring forward: Sunday 2026-03-08, 02:00 EST (07:00Z) becomes 03:00 EDT.
  // Fall back: Sunday 2026-11-01, 02:00 EDT (06:00Z) becomes 01:00 EST.
  const office = hours({ timeZone: 'America/New_York', weekly: weekdays(['09:00-17:00']) });

  it('opens at 09:00 local on either side of each change', () => {
    expect(isOpen(office, at('2026-03-06T14:00:00Z'))).toBe(true); // Friday 09:00 EST
    expect(isOpen(office, at('2026-03-06T13:30:00Z'))).toBe(false); // Friday 08:30 EST
    expect(isOpen(office, at('2026-03-09T13:00:00Z'))).toBe(true); // Monday 09:00 EDT
    expect(isOpen(office, at('2026-03-09T12:59:00Z'))).toBe(false); // Monday 08:59 EDT
    expect(isOpen(office, at('2026-10-30T13:00:00Z'))).toBe(true); // Friday 09:00 EDT
    expect(isOpen(office, at('2026-11-02T13:30:00Z'))).toBe(false); // Monday 08:30 EST
    expect(isOpen(office, at('2026-11-02T14:00:00Z'))).toBe(true); // Monday 09:00 EST
    expect(isOpen(office, at('2026-11-02T21:59:00Z'))).toBe(true); // Monday 16:59 EST
    expect(isOpen(office, at('2026-11-02T22:00:00Z'))).toBe(false); // Monday 17:00 EST
  });

  it('follows the clock through the skipped and the repeated hour', () => {
    const night = hours({ timeZone: 'America/New_York', weekly: { sun: ['01:00-03:00'] } });
    expect(isOpen(night, at('2026-03-08T06:59:00Z'))).toBe(true); // 01:59 EST
    expect(isOpen(night, at('2026-03-08T07:00:00Z'))).toBe(false); // 03:00 EDT: 02:xx never happened
    const half = hours({ timeZone: 'America/New_York', weekly: { sun: ['01:00-01:30'] } });
    expect(isOpen(half, at('2026-11-01T05:15:00Z'))).toBe(true); // 01:15 EDT
    expect(isOpen(half, at('2026-11-01T05:45:00Z'))).toBe(false); // 01:45 EDT
    expect(isOpen(half, at('2026-11-01T06:15:00Z'))).toBe(true); // 01:15 EST, the second time
    expect(isOpen(half, at('2026-11-01T06:30:00Z'))).toBe(false); // 01:30 EST
  });

  it('resolves local times with zonedInstant as Temporal does (`compatible`)', () => {
    expect(zonedInstant('2026-03-08', 60, 'America/New_York')).toEqual(at('2026-03-08T06:00:00Z'));
    // 02:30 does not exist; it moves forward by the gap to 03:30 EDT.
    expect(zonedInstant('2026-03-08', 150, 'America/New_York')).toEqual(at('2026-03-08T07:30:00Z'));
    expect(zonedInstant('2026-03-08', 180, 'America/New_York')).toEqual(at('2026-03-08T07:00:00Z'));
    expect(zonedInstant('2026-03-09', 9 * 60, 'America/New_York')).toEqual(at('2026-03-09T13:00:00Z'));
    // 01:30 happens twice; the first (EDT) wins.
    expect(zonedInstant('2026-11-01', 90, 'America/New_York')).toEqual(at('2026-11-01T05:30:00Z'));
    expect(zonedInstant('2026-11-01', 120, 'America/New_York')).toEqual(at('2026-11-01T07:00:00Z'));
    expect(zonedInstant('2026-11-02', 9 * 60, 'America/New_York')).toEqual(at('2026-11-02T14:00:00Z'));
    expect(zonedInstant('2026-03-10', 10 * 60, 'Asia/Seoul')).toEqual(at('2026-03-10T01:00:00Z'));
  });

  it('finds the next opening across a weekend with a DST change', () => {
    // Friday 17:00 EST → Monday 09:00 EDT.
    expect(nextOpening(office, at('2026-03-06T22:00:00Z'))).toEqual(at('2026-03-09T13:00:00Z'));
    // Friday 17:00 EDT → Monday 09:00 EST.
    expect(nextOpening(office, at('2026-10-30T21:00:00Z'))).toEqual(at('2026-11-02T14:00:00Z'));
    // Already open: now.
    expect(nextOpening(office, at('2026-11-02T15:00:00Z'))).toEqual(at('2026-11-02T15:00:00Z'));
  });

  it('opens a block whose start was skipped when the clock jumps into it', () => {
    // Regression: this returned 03:30 EDT, the start moved forward, though the block is open from 03:00.
    const late = hours({ timeZone: 'America/New_York', weekly: { sun: ['02:30-04:00'] } });
    expect(nextOpening(late, at('2026-03-08T06:00:00Z'))).toEqual(at('2026-03-08T07:00:00Z'));
    // Regression: a block wholly inside the gap never opens that day; this returned 03:00 EDT, closed.
    const skipped = hours({ timeZone: 'America/New_York', weekly: { sun: ['02:00-03:00'] } });
    expect(nextOpening(skipped, at('2026-03-08T06:00:00Z'))).toEqual(at('2026-03-15T06:00:00Z'));
  });

  it('opens again in the repeated hour', () => {
    // Regression: both returned next Sunday, missing the second 01:00.
    const half = hours({ timeZone: 'America/New_York', weekly: { sun: ['01:00-01:30'] } });
    expect(nextOpening(half, at('2026-11-01T05:40:00Z'))).toEqual(at('2026-11-01T06:00:00Z'));
    const early = hours({ timeZone: 'America/New_York', weekly: { sun: ['00:30-01:30'] } });
    expect(nextOpening(early, at('2026-11-01T05:45:00Z'))).toEqual(at('2026-11-01T06:00:00Z'));
  });
});

describe('zonedInstant in zones far east of UTC or with half-hour DST', () => {
  it('moves a skipped time forward in Pacific/Auckland (UTC+12 → +13)', () => {
    // Regression: 02:30 on 2026-09-27 came back as 01:30 NZST, an hour early, not 03:30 NZDT.
    expect(zonedInstant('2026-09-27', 150, 'Pacific/Auckland')).toEqual(at('2026-09-26T14:30:00Z'));
    expect(localTime(zonedInstant('2026-09-27', 150, 'Pacific/Auckland'), 'Pacific/Auckland').minute).toBe(
      210,
    );
  });

  it('takes the first of a repeated half hour on Lord Howe Island (UTC+11 → +10:30)', () => {
    // Regression: the search looked only one hour back and returned the second 01:45.
    expect(zonedInstant('2026-04-05', 105, 'Australia/Lord_Howe')).toEqual(at('2026-04-04T14:45:00Z'));
  });
});

describe('nextOpening', () => {
  it('skips holidays', () => {
    // Thursday 2026-12-24 18:00 KST; Friday is Christmas, so Monday 09:00 KST.
    expect(nextOpening(teamHours('sales'), at('2026-12-24T09:00:00Z'))).toEqual(at('2026-12-28T00:00:00Z'));
  });

  it('is undefined when nothing opens within the horizon', () => {
    expect(nextOpening(hours({ timeZone: 'Asia/Seoul', weekly: {} }), at('2026-03-10T00:00:00Z'))).toBe(
      undefined,
    );
    const monday = hours({ timeZone: 'Asia/Seoul', weekly: { mon: ['09:00-10:00'] } });
    // Tuesday: the next Monday is 6 days on.
    expect(nextOpening(monday, at('2026-03-10T01:00:00Z'), 5)).toBe(undefined);
    expect(nextOpening(monday, at('2026-03-10T01:00:00Z'), 6)).toEqual(at('2026-03-16T00:00:00Z'));
  });
});

// Zones whose offsets are whole quarter hours, with their 2026 DST changes as the local date and minute
// the clock read just before: at night, at midnight (Santiago), by half an hour (Lord Howe), east of +12
// (Auckland, Chatham) and west of UTC (New York, St John's). Runs are drawn near the changes on purpose.
const ZONES: Record<string, { date: string; minute: number }[]> = {
  'Asia/Seoul': [],
  'Asia/Bangkok': [],
  'Asia/Kolkata': [],
  'Asia/Kathmandu': [],
  'America/New_York': [
    { date: '2026-03-08', minute: 120 },
    { date: '2026-11-01', minute: 120 },
  ],
  'America/St_Johns': [
    { date: '2026-03-08', minute: 120 },
    { date: '2026-11-01', minute: 120 },
  ],
  'America/Santiago': [
    { date: '2026-04-04', minute: 1440 },
    { date: '2026-09-06', minute: 0 },
  ],
  'Europe/Berlin': [
    { date: '2026-03-29', minute: 120 },
    { date: '2026-10-25', minute: 180 },
  ],
  'Pacific/Auckland': [
    { date: '2026-04-05', minute: 180 },
    { date: '2026-09-27', minute: 120 },
  ],
  'Pacific/Chatham': [
    { date: '2026-04-05', minute: 225 },
    { date: '2026-09-27', minute: 165 },
  ],
  'Australia/Lord_Howe': [
    { date: '2026-04-05', minute: 120 },
    { date: '2026-10-04', minute: 120 },
  ],
};
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY_MINUTES = 24 * 60;

const clock = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const anyDate = fc
  .integer({ min: 0, max: 364 })
  .map((day) => new Date(Date.UTC(2026, 0, 1 + day)).toISOString().slice(0, 10));
const shiftDate = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MINUTES * MINUTE).toISOString().slice(0, 10);

/** A local date and quarter-hour minute in a zone: mostly within three hours of one of its DST changes. */
function wallTimes(zone: string): fc.Arbitrary<{ date: string; minute: number }> {
  const changes = ZONES[zone] ?? [];
  const anywhere = fc.record({ date: anyDate, minute: fc.integer({ min: 0, max: 95 }).map((q) => q * 15) });
  if (changes.length === 0) return anywhere;
  const nearChange = fc
    .tuple(fc.constantFrom(...changes), fc.integer({ min: -12, max: 12 }))
    .map(([change, quarters]) => {
      const minute = change.minute + quarters * 15;
      const days = Math.floor(minute / DAY_MINUTES);
      return { date: shiftDate(change.date, days), minute: minute - days * DAY_MINUTES };
    });
  return fc.oneof({ arbitrary: nearChange, weight: 3 }, { arbitrary: anywhere, weight: 1 });
}

/** Opening hours in a zone: blocks on quarter hours, often starting or ending in the small hours. */
function hoursIn(zone: string): fc.Arbitrary<BusinessHours> {
  const quarter = fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.integer({ min: 88, max: 96 }),
    fc.integer({ min: 0, max: 96 }),
  );
  const block = fc
    .tuple(quarter, quarter)
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => `${clock(Math.min(a, b) * 15)}-${clock(Math.max(a, b) * 15)}`);
  const weekly = fc.record(
    Object.fromEntries(WEEKDAYS.map((day) => [day, fc.array(block, { maxLength: 3 })])) as Record<
      (typeof WEEKDAYS)[number],
      fc.Arbitrary<string[]>
    >,
    { requiredKeys: [] },
  );
  const holidays = fc.array(
    fc.oneof(
      wallTimes(zone).map((wall) => wall.date),
      anyDate,
    ),
    { maxLength: 2 },
  );
  return fc
    .record({ weekly, holidays })
    .map((input) => businessHoursSchema.parse({ timeZone: zone, ...input }));
}

/** Opening hours and an instant (to the minute) near one of their zone's DST changes. */
const hoursAndInstant = fc.constantFrom(...Object.keys(ZONES)).chain((zone) =>
  fc.tuple(
    hoursIn(zone),
    fc
      .tuple(wallTimes(zone), fc.integer({ min: -120, max: 120 }))
      .map(
        ([wall, jitter]) => new Date(zonedInstant(wall.date, wall.minute, zone).getTime() + jitter * MINUTE),
      ),
  ),
);

/** The brute-force reading: a table of each weekday's open minutes, looked up by the local clock. */
function openByTable(hoursToCheck: BusinessHours, now: Date): boolean {
  const local = localTime(now, hoursToCheck.timeZone);
  if (hoursToCheck.holidays.includes(local.date)) return false;
  const table = new Array<boolean>(24 * 60).fill(false);
  for (const range of hoursToCheck.weekly[local.weekday] ?? []) {
    const [from, to] = range.split('-').map((time) => {
      const [h = 0, m = 0] = time.split(':').map(Number);
      return h * 60 + m;
    });
    for (let minute = from ?? 0; minute < (to ?? 0); minute++) table[minute] = true;
  }
  return table[local.minute] ?? false;
}

describe('properties', () => {
  it('isOpen agrees with a minute table read through localTime', () => {
    fc.assert(
      fc.property(hoursAndInstant, ([generated, now]) => {
        expect(isOpen(generated, now)).toBe(openByTable(generated, now));
      }),
      { numRuns: 500 },
    );
  });

  it('zonedInstant gives the earliest instant showing that wall time, or moves a skipped one forward', () => {
    const zoneAndWall = fc
      .constantFrom(...Object.keys(ZONES))
      .chain((zone) => fc.tuple(fc.constant(zone), wallTimes(zone)));
    fc.assert(
      fc.property(zoneAndWall, ([zone, { date, minute }]) => {
        const result = zonedInstant(date, minute, zone).getTime();
        const shows = (instant: number) => {
          const local = localTime(new Date(instant), zone);
          return local.date === date && local.minute === minute;
        };
        // Every zone here changes its offset by quarter hours, at quarter hours.
        const near = Array.from({ length: 4 * 40 }, (_, step) => result - 20 * 60 * MINUTE + step * QUARTER);
        if (shows(result)) {
          expect(near.filter((instant) => instant < result && shows(instant))).toEqual([]);
        } else {
          // Skipped: nothing nearby shows it, and the time moved forward by the gap (offset after − before).
          expect(near.filter(shows)).toEqual([]);
          const offset = (instant: number) => {
            const local = localTime(new Date(instant), zone);
            return (Date.parse(`${local.date}T${clock(local.minute)}:00Z`) - instant) / MINUTE;
          };
          const local = localTime(new Date(result), zone);
          const moved =
            (Date.parse(`${local.date}T${clock(local.minute)}:00Z`) -
              Date.parse(`${date}T${clock(minute)}:00Z`)) /
            MINUTE;
          expect(moved).toBeGreaterThan(0);
          expect(moved).toBe(offset(result) - offset(result - 3 * 60 * MINUTE));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('nextOpening is the first open quarter hour at or after now', () => {
    const horizonDays = 3;
    fc.assert(
      fc.property(hoursAndInstant, ([generated, now]) => {
        const opening = nextOpening(generated, now, horizonDays);
        // Open and closed change only at quarter hours here, so checking now and each quarter hour is exact.
        const candidates = [now.getTime()];
        const last = now.getTime() + (horizonDays + 2) * DAY_MINUTES * MINUTE;
        for (let instant = Math.ceil(now.getTime() / QUARTER) * QUARTER; instant <= last; instant += QUARTER)
          if (instant > now.getTime()) candidates.push(instant);
        const brute = candidates.find((instant) => isOpen(generated, new Date(instant)));
        if (opening === undefined) {
          // Nothing open on the local dates searched: today and the horizonDays after it.
          const today = localTime(now, generated.timeZone).date;
          const end = zonedInstant(shiftDate(today, horizonDays + 1), 0, generated.timeZone).getTime();
          expect(brute === undefined || brute >= end).toBe(true);
        } else {
          expect(isOpen(generated, opening)).toBe(true);
          expect(opening.getTime()).toBe(brute);
        }
      }),
      { numRuns: 500 },
    );
  });
});
