// What text Gatehouse stores may hold: no control character other than tab, line feed and carriage
// return, and no lone UTF-16 surrogate (PostgreSQL's text cannot store NUL, and neither text nor
// jsonb a surrogate without its partner). The edge check applies it to every request field; the
// CSV import, whose body the edge does not inspect, to every cell.

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** A high surrogate without a low one after it, or a low one without a high one before it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether the text holds a control character (tab and line breaks aside). */
export function holdsControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Whether the text holds anything it may not: a control character or a lone surrogate. */
export function holdsForbiddenCharacter(text: string): boolean {
  return CONTROL.test(text) || LONE_SURROGATE.test(text);
}
