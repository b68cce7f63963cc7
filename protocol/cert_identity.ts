/**
 * `verify_and_map`: the names a client certificate may be mapped to a user by,
 * in nats-server's order: e-mail addresses, DNS names and URIs from the
 * subject alternative names, then the subject's distinguished name.
 *
 * @module
 */

export interface CertificateNames {
  /** Subject as `X509Certificate.subject` prints it: one `KEY=value` per line. */
  subject: string;
  /** Node's `subjectaltname` text: `DNS:a, email:b, URI:c`. */
  subjectAltName?: string;
}

/** Candidate user names, most specific first; the first that names a configured user wins. */
export function certificateIdentities(cert: CertificateNames): string[] {
  const names: string[] = [];
  const sans = (cert.subjectAltName ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const kind of ["email:", "DNS:", "URI:"]) {
    for (const san of sans) if (san.startsWith(kind)) names.push(san.slice(kind.length));
  }
  const rdns = cert.subject.split("\n").map((s) => s.trim()).filter(Boolean);
  if (rdns.length > 0) {
    // Both orders: nats-server users write the DN as Go prints it (most specific first).
    names.push(rdns.join(","), [...rdns].reverse().join(","));
    names.push(rdns.join(", "), [...rdns].reverse().join(", "));
  }
  return [...new Set(names)];
}
