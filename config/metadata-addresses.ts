/**
 * Addresses that answer with the credentials of the machine asking: the EC2, ECS and Lambda metadata and
 * credential endpoints are link-local. A smoke check or a metrics scrape sent there would read the function's
 * own role credentials into a response the report quotes, so no configured URL may point at one.
 */

/** Host names of cloud metadata services that resolve to link-local addresses. */
const METADATA_NAMES = new Set(['instance-data', 'instance-data.ec2.internal', 'metadata', 'metadata.google.internal', 'metadata.goog']);

/** IPv4 ranges as [first octets, prefix length]: link-local (EC2 IMDS 169.254.169.254, ECS 169.254.170.2) and Alibaba's metadata. */
const IPV4_RANGES: readonly (readonly [number[], number])[] = [
  [[169, 254], 16],
  [[100, 100, 100, 200], 32],
];

/** IPv6 ranges as [first 16-bit groups, prefix length]: link-local fe80::/10 and EC2's fd00:ec2::/32 (IMDS at fd00:ec2::254). */
const IPV6_RANGES: readonly (readonly [number[], number])[] = [
  [[0xfe80], 10],
  [[0xfd00, 0x0ec2], 32],
];

/** IPv6 prefixes (96 bits) whose last 32 bits are an IPv4 address: IPv4-mapped, IPv4-compatible and NAT64. */
const EMBEDDED_IPV4: readonly number[][] = [
  [0, 0, 0, 0, 0, 0xffff],
  [0, 0, 0, 0, 0, 0],
  [0x64, 0xff9b, 0, 0, 0, 0],
];

function inRange(parts: readonly number[], bitsPerPart: number, [prefix, length]: readonly [number[], number]): boolean {
  for (let bit = 0; bit < length; bit += bitsPerPart) {
    const index = bit / bitsPerPart;
    const bits = Math.min(bitsPerPart, length - bit);
    const shift = bitsPerPart - bits;
    if (parts[index] >> shift !== (prefix[index] ?? 0) >> shift) return false;
  }
  return true;
}

function ipv4Parts(host: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match ? match.slice(1).map(Number) : null;
}

/** The eight groups of an IPv6 literal as the URL parser writes it (`[fd00:ec2::254]`, compressed, lowercase). */
function ipv6Groups(host: string): number[] | null {
  if (!host.startsWith('[') || !host.endsWith(']')) return null;
  const [head, tail] = host.slice(1, -1).split('::') as [string, string | undefined];
  const parse = (text: string | undefined) => (text ? text.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function isMetadataIpv4(parts: readonly number[]): boolean {
  return IPV4_RANGES.some((range) => inRange(parts, 8, range));
}

function isMetadataHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_NAMES.has(host)) return true;
  const v4 = ipv4Parts(host);
  if (v4) return isMetadataIpv4(v4);
  const v6 = ipv6Groups(host);
  if (!v6) return false;
  if (IPV6_RANGES.some((range) => inRange(v6, 16, range))) return true;
  const embedded = EMBEDDED_IPV4.some((prefix) => prefix.every((group, index) => v6[index] === group));
  return embedded && isMetadataIpv4([v6[6] >> 8, v6[6] & 0xff, v6[7] >> 8, v6[7] & 0xff]);
}

/**
 * Why a URL may not be called by a smoke check or a metrics scrape, or null when it may. The URL parser has
 * already turned `0xa9fea9fe`, `2852039166` and `[::ffff:169.254.169.254]` into their canonical form.
 */
export function metadataAddressProblem(text: string): string | null {
  if (!URL.canParse(text)) return null;
  const { hostname } = new URL(text);
  if (!isMetadataHost(hostname)) return null;
  return `must not point at a link-local or cloud metadata address (${hostname}): 169.254.0.0/16, fe80::/10, fd00:ec2::/32 and the metadata host names hand out the credentials of the machine the checks run on`;
}
