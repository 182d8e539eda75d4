import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ownListener } from '@tripline/config';

/** Where outbound calls may go. Link-local and cloud metadata addresses are refused unless allowed. */
export interface EgressPolicy {
  /** When non-empty, only these hosts (exact names, "*.suffix" wildcards, IPs or CIDRs) may be called. */
  allowHosts: string[];
  /** Allow 169.254.0.0/16, fe80::/10 and metadata endpoints (default false). */
  allowLinkLocal: boolean;
}

/**
 * Server-side request forgery guard for every outbound call to a URL an API user gave: model
 * adapters and alert notifications (webhook, Slack, PagerDuty). A URL naming the cloud metadata
 * endpoint would hand the instance's credentials to whoever registered it. Two checks: assertEgressAllowed() on the URL before a request, and
 * createEgressLookup() on the address the name resolves to when the socket connects, so a name
 * that resolved to a harmless address at check time and to 169.254.169.254 a moment later (DNS
 * rebinding) is still refused. Loopback and private ranges pass by default because model servers
 * usually live there; an allow-list is the way to narrow egress further.
 */

export const EGRESS_REFUSED = 'ERR_EGRESS_REFUSED';

export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED;

  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

const LINK_LOCAL_REASON =
  'link-local and cloud metadata addresses are blocked (set allowLinkLocal to permit)';
const ALLOW_LIST_REASON =
  'the host is not in the egress allow-list (allowHosts, TRIPLINE_EGRESS_ALLOW_HOSTS)';

/** Names that resolve to a metadata service inside a cloud, whatever public DNS says about them. */
const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata']);

// ---------------------------------------------------------------------------------------------
// Addresses

