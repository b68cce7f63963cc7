import assert from "node:assert/strict";
import {
  type AcceptUpgradeOptions,
  buildErrorResponse,
  buildUpgradeRequest,
  buildUpgradeResponse,
  HandshakeReason,
  type HttpHead,
  HttpHeadReader,
  leafnodeUpgradePath,
  newWebSocketKey,
  parseUpgradeRequest,
  parseUpgradeResponse,
  upgradeKind,
  validateUpgradeRequest,
  validateUpgradeResponse,
  websocketAcceptKey,
  WebSocketHandshakeError,
} from "../../protocol/ws_handshake.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** RFC 6455 §1.3's example key and its accept value. */
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const GOOD_FIELDS: Record<string, string> = {
  Host: "127.0.0.1:8080",
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": KEY,
  "Sec-WebSocket-Version": "13",
};

/** A request head text; `null` removes a field, other values replace or add it. */
function requestText(
  fields: Record<string, string | null> = {},
  startLine = "GET / HTTP/1.1",
): string {
  const merged: Record<string, string | null> = { ...GOOD_FIELDS, ...fields };
  let text = `${startLine}\r\n`;
  for (const [name, value] of Object.entries(merged)) {
    if (value !== null) text += `${name}: ${value}\r\n`;
  }
  return text + "\r\n";
}

function readHead(text: string | Uint8Array, maxBytes?: number): HttpHead {
  const reader = new HttpHeadReader(maxBytes);
  const head = reader.feed(typeof text === "string" ? te.encode(text) : text);
  assert.ok(head, "the head is complete");
  return head;
}

function validate(
  fields: Record<string, string | null> = {},
  options: AcceptUpgradeOptions = {},
  startLine?: string,
) {
  return validateUpgradeRequest(
    parseUpgradeRequest(readHead(requestText(fields, startLine))),
    options,
  );
}

function rejection(
  fields: Record<string, string | null>,
  options: AcceptUpgradeOptions = {},
  startLine?: string,
): WebSocketHandshakeError {
  try {
    validate(fields, options, startLine);
  } catch (error) {
    assert.ok(error instanceof WebSocketHandshakeError, `unexpected ${error}`);
    return error;
  }
  assert.fail("expected the upgrade to be refused");
}

function responseHead(
  fields: Record<string, string>,
  status = "101 Switching Protocols",
): HttpHead {
  let text = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of Object.entries(fields)) text += `${name}: ${value}\r\n`;
  return readHead(text + "\r\n");
}

const GOOD_RESPONSE = {
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Accept": ACCEPT,
};

Deno.test("ws handshake - the head reader finds the end at every split and keeps what follows", () => {
  const frame = [0x82, 0x06, ...te.encode("PING\r\n")];
  const wire = Uint8Array.from([...te.encode(requestText()), ...frame]);
  const headLength = requestText().length;
  for (let cut = 0; cut <= wire.length; cut++) {
    const reader = new HttpHeadReader();
    const first = reader.feed(wire.slice(0, cut));
    const head = first ?? reader.feed(wire.slice(cut));
    assert.ok(head, `cut ${cut}`);
    if (first) assert.ok(cut >= headLength, "complete only once the blank line arrived");
    assert.equal(head.startLine, "GET / HTTP/1.1");
    assert.equal(head.headers.get("sec-websocket-key"), KEY);
    // Bytes fed after the head completed are the caller's stream, not the reader's.
    const rest = first ? [...head.rest, ...wire.slice(cut)] : Array.from(head.rest);
    assert.deepEqual(rest, frame, `cut ${cut}`);
  }
});

Deno.test("ws handshake - bare LF line ends are read too", () => {
  const head = readHead("GET /x HTTP/1.1\nHost: h\nUpgrade: websocket\n\n");
  assert.equal(head.startLine, "GET /x HTTP/1.1");
  assert.equal(head.headers.get("HOST"), "h");
  assert.equal(head.rest.length, 0);
});

Deno.test("ws handshake - field names are case-insensitive, values trimmed, repeats kept", () => {
  const head = readHead("GET / HTTP/1.1\r\nX-Thing:  a \t\r\nx-thing: b\r\n\r\n");
  assert.equal(head.headers.get("X-THING"), "a");
  assert.deepEqual(head.headers.getAll("x-Thing"), ["a", "b"]);
  assert.equal(head.headers.has("missing"), false);
});

Deno.test("ws handshake - a head longer than the limit is refused with 431", () => {
  const reader = new HttpHeadReader(100);
  assert.equal(reader.feed(te.encode("GET / HTTP/1.1\r\nX: " + "a".repeat(60))), undefined);
  assert.throws(
    () => reader.feed(te.encode("a".repeat(60))),
    (error) => error instanceof WebSocketHandshakeError && error.status === 431,
  );
  // A short head followed by a lot of stream data in the same read is fine.
  const short = te.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n" + "x".repeat(1000));
  assert.equal(readHead(short, 100).rest.length, 1000);
});

