import { test } from "node:test";
import assert from "node:assert/strict";
import { extendedResourceNameProblem, isExtendedResourceName } from "../../src/kubelet/resource-name.js";

test("extended resource names the kubelet accepts", () => {
  for (const name of ["sgx.intel.com/epc", "kubernetes.azure.com/sgx_epc_mem_in_MiB", "example.com/a.b-c_d", "x/y", "a.b/" + "n".repeat(63)]) {
    assert.equal(isExtendedResourceName(name), true, name);
  }
});

test("names the kubelet refuses, each with a reason", () => {
  const cases: Array<[string, RegExp]> = [
    ["epc", /not domain-qualified/],
    ["cpu", /not domain-qualified/],
    ["kubernetes.io/epc", /kubernetes\.io\/ namespace/],
    ["node.kubernetes.io/epc", /kubernetes\.io\/ namespace/],
    ["requests.example.com/epc", /quota prefix/],
    ["example.com/a/b", /more than one/],
    ["Example.com/epc", /invalid domain/],
    ["-example.com/epc", /invalid domain/],
    [`${"a".repeat(250)}.com/epc`, /invalid domain/],
    ["example.com/", /invalid name part/],
    ["example.com/_x", /invalid name part/],
    ["example.com/" + "n".repeat(64), /invalid name part/],
  ];
  for (const [name, why] of cases) {
    assert.equal(isExtendedResourceName(name), false, name);
    assert.match(extendedResourceNameProblem(name) ?? "", why, name);
  }
});
