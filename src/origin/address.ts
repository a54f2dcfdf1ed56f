import { isIP } from 'node:net';

/**
 * Addresses an internet-facing proxy must never fetch from on an operator's behalf unless told to:
 * loopback, RFC 1918 private, CGNAT, link-local (cloud metadata at 169.254.169.254), unique-local,
 * unspecified, multicast and reserved ranges; IPv4-mapped IPv6 is checked as the IPv4 it carries.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateV4(address);
  if (family === 6) return privateV6(address.toLowerCase());
  // Not an IP at all: refuse rather than guess.
  return true;
}

function privateV4(address: string): boolean {
  const [a = 0, b = 0] = address.split('.').map(Number);
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments (192.0.0.0/24) and documentation nearby
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast and reserved
  );
}

function privateV6(address: string): boolean {
  if (address === '::' || address === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return privateV4(mapped[1] as string);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(address)) {
    // ::ffff:7f00:1 is 127.0.0.1 written in hex.
    const [hi = '0', lo = '0'] = address.slice(7).split(':');
    const n = (parseInt(hi, 16) << 16) | parseInt(lo, 16);
    return privateV4([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  const first = parseInt(address.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // fc00::/7 unique-local
    (first & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (first & 0xffc0) === 0xfec0 || // fec0::/10 site-local (deprecated, still routed internally)
    (first & 0xff00) === 0xff00 || // multicast
    address.startsWith('64:ff9b:') || // NAT64: may embed a private IPv4
    address.startsWith('2001:db8:') // documentation
  );
}