Deno.test("ws handshake - malformed request lines and field lines are 400", () => {
  for (const bad of ["HELLO", "GET /", "GET / HTTP/2.0", "GET  / HTTP/1.1", "GET * HTTP/1.1"]) {
    assert.throws(
      () => parseUpgradeRequest(readHead(`${bad}\r\nHost: h\r\n\r\n`)),
      (error) => error instanceof WebSocketHandshakeError && error.status === 400,
      bad,
    );
  }
  for (const line of ["NoColon", "Bad Name: x", ": empty", " folded: x"]) {
    assert.throws(
      () => readHead(`GET / HTTP/1.1\r\nHost: h\r\n${line}\r\n\r\n`),
      (error) => error instanceof WebSocketHandshakeError && error.status === 400,
      line,
    );
  }
});

Deno.test("ws handshake - the request path drops the query; absolute targets work", () => {
  let request = parseUpgradeRequest(readHead(requestText({}, "GET /hub/leafnode?x=1 HTTP/1.1")));
  assert.equal(request.path, "/hub/leafnode");
  assert.equal(request.target, "/hub/leafnode?x=1");
  request = parseUpgradeRequest(
    readHead(requestText({ Host: null }, "GET http://hub:80/leafnode HTTP/1.1")),
  );
  assert.equal(request.path, "/leafnode");
  assert.equal(request.host, "hub:80");
});

Deno.test("ws handshake - a good request is accepted as a client connection", () => {
  const accepted = validate();
  assert.deepEqual(accepted, {
    key: KEY,
    path: "/",
    kind: "client",
    compression: false,
    noMasking: false,
  });
});

Deno.test("ws handshake - token lists and case are read like nats-server", () => {
  const accepted = validate({
    Upgrade: "WebSocket",
    Connection: "keep-alive, Upgrade",
    "Sec-WebSocket-Version": "8, 13",
  });
  assert.equal(accepted.key, KEY);
});

Deno.test("ws handshake - each failed check has nats-server's status and reason, in order", () => {
  const cases: [Record<string, string | null>, string | undefined, number, string][] = [
    [{}, "POST / HTTP/1.1", 405, "request method must be GET"],
    [{ Host: null }, undefined, 400, "'Host' missing in request"],
    [{ Host: "" }, undefined, 400, "'Host' missing in request"],
    [{ Upgrade: null }, undefined, 400, "invalid value for header 'Upgrade'"],
    [{ Upgrade: "h2c" }, undefined, 400, "invalid value for header 'Upgrade'"],
    [{ Connection: null }, undefined, 400, "invalid value for header 'Connection'"],
    [{ Connection: "keep-alive" }, undefined, 400, "invalid value for header 'Connection'"],
    [{ "Sec-WebSocket-Key": null }, undefined, 400, "key missing"],
    [{ "Sec-WebSocket-Key": "abc" }, undefined, 400, "invalid websocket key"],
    [{ "Sec-WebSocket-Version": null }, undefined, 400, "invalid version"],
    [{ "Sec-WebSocket-Version": "12" }, undefined, 400, "invalid version"],
    // Order: the method is checked before anything else.
    [{ Upgrade: null, Host: null }, "PUT / HTTP/1.1", 405, "request method must be GET"],
    [
      { Upgrade: null, "Sec-WebSocket-Version": null },
      undefined,
      400,
      "invalid value for header 'Upgrade'",
    ],
  ];
  for (const [fields, startLine, status, reason] of cases) {
    const error = rejection(fields, {}, startLine);
    assert.deepEqual([error.status, error.message], [status, reason], JSON.stringify(fields));
  }
});

