// The build_info parser `addon status` reads quote helpers with: Prometheus text as written, tolerant of absence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBuildInfo } from "../../src/addon/cluster/build-info.js";

test("reads the gauge's labels, in any order, with escapes", () => {
  const text = [
    "# HELP confcom_quotehelper_build_info The helper's version and quoting backend",
    "# TYPE confcom_quotehelper_build_info gauge",
    'confcom_quotehelper_build_info_extra{version="wrong"} 1',
    'confcom_quotehelper_build_info{qe_identity="a\\\\b \\"q\\"\\nx",backend="dcap",version="1.2.3",backend_version="1.21"} 1',
  ].join("\n");
  assert.deepEqual(parseBuildInfo(text), { version: "1.2.3", backend: "dcap", backendVersion: "1.21", qeIdentity: 'a\\b "q"?x' });
});

test("absent, malformed or unterminated: null, never a throw", () => {
  for (const text of ["", "other 1\n", 'confcom_quotehelper_build_info{version="1', "confcom_quotehelper_build_info{version=1} 1", "confcom_quotehelper_build_info{=\"x\"} 1", `confcom_quotehelper_build_info{${Array.from({ length: 40 }, (_, i) => `l${i}="v"`).join(",")}} 1`]) {
    assert.equal(parseBuildInfo(text), null, JSON.stringify(text.slice(0, 60)));
  }
  assert.deepEqual(parseBuildInfo("confcom_quotehelper_build_info 1"), { version: undefined, backend: undefined, backendVersion: undefined, qeIdentity: undefined });
});

test("a huge label value is cut short", () => {
  const info = parseBuildInfo(`confcom_quotehelper_build_info{version="${"9".repeat(100_000)}"} 1`);
  assert.equal(info?.version?.length, 256);
});
