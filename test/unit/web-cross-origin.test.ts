import type { IncomingMessage } from 'node:http';
import { crossOriginRefusal } from '../../src/web/cross-origin';

const req = (method: string, headers: Record<string, string>): IncomingMessage =>
  ({ method, headers: { host: '127.0.0.1:9967', ...headers } }) as unknown as IncomingMessage;

describe('cross-site request refusal', () => {
  it.each([
    ['a browser POST from another site', 'POST', { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }, 'Sec-Fetch-Site is cross-site'],
    ['a browser POST from a sibling site', 'POST', { 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site is same-site'],
    ['an old browser POST with a foreign Origin', 'POST', { origin: 'http://evil.example', 'content-type': 'text/plain' }, 'Origin is another site'],
    ['a POST from a sandboxed frame (Origin: null)', 'POST', { origin: 'null' }, 'Origin is not a URL'],
    ['a PUT with a foreign Origin on the same host, other port', 'PUT', { origin: 'http://127.0.0.1:8080' }, 'Origin is another site'],
  ])('refuses %s', (_what, method, headers, why) => {
    expect(crossOriginRefusal(req(method, headers))).toBe(why);
  });

  it.each([
    ['curl (no browser headers)', 'POST', {}],
    ['the status page itself', 'POST', { 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:9967' }],
    ['a typed URL', 'POST', { 'sec-fetch-site': 'none' }],
    ['an old browser on the same origin', 'POST', { origin: 'http://127.0.0.1:9967' }],
    ['any GET', 'GET', { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }],
  ])('lets %s through', (_what, method, headers) => {
    expect(crossOriginRefusal(req(method, headers))).toBeUndefined();
  });
});
