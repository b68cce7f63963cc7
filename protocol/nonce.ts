/** Random nonces for nkey authentication, as nats-server makes them (11 random bytes, base64url). */
export function generateNonce(): string {
  const bytes = new Uint8Array(11);
  crypto.getRandomValues(bytes);
  let s = btoa(String.fromCharCode(...bytes));
  s = s.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return s;
}