export type Address = { family: 4; value: number } | { family: 6; value: bigint };

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let rest = text.replace(/%.*$/, '').toLowerCase();
  if (isIP(rest) !== 6) return undefined;
  const dotted = /\d+\.\d+\.\d+\.\d+$/.exec(rest);
  if (dotted) {
    const v4 = parseIPv4(dotted[0])!;
    rest = `${rest.slice(0, dotted.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = rest.includes('::') ? rest.split('::') : [rest, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...(tail === undefined ? [] : new Array<string>(missing).fill('0')),
    ...tailGroups,
  ].map((group) => parseInt(group, 16));
  if (groups.length !== 8 || groups.some((group) => !Number.isInteger(group))) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96
const TRANSLATED_PREFIX = 0xffffn << 48n; // ::ffff:0:0:0/96 (SIIT)
const NAT64_PREFIX = 0x0064ff9bn << 96n; // 64:ff9b::/96
const LOW_96 = (1n << 96n) - 1n;
const LOW_32 = (1n << 32n) - 1n;

/**
 * The IPv4 address an IPv6 address carries, for the forms a connection ends up at that IPv4
 * address (mapped, SIIT-translated, NAT64 well-known prefix, deprecated IPv4-compatible): a
 * guard that only compared IPv4 text would let "::ffff:169.254.169.254" through.
 */
function embeddedIPv4(value: bigint): number | undefined {
  const high = value & ~LOW_32;
  if (high === MAPPED_PREFIX || high === TRANSLATED_PREFIX || high === NAT64_PREFIX)
    return Number(value & LOW_32);
  // ::/96 except :: and ::1, which are IPv6's own unspecified and loopback addresses.
  if ((value & ~LOW_96) === 0n && value >> 32n === 0n && value > 1n) return Number(value);
  return undefined;
}

/** Parses an IP literal (brackets and zone ids allowed) to its canonical form; IPv4 inside IPv6 becomes IPv4. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(bare);
  if (v6 === undefined) return undefined;
  const embedded = embeddedIPv4(v6);
  return embedded === undefined ? { family: 6, value: v6 } : { family: 4, value: embedded };
}

export function formatAddress(address: Address): string {
  if (address.family === 4) {
    const v = address.value;
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((address.value >> shift) & 0xffffn).toString(16));
  // Shortened the way WHATWG URL and inet_ntop do: the longest run of two or more zero groups.
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}

interface Cidr {
  family: 4 | 6;
  network: bigint;
  bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const prefix = text.slice(slash + 1);
  const raw = text.slice(0, slash);
  if (!/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  const v4 = parseIPv4(raw);
  if (v4 !== undefined) return bits <= 32 ? { family: 4, network: BigInt(v4), bits } : undefined;
  const v6 = parseIPv6(raw.replace(/^\[|\]$/g, ''));
  return v6 !== undefined && bits <= 128 ? { family: 6, network: v6, bits } : undefined;
}

function inCidr(address: Address, cidr: Cidr): boolean {
  const width = cidr.family === 4 ? 32 : 128;
  const value = BigInt(address.value);
  if (address.family !== cidr.family) {
    // An IPv4 range written as a mapped IPv6 range (::ffff:10.0.0.0/104) still covers IPv4.
    if (address.family !== 4 || cidr.family !== 6) return false;
    const embedded = embeddedIPv4(cidr.network);
    if (embedded === undefined || cidr.bits < 96) return false;
    return inCidr(address, { family: 4, network: BigInt(embedded), bits: cidr.bits - 96 });
  }
  const shift = BigInt(width - cidr.bits);
  return value >> shift === cidr.network >> shift;
}

const BLOCKED_RANGES: Cidr[] = ['169.254.0.0/16', 'fe80::/10', '100.100.100.200/32', 'fd00:ec2::254/128'].map(
  (range) => parseCidr(range)!,
);

/** Whether an address is link-local or a cloud metadata endpoint. */
export function isLinkLocalOrMetadata(address: string): boolean {
  const parsed = parseAddress(address);
  return parsed !== undefined && BLOCKED_RANGES.some((range) => inCidr(parsed, range));
}

const THIS_MACHINE_RANGES: Cidr[] = ['127.0.0.0/8', '0.0.0.0/32', '::1/128', '::/128'].map(
  (range) => parseCidr(range)!,
);

/** Whether a connection to `address` ends on this machine: loopback, unspecified, or an interface's own address. */
function isThisMachine(address: Address): boolean {
  if (THIS_MACHINE_RANGES.some((range) => inCidr(address, range))) return true;
  return Object.values(networkInterfaces()).some((entries) =>
    (entries ?? []).some((entry) => {
      const own = parseAddress(entry.address);
      return own !== undefined && own.family === address.family && own.value === address.value;
    }),
  );
}

/**
 * Why a destination is one of this process's own listeners (its API port, its embedded
 * PostgreSQL), refused whatever the policy allows; undefined when it is not.
 */
function refuseOwnListener(address: Address, port: number | undefined): string | undefined {
  const what = port === undefined ? undefined : ownListener(port);
  if (!what || !isThisMachine(address)) return undefined;
  return `port ${port} on this machine is ${what}, which Tripline never calls`;
}

const portOf = (url: URL) => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

// ---------------------------------------------------------------------------------------------
// Policy

type AllowEntry =
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'address'; range: Cidr };

function normaliseHostname(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function parseAllowEntry(entry: string): AllowEntry {
  const text = entry.trim();
  if (text.startsWith('*.') && text.length > 2)
    return { kind: 'suffix', suffix: normaliseHostname(text.slice(1)) };
  const formatHint = 'a host name, "*.suffix", IP address or CIDR range (no ports or schemes)';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    throw new Error(`egress allow-list entry "${entry}" is not ${formatHint}`);
  if (text.includes('/')) {
    const range = parseCidr(text);
    if (!range) throw new Error(`egress allow-list entry "${entry}" is not a valid CIDR range`);
    return { kind: 'address', range };
  }
  const address = parseAddress(text);
  if (address) {
    const bits = address.family === 4 ? 32 : 128;
    return { kind: 'address', range: { family: address.family, network: BigInt(address.value), bits } };
  }
  if (!/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$/i.test(text)) {
    throw new Error(`egress allow-list entry "${entry}" is not ${formatHint}`);
  }
  return { kind: 'name', name: normaliseHostname(text) };
}

// Parsed on every use: a few entries, and a policy object changed after its first use is still obeyed.
function allowEntries(policy: EgressPolicy): AllowEntry[] {
  return policy.allowHosts.filter((entry) => entry.trim() !== '').map(parseAllowEntry);
}

function nameAllowed(hostname: string, entries: AllowEntry[]): boolean {
  return entries.some(
    (entry) =>
      (entry.kind === 'name' && entry.name === hostname) ||
      (entry.kind === 'suffix' && hostname.endsWith(entry.suffix) && hostname.length > entry.suffix.length),
  );
}

function addressAllowed(address: Address, entries: AllowEntry[]): boolean {
  return entries.some((entry) => entry.kind === 'address' && inCidr(address, entry.range));
}

/** Why an address may not be connected to, or undefined when it may; `nameIsAllowed` when an allow-list name entry already let its host name through. */
function refuseAddress(address: Address, policy: EgressPolicy, nameIsAllowed: boolean): string | undefined {
  if (!policy.allowLinkLocal && BLOCKED_RANGES.some((range) => inCidr(address, range)))
    return LINK_LOCAL_REASON;
  const entries = allowEntries(policy);
  if (entries.length > 0 && !nameIsAllowed && !addressAllowed(address, entries)) return ALLOW_LIST_REASON;
  return undefined;
}

/**
 * Throws EgressRefusedError unless the URL may be called under the policy; returns it parsed.
 * A host name that no allow-list name entry matches, while the list holds IP or CIDR entries, is
 * decided when it resolves (createEgressLookup), since only then is its address known.
 */
export function assertEgressAllowed(url: string | URL, policy: EgressPolicy): URL {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new EgressRefusedError(`egress to "${url}" refused: not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EgressRefusedError(
      `egress to ${parsed.protocol}//${parsed.host} refused: only http and https URLs may be called`,
    );
  }
  // The WHATWG parser has already turned 2852039166, 0xa9fea9fe and 0251.0376.0251.0376 into
  // 169.254.169.254, so the literal checks below see the canonical dotted quad.
  const host = normaliseHostname(parsed.hostname.replace(/^\[|\]$/g, ''));
  const address = parseAddress(host);
  const port = portOf(parsed);
  // "localhost" is loopback by definition (RFC 6761); other names are checked when they resolve.
  const loopbackName = host === 'localhost' || host.endsWith('.localhost');
  const own = address
    ? refuseOwnListener(address, port)
    : loopbackName
      ? refuseOwnListener({ family: 4, value: 0x7f000001 }, port)
      : undefined;
  if (own) throw new EgressRefusedError(`egress to ${parsed.host} refused: ${own}`);
  if (address) {
    const reason = refuseAddress(address, policy, false);
    if (reason) throw new EgressRefusedError(`egress to ${formatAddress(address)} refused: ${reason}`);
    return parsed;
  }
  if (!policy.allowLinkLocal && METADATA_HOSTNAMES.has(host)) {
    throw new EgressRefusedError(`egress to ${host} refused: ${LINK_LOCAL_REASON}`);
  }
  const entries = allowEntries(policy);
  if (
    entries.length > 0 &&
    !nameAllowed(host, entries) &&
    !entries.some((entry) => entry.kind === 'address')
  ) {
    throw new EgressRefusedError(`egress to ${host} refused: ${ALLOW_LIST_REASON}`);
  }
  return parsed;
}