Deno.test("ws handshake - compression is on only when enabled and offered", () => {
  const offer = { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" };
  assert.equal(validate(offer, { compression: true }).compression, true);
  assert.equal(validate(offer, { compression: false }).compression, false);
  assert.equal(validate({}, { compression: true }).compression, false);
  assert.equal(
    validate({ "Sec-WebSocket-Extensions": "x-webkit-deflate-frame, permessage-deflate" }, {
      compression: true,
    }).compression,
    true,
  );
});

Deno.test("ws handshake - Nats-No-Masking counts only as exactly 'true'", () => {
  assert.equal(validate({ "Nats-No-Masking": "true" }).noMasking, true);
  assert.equal(validate({ "Nats-No-Masking": "TRUE" }).noMasking, false);
  assert.equal(validate({ "Nats-No-Masking": "1" }).noMasking, false);
});

Deno.test("ws handshake - the 101 response is nats-server's, byte for byte", () => {
  assert.equal(
    td.decode(buildUpgradeResponse({ key: KEY, compression: false, noMasking: false })),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
  );
  assert.equal(
    td.decode(buildUpgradeResponse({ key: KEY, compression: true, noMasking: true })),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n" +
      "Nats-No-Masking: true\r\n\r\n",
  );
});

Deno.test("ws handshake - the error response has the status text as its body", () => {
  const date = new Date(Date.UTC(2026, 11, 4, 17, 12, 0));
  assert.equal(
    td.decode(buildErrorResponse(400, { date })),
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Sec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\n" +
      "Date: Fri, 04 Dec 2026 17:12:00 GMT\r\nContent-Length: 12\r\nConnection: close\r\n" +
      "\r\nBad Request\n",
  );
  const forbidden = td.decode(buildErrorResponse(403, { date }));
  assert.ok(forbidden.startsWith("HTTP/1.1 403 Forbidden\r\n"));
  assert.ok(forbidden.endsWith("Content-Length: 10\r\nConnection: close\r\n\r\nForbidden\n"));
  assert.ok(td.decode(buildErrorResponse(405)).startsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
});

Deno.test("ws handshake - no origin policy means any origin passes", () => {
  assert.equal(validate({ Origin: "http://evil.example.com" }).key, KEY);
});

Deno.test("ws handshake - allowed_origins compares scheme, host and port", () => {
  const options = {
    allowedOrigins: ["http://good.example.com", "https://sec.example.com:8443", "::bad::"],
  };
  assert.equal(validate({ Origin: "http://good.example.com" }, options).key, KEY);
  assert.equal(validate({ Origin: "http://GOOD.example.com:80" }, options).key, KEY);
  assert.equal(validate({ Origin: "https://sec.example.com:8443" }, options).key, KEY);
  assert.equal(validate({}, options).key, KEY, "no Origin header passes");
  for (
    const origin of [
      "http://evil.example.com",
      "https://sec.example.com",
      "https://good.example.com",
      "http://good.example.com:8080",
    ]
  ) {
    const error = rejection({ Origin: origin }, options);
    assert.deepEqual([error.status, error.message], [
      403,
      "origin not allowed: not in the allowed list",
    ], origin);
  }
  const junk = rejection({ Origin: "junk" }, options);
  assert.equal(junk.message, `origin not allowed: parse "junk": invalid URI for request`);
  const fallback = rejection({ "Sec-WebSocket-Origin": "http://evil.example.com" }, options);
  assert.equal(
    fallback.message,
    "origin not allowed: not in the allowed list",
    "Sec-WebSocket-Origin is read too",
  );
});

Deno.test("ws handshake - same_origin compares the Origin with Host", () => {
  const options = { sameOrigin: true };
  assert.equal(
    validate({ Host: "127.0.0.1:8080", Origin: "http://127.0.0.1:8080" }, options).key,
    KEY,
  );
  assert.equal(
    validate({ Host: "127.0.0.1", Origin: "http://127.0.0.1:80" }, options).key,
    KEY,
    "default port",
  );
  assert.equal(
    validate({ Host: "Example.com", Origin: "https://example.com" }, { ...options, tls: true }).key,
    KEY,
  );
  for (
    const origin of ["http://localhost:8080", "https://127.0.0.1:8080", "http://127.0.0.1:8081"]
  ) {
    const error = rejection({ Host: "127.0.0.1:8080", Origin: origin }, options);
    assert.deepEqual(
      [error.status, error.message],
      [403, "origin not allowed: not same origin"],
      origin,
    );
  }
  const both = { sameOrigin: true, allowedOrigins: ["http://other:1"] };
  const error = rejection({ Host: "h:1", Origin: "http://h:1" }, both);
  assert.equal(error.message, "origin not allowed: not in the allowed list", "both checks apply");
});

Deno.test("ws handshake - upgrade paths route leafnodes for both nats-server generations", () => {
  assert.equal(upgradeKind("/leafnode"), "leafnode");
  assert.equal(upgradeKind("/some/path/leafnode"), "leafnode", "2.10+ remotes append the segment");
  assert.equal(upgradeKind("/leafnodesome/path"), "leafnode", "2.9.10 remotes prepend it");
  assert.equal(upgradeKind("/mqtt"), "mqtt");
  assert.equal(upgradeKind("/"), "client");
  assert.equal(upgradeKind("/nats"), "client");
  assert.equal(leafnodeUpgradePath(""), "/leafnode");
  assert.equal(leafnodeUpgradePath("/"), "/leafnode");
  assert.equal(leafnodeUpgradePath("/some/path"), "/some/path/leafnode");
  assert.equal(leafnodeUpgradePath("/some/path/"), "/some/path/leafnode");
});

Deno.test("ws handshake - accept keys follow RFC 6455 and new keys are 16 random bytes", () => {
  assert.equal(websocketAcceptKey(KEY), ACCEPT);
  const a = newWebSocketKey();
  const b = newWebSocketKey();
  assert.match(a, /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(atob(a).length, 16);
  assert.notEqual(a, b);
});

Deno.test("ws handshake - the client request has the fields a nats-server remote sends", () => {
  const text = td.decode(buildUpgradeRequest({
    host: "127.0.0.1:16244",
    path: "/leafnode",
    key: KEY,
    compression: true,
    noMasking: true,
    headers: { "User-Agent": "canopy" },
  }));
  assert.equal(
    text,
    "GET /leafnode HTTP/1.1\r\nHost: 127.0.0.1:16244\r\nUser-Agent: canopy\r\nConnection: Upgrade\r\n" +
      `Nats-No-Masking: true\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
      "Sec-Websocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n" +
      "Upgrade: websocket\r\n\r\n",
  );
  const plain = td.decode(buildUpgradeRequest({ host: "h", key: KEY }));
  assert.ok(plain.startsWith("GET / HTTP/1.1\r\nHost: h\r\n"));
  assert.ok(!plain.includes("Nats-No-Masking") && !plain.includes("Extensions"));
  // Our own accept side takes it.
  const accepted = validateUpgradeRequest(parseUpgradeRequest(readHead(text)), {
    compression: true,
  });
  assert.deepEqual(
    [accepted.kind, accepted.compression, accepted.noMasking],
    ["leafnode", true, true],
  );
});

Deno.test("ws handshake - a good 101 is accepted; masking stays on unless echoed", () => {
  const response = parseUpgradeResponse(responseHead(GOOD_RESPONSE));
  assert.deepEqual(validateUpgradeResponse(response, { key: KEY }), {
    compression: false,
    masking: true,
  });
  assert.deepEqual(
    validateUpgradeResponse(response, { key: KEY, noMasking: true }),
    { compression: false, masking: true },
    "asked, but the server did not echo Nats-No-Masking",
  );
  const echoed = parseUpgradeResponse(
    responseHead({ ...GOOD_RESPONSE, "Nats-No-Masking": "true" }),
  );
  assert.deepEqual(validateUpgradeResponse(echoed, { key: KEY, noMasking: true }), {
    compression: false,
    masking: false,
  });
  assert.deepEqual(validateUpgradeResponse(echoed, { key: KEY }), {
    compression: false,
    masking: true,
  }, "not asked");
});

Deno.test("ws handshake - a bad response is 'invalid websocket connection'", () => {
  const cases: [Record<string, string>, string?][] = [
    [GOOD_RESPONSE, "200 OK"],
    [GOOD_RESPONSE, "400 Bad Request"],
    [{ ...GOOD_RESPONSE, Upgrade: "h2c" }],
    [{ ...GOOD_RESPONSE, Connection: "keep-alive, Upgrade" }],
    [{ ...GOOD_RESPONSE, "Sec-WebSocket-Accept": "nope" }],
    [{ Upgrade: "websocket", Connection: "Upgrade" }],
  ];
  for (const [fields, status] of cases) {
    const response = parseUpgradeResponse(responseHead(fields, status));
    assert.throws(
      () => validateUpgradeResponse(response, { key: KEY }),
      (error) =>
        error instanceof WebSocketHandshakeError &&
        error.message === HandshakeReason.invalidConnection &&
        error.status === response.status,
      JSON.stringify([fields, status]),
    );
  }
  assert.throws(
    () => parseUpgradeResponse(readHead("SSH-2.0-OpenSSH\r\n\r\n")),
    (error) => error instanceof WebSocketHandshakeError && error.status === 0,
  );
});

Deno.test("ws handshake - compression is negotiated, declined, or a negotiation error", () => {
  const full = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
  const on = parseUpgradeResponse(
    responseHead({ ...GOOD_RESPONSE, "Sec-WebSocket-Extensions": full }),
  );
  assert.equal(validateUpgradeResponse(on, { key: KEY, compression: true }).compression, true);
  assert.equal(
    validateUpgradeResponse(on, { key: KEY, compression: false }).compression,
    false,
    "not asked: stays off",
  );
  const declined = parseUpgradeResponse(responseHead(GOOD_RESPONSE));
  assert.equal(
    validateUpgradeResponse(declined, { key: KEY, compression: true }).compression,
    false,
  );
  const partial = parseUpgradeResponse(
    responseHead({
      ...GOOD_RESPONSE,
      "Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover",
    }),
  );
  assert.throws(
    () => validateUpgradeResponse(partial, { key: KEY, compression: true }),
    (error) =>
      error instanceof WebSocketHandshakeError && error.message === "compression negotiation error",
  );
});
