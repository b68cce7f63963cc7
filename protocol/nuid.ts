/** Random identifiers in the NUID alphabet (22 base62 characters), as nats-server uses for `$LDS.` subjects. */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function nuid(length = 22): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = "";
  // 62 does not divide 256; the bias (under 2%) does not matter for an identifier.
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}