type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for node:net/http/https that resolves with `resolver` (dns.lookup by default) and
 * refuses the connection when any resolved address is not allowed: the check runs on the address
 * the socket is about to connect to, not on an earlier answer. Node skips lookup for IP literals,
 * which is why assertEgressAllowed() must run on the URL as well.
 */
export function createEgressLookup(
  policy: EgressPolicy,
  resolver: Resolver = dns.lookup,
  /** The port about to be connected to: an address of this machine serving one of our own listeners there is refused. */
  port?: number,
): LookupFunction {
  return (hostname, options, callback) => {
    const host = normaliseHostname(hostname);
    const done = (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => {
      if (error) return callback(error, options.all ? [] : '', undefined);
      if (addresses.length === 0) {
        const empty: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        empty.code = 'ENOTFOUND';
        return callback(empty, options.all ? [] : '', undefined);
      }
      const nameIsAllowed = nameAllowed(host, allowEntries(policy));
      for (const { address } of addresses) {
        const parsed = parseAddress(address);
        const reason = parsed
          ? (refuseOwnListener(parsed, port) ?? refuseAddress(parsed, policy, nameIsAllowed))
          : `it resolved to "${address}", which is not an IP address`;
        if (reason) {
          const shown = parsed ? formatAddress(parsed) : address;
          const error = new EgressRefusedError(
            `egress to ${hostname} (resolves to ${shown}) refused: ${reason}`,
          );
          return callback(error, options.all ? [] : '', undefined);
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    };
    const literal = parseAddress(host);
    if (literal) {
      return done(null, [
        { address: hostname.replace(/^\[|\]$/g, ''), family: isIP(hostname) || literal.family },
      ]);
    }
    // `all: true` so that every address the name has is checked, not only the first.
    resolver(hostname, { ...options, all: true }, (error, addresses) => done(error, addresses ?? []));
  };
}

/**
 * TRIPLINE_EGRESS_ALLOW_HOSTS (comma-separated names, "*.suffix", IPs, CIDRs; empty = any host
 * except link-local/metadata) and TRIPLINE_EGRESS_ALLOW_LINK_LOCAL ("true"/"false", default false).
 */
/** The port a URL connects to, for createEgressLookup. */
export function egressPort(url: URL): number {
  return portOf(url);
}

export function egressPolicyFromEnvironment(environment: Record<string, string | undefined>): EgressPolicy {
  const allowHosts = (environment.TRIPLINE_EGRESS_ALLOW_HOSTS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of allowHosts) {
    try {
      parseAllowEntry(entry);
    } catch (error) {
      throw new Error(`TRIPLINE_EGRESS_ALLOW_HOSTS: ${(error as Error).message}`);
    }
  }
  const flag = (environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL ?? '').trim().toLowerCase();
  if (flag !== '' && flag !== 'true' && flag !== 'false') {
    throw new Error(
      `TRIPLINE_EGRESS_ALLOW_LINK_LOCAL must be "true" or "false", not "${environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL}"`,
    );
  }
  return { allowHosts, allowLinkLocal: flag === 'true' };
}

// ---------------------------------------------------------------------------------------------
// Redaction

export const REDACTED = '[redacted]';

const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
]);
/** Names of headers, query parameters and fields whose values are credentials. */
export const SECRET_NAME = /token|secret|key|password|passwd|credential|signature/i;

/** A header whose value is a credential (by its name). */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase()) || SECRET_NAME.test(name);
}

