/**
 * A throwaway PKI for TLS tests, made with the `openssl` command line into one temporary
 * directory per test process: generated once on first use, removed when the process unloads.
 *
 * What it holds:
 * - `ca`: the trusted test CA; `badCa`: a second, untrusted CA.
 * - `server`: `localhost`, `127.0.0.1` and `::1`, signed by `ca`.
 * - `expiredServer`: same names, valid only during 2020, signed by `ca`.
 * - `wrongHostServer`: `wrong-host.example` only, signed by `ca`.
 * - `client`: `CN=leaf-client,O=Canopy,OU=test` with SAN `DNS:leaf.example` and
 *   `email:leaf@example.com`, signed by `ca`.
 * - `badClient`: `CN=intruder`, signed by `badCa`.
 *
 * Keys are ECDSA P-256: fast to generate and accepted by rustls (Deno's `node:tls`) and Go.
 *
 * @example
 * ```ts
 * import { testCerts } from "./certs.ts";
 * const certs = await testCerts();
 * console.log(certs.server.certFile, certs.ca.certFile);
 * ```
 *
 * @module
 */

/** A certificate and its private key, as PEM files. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Every file of the test PKI. */
export interface TestCerts {
  /** The directory holding all files; gone once the process unloads. */
  readonly dir: string;
  readonly ca: CertFiles;
  readonly badCa: CertFiles;
  readonly server: CertFiles;
  readonly expiredServer: CertFiles;
  readonly wrongHostServer: CertFiles;
  readonly client: CertFiles;
  readonly badClient: CertFiles;
}

/** The client certificate's subject as `X509Certificate.subject` prints it. */
export const CLIENT_SUBJECT = "CN=leaf-client\nO=Canopy\nOU=test";

/** Raised when `openssl` is missing or one of its steps fails; carries its stderr. */
export class CertGenerationError extends Error {
  override name = "CertGenerationError";
}

const SERVER_NAMES = "DNS:localhost,IP:127.0.0.1,IP:::1";

let generated: Promise<TestCerts> | undefined;

/** The test PKI, generated on the first call and shared by every later call in this process. */
export function testCerts(): Promise<TestCerts> {
  generated ??= generate();
  return generated;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    throw new CertGenerationError("Cannot run openssl: is it installed?", { cause: error });
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new CertGenerationError(`Cannot generate test certificates: openssl ${args[0]} failed`, {
      cause: new Error(stderr),
    });
  }
}

/** A new P-256 key and a signing request for `subject`. */
async function keyAndRequest(dir: string, name: string, subject: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
}

async function selfSignedCa(dir: string, name: string, commonName: string): Promise<CertFiles> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "30",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return files(dir, name);
}

function leafExtensions(names: string, usage: "serverAuth" | "clientAuth"): string {
  return [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${usage}`,
    `subjectAltName=${names}`,
    "",
  ].join("\n");
}

/** Issues a leaf certificate valid from now for 30 days. */
async function issue(
  dir: string,
  name: string,
  options: { ca: string; subject: string; names: string; usage: "serverAuth" | "clientAuth" },
): Promise<CertFiles> {
  await keyAndRequest(dir, name, options.subject);
  await Deno.writeTextFile(`${dir}/${name}.ext`, leafExtensions(options.names, options.usage));
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${options.ca}.pem`,
    "-CAkey",
    `${options.ca}.key`,
    // Serials are random rather than from a shared serial file: leaves are issued in parallel.
    "-set_serial",
    randomSerial(),
    "-days",
    "30",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
  return files(dir, name);
}

/**
 * `openssl x509` cannot back-date a certificate (3.0 has no `-not_before`), and a negative
 * `-days` gives a notAfter before notBefore, which verifiers report as malformed rather than
 * expired. `openssl ca` takes explicit dates, so the expired certificate is issued through it.
 */
async function issueExpired(dir: string, name: string): Promise<CertFiles> {
  await keyAndRequest(dir, name, "/CN=localhost");
  await Deno.writeTextFile(`${dir}/${name}.ext`, leafExtensions(SERVER_NAMES, "serverAuth"));
  await Deno.mkdir(`${dir}/issued`);
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = test_ca",
      "[test_ca]",
      `database = ${dir}/index.txt`,
      `new_certs_dir = ${dir}/issued`,
      `serial = ${dir}/serial`,
      "default_md = sha256",
      "policy = any_name",
      "unique_subject = no",
      "[any_name]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "ca",
    "-batch",
    "-notext",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.pem",
    "-keyfile",
    "ca.key",
    "-in",
    `${name}.csr`,
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20201231000000Z",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
  return files(dir, name);
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] &= 0x7f; // keep it positive
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function files(dir: string, name: string): CertFiles {
  return { certFile: `${dir}/${name}.pem`, keyFile: `${dir}/${name}.key` };
}

async function generate(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "canopy_certs_" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone, or the process is exiting without file access; /tmp is cleaned anyway.
    }
  });
  const ca = await selfSignedCa(dir, "ca", "Canopy Test CA");
  const badCa = await selfSignedCa(dir, "bad_ca", "Canopy Bad CA");
  const [server, expiredServer, wrongHostServer, client, badClient] = await Promise.all([
    issue(dir, "server", {
      ca: "ca",
      subject: "/CN=localhost",
      names: SERVER_NAMES,
      usage: "serverAuth",
    }),
    issueExpired(dir, "expired_server"),
    issue(dir, "wrong_host_server", {
      ca: "ca",
      subject: "/CN=wrong-host.example",
      names: "DNS:wrong-host.example",
      usage: "serverAuth",
    }),
    issue(dir, "client", {
      ca: "ca",
      subject: "/CN=leaf-client/O=Canopy/OU=test",
      names: "DNS:leaf.example,email:leaf@example.com",
      usage: "clientAuth",
    }),
    issue(dir, "bad_client", {
      ca: "bad_ca",
      subject: "/CN=intruder",
      names: "DNS:intruder.example",
      usage: "clientAuth",
    }),
  ]);
  return { dir, ca, badCa, server, expiredServer, wrongHostServer, client, badClient };
}
