/**
 * Characters a message body may not carry raw. SQS allows #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD and
 * #x10000–#x10FFFF; fauxqs (the local emulator) also refuses everything above #xFFFD. JSON.stringify
 * already escapes the C0 controls and lone surrogates, so what is left is U+FFFE, U+FFFF and every
 * character outside the Basic Multilingual Plane (emoji, rare CJK).
 */
const NOT_SAFE_RAW = /[\uFFFE\uFFFF]|[\u{10000}-\u{10FFFF}]/gu;

function escapeUnit(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, '0')}`;
}

/**
 * Serializes a value as a queue message body both real SQS and the emulators accept: JSON, with
 * every character outside their common range written as `\uXXXX` escapes (a surrogate pair for
 * emoji). `JSON.parse` gives back exactly the original value, so consumers need nothing special.
 */
export function toMessageBody(value: unknown): string {
  return JSON.stringify(value).replace(NOT_SAFE_RAW, (char) => {
    let escaped = '';
    for (let index = 0; index < char.length; index++) escaped += escapeUnit(char.charCodeAt(index));
    return escaped;
  });
}