/** A URL with its userinfo password and any secret-looking query parameter values redacted. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can take apart; strip anything that looks like userinfo.
    return url.replace(/\/\/[^/@\s]*@/, `//${REDACTED}@`);
  }
  const secretQuery = [...parsed.searchParams.keys()].some((name) => SECRET_NAME.test(name));
  if (!parsed.password && !secretQuery) return url;
  // Rebuilt by hand: assigning "[redacted]" through URL setters would percent-encode it.
  const userinfo = parsed.username
    ? `${parsed.username}${parsed.password ? `:${REDACTED}` : ''}@`
    : parsed.password
      ? `:${REDACTED}@`
      : '';
  const query = [...parsed.searchParams]
    .map(
      ([name, value]) =>
        `${encodeURIComponent(name)}=${SECRET_NAME.test(name) ? REDACTED : encodeURIComponent(value)}`,
    )
    .join('&');
  return `${parsed.protocol}//${userinfo}${parsed.host}${parsed.pathname}${query ? `?${query}` : ''}${parsed.hash}`;
}

/** `scheme://host[:port]`, then `/[redacted]` when the URL carried anything more. */
export function urlDestination(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  const bare = `${parsed.protocol}//${parsed.host}`;
  const more = parsed.username || parsed.password || parsed.pathname !== '/' || parsed.search || parsed.hash;
  return more ? `${bare}/${REDACTED}` : bare;
}
