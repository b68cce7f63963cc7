/**
 * `deno task test`: every test tier in one command, ending with one line
 * `N passed, N failed`.
 *
 * 1. Unit, integration, benchmark-helper and leaf tests against Canopy.
 * 2. The leaf suite with Canopy as the hub and the real nats-server as the leaf.
 * 3. The leaf suite with nats-server as the hub and Canopy as the leaf.
 * 4. The integration and leaf suites with nats-server alone: proof that what the
 *    tests expect of Canopy is what nats-server does.
 *
 * Passes 2–4 need `nats-server` on the PATH; without it their tests skip loudly,
 * except under `CI=1`, where a missing binary fails them.
 *
 * @module
 */

interface Pass {
  name: string;
  paths: string[];
  env: Record<string, string>;
}

const PASSES: Pass[] = [
  { name: "Canopy: unit, integration and leaf tests", paths: ["tests/"], env: {} },
  {
    name: "interop: Canopy hub, nats-server leaf",
    paths: ["tests/interop/"],
    env: { LEAF_TEST_HUB: "canopy", LEAF_TEST_LEAF: "nats-server" },
  },
  {
    name: "interop: nats-server hub, Canopy leaf",
    paths: ["tests/interop/"],
    env: { LEAF_TEST_HUB: "nats-server", LEAF_TEST_LEAF: "canopy" },
  },
  {
    name: "reference: the client suite against nats-server",
    paths: ["tests/integration/"],
    env: { CANOPY_TEST_TARGET: "nats-server" },
  },
  {
    name: "reference: the leaf suite against nats-server",
    paths: ["tests/interop/"],
    env: { LEAF_TEST_HUB: "nats-server", LEAF_TEST_LEAF: "nats-server" },
  },
];

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Reads deno's junit report: `tests` counts steps and ignored tests too. */
function countJunit(xml: string): Counts {
  const head = xml.match(/<testsuites [^>]*>/)?.[0] ?? "";
  const attr = (name: string) => Number(head.match(new RegExp(` ${name}="(\\d+)"`))?.[1] ?? 0);
  const skipped = (xml.match(/<skipped/g) ?? []).length;
  const failed = attr("failures") + attr("errors");
  return { passed: attr("tests") - failed - skipped, failed, skipped };
}

async function runPass(pass: Pass, extraArgs: string[]): Promise<Counts> {
  console.log(`\n=== ${pass.name}`);
  const junit = await Deno.makeTempFile({ prefix: "canopy_junit_", suffix: ".xml" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "-A",
        "--permit-no-files",
        "--parallel",
        `--junit-path=${junit}`,
        ...extraArgs,
        ...pass.paths,
      ],
      env: pass.env,
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    const counts = countJunit(await Deno.readTextFile(junit).catch(() => ""));
    // A run that failed without reporting a failing test (a type error, a crash) still fails.
    if (!status.success && counts.failed === 0) counts.failed = 1;
    console.log(
      `=== ${pass.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
    return counts;
  } finally {
    await Deno.remove(junit).catch(() => {});
  }
}

if (import.meta.main) {
  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const pass of PASSES) {
    const counts = await runPass(pass, Deno.args);
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
  console.log(`\n${total.skipped} skipped (not counted as passed)`);
  console.log(`${total.passed} passed, ${total.failed} failed`);
  Deno.exit(total.failed === 0 ? 0 : 1);
}
