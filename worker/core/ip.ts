import {
  convertIPv4MappedIPv6ToIPv4,
  convertIPv4ToBinary,
  convertIPv6ToBinary,
  distinctRemoteAddr,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";

/** A parsed address, so a range check is two bigint operations instead of string work. */
export interface Address {
  v4: boolean;
  bits: bigint;
}

/** A parsed CIDR range; built once per rules document. */
export interface Range extends Address {
  mask: bigint;
  /** Leading bits that must match: the prefix length, counted in the family's own width. */
  prefix: number;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4); undefined when it is not one. */
export function parseAddress(text: string): Address | undefined {
  try {
    const kind = distinctRemoteAddr(text);
    if (kind === "IPv4") return { v4: true, bits: convertIPv4ToBinary(text) };
    if (kind !== "IPv6") return undefined;
    const bits = convertIPv6ToBinary(text);
    return isIPv4MappedIPv6(bits) ? { v4: true, bits: convertIPv4MappedIPv6ToIPv4(bits) } : { v4: false, bits };
  } catch {
    return undefined;
  }
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; throws a readable error for anything else. */
export function parseRange(text: string): Range {
  const [addressText = "", prefixText, extra] = text.split("/");
  const address = parseAddress(addressText);
  const written = addressText.includes(":") ? 128 : 32;
  const prefix = prefixText === undefined ? written : Number(prefixText);
  if (!address || extra !== undefined) throw new TypeError(`not an IP address or CIDR range: ${text}`);
  if (!/^\d{1,3}$/.test(prefixText ?? "0") || prefix > written) throw new TypeError(`bad prefix length in ${text}`);
  // An IPv4-mapped IPv6 range (::ffff:192.0.2.0/120) is the IPv4 range 192.0.2.0/24.
  const bits = address.v4 && written === 128 ? prefix - 96 : prefix;
  if (bits < 0) throw new TypeError(`an IPv4-mapped range needs a prefix of at least 96: ${text}`);
  const width = address.v4 ? 32 : 128;
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v4: address.v4, bits: address.bits & mask, mask, prefix: bits };
}

/**
 * An address as text, "4" or "6" and then its bits as 0s and 1s: a range's key (rangeKey) is a
 * prefix of it exactly when the address is in the range, so ranges match like path prefixes.
 */
export function addressKey(address: Address): string {
  return (address.v4 ? "4" : "6") + address.bits.toString(2).padStart(address.v4 ? 32 : 128, "0");
}

/** A range as the prefix of addressKey that every address inside it shares. */
export function rangeKey(range: Range): string {
  return addressKey(range).slice(0, 1 + range.prefix);
}
