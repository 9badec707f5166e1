// What a session's device is, from its User-Agent header, for the session list: device type,
// browser, OS. Parsed once, at sign-in, by ua-parser-js 1.x (MIT; 2.x is AGPL-3.0, which this MIT
// project does not take on).
import { UAParser } from 'ua-parser-js';

export interface DeviceDescription {
  /** desktop, mobile, tablet, smarttv, wearable, console, xr, embedded, or unknown (no header). */
  deviceType: string;
  /** e.g. "Chrome 120"; null when not recognised. */
  browser: string | null;
  /** e.g. "Windows 10", "iOS 17.1"; null when not recognised. */
  os: string | null;
  /** The header as stored: at most 512 characters, control characters removed. */
  userAgent: string | null;
}

const MAX_USER_AGENT = 512;

const joined = (...parts: (string | undefined)[]) =>
  parts
    .filter((p) => p && p.trim())
    .join(' ')
    .slice(0, 100) || null;

export function describeDevice(userAgentHeader: string | undefined | null): DeviceDescription {
  // eslint-disable-next-line no-control-regex
  const userAgent = (userAgentHeader ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, MAX_USER_AGENT);
  if (!userAgent) return { deviceType: 'unknown', browser: null, os: null, userAgent: null };
  const result = UAParser(userAgent);
  return {
    // ua-parser-js leaves the type empty for desktop browsers (it names only the other kinds);
    // a header naming neither a browser nor a system (a script, a library) stays unknown.
    deviceType: result.device.type ?? (result.browser.name || result.os.name ? 'desktop' : 'unknown'),
    browser: joined(result.browser.name, result.browser.major ?? result.browser.version),
    os: joined(result.os.name, result.os.version),
    userAgent,
  };
}
