// The policy engine on MAA's documented policies and on malformed ones.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { compilePolicy, DEFAULT_SGX_POLICY, PolicyParseError, type Claim } from "../../src/attestation/policy/index.js";
import { customPolicy, SAMPLE_CUSTOM_POLICY } from "./policy-samples.js";

const MRSIGNER = "ab".repeat(32);
const svc = (type: string, value: string | number | boolean): Claim => ({ type, value, issuer: "AttestationService" });
const sgxClaims = (o: { debug?: boolean; productId?: number; svn?: number; mrSigner?: string } = {}): Claim[] => [
  svc("x-ms-sgx-is-debuggable", o.debug ?? false),
  svc("x-ms-sgx-product-id", o.productId ?? 7),
  svc("x-ms-sgx-svn", o.svn ?? 3),
  svc("x-ms-sgx-mrsigner", o.mrSigner ?? MRSIGNER),
  svc("x-ms-sgx-mrenclave", "cd".repeat(32)),
  svc("x-ms-attestation-type", "sgx"),
];

function parseError(text: string): PolicyParseError {
  try {
    compilePolicy(text);
  } catch (e) {
    assert.ok(e instanceof PolicyParseError, `expected a PolicyParseError, got ${String(e)}`);
    return e;
  }
  assert.fail("the policy was accepted");
}

describe("MAA's documented default SGX policy", () => {
  const p = compilePolicy(DEFAULT_SGX_POLICY);
  test("parses: version 1.1 with its three sections", () => {
    assert.equal(p.policy.version, "1.1");
    assert.equal(p.policy.sections.configurationrules?.length, 1);
    assert.equal(p.policy.sections.authorizationrules?.length, 1);
    assert.equal(p.policy.sections.issuancerules?.length, 6);
  });
  test("permits everything, sets the tcbidentifier property, issues the legacy claims", () => {
    const out = p.evaluate(sgxClaims({ debug: true }));
    assert.equal(out.permitted, true);
    assert.equal(out.properties.get("x-ms-sgx-tcbidentifier"), "azuredefault");
    assert.deepEqual(
      out.issued.map((c) => [c.type, c.value]),
      [["is-debuggable", true], ["sgx-mrsigner", MRSIGNER], ["sgx-mrenclave", "cd".repeat(32)], ["product-id", 7], ["svn", 3], ["tee", "sgx"]],
    );
    assert.ok(out.issued.every((c) => c.issuer === "AttestationPolicy"));
  });
  test("its x-ms-policy-hash is the documented formula", () => {
    const b64 = Buffer.from(DEFAULT_SGX_POLICY).toString("base64url");
    assert.equal(p.hash, createHash("sha256").update(b64).digest("base64url"));
    assert.equal(p.hash.length, 43);
  });
});

describe("MAA's documented sample custom policy", () => {
  test("verbatim, its placeholders are refused with their line and column", () => {
    const e = parseError(SAMPLE_CUSTOM_POLICY);
    assert.equal(e.line, 5);
    assert.equal(e.column, 52);
    assert.match(e.message, /policy line 5, column 52: unexpected character "-"/);
  });
  const p = compilePolicy(customPolicy(7, MRSIGNER));
  test("permits a production enclave of that product and signer, issuing its custom claim", () => {
    const out = p.evaluate(sgxClaims());
    assert.equal(out.permitted, true);
    assert.deepEqual(out.issued.map((c) => [c.type, c.value]), [["custom-mrsigner", MRSIGNER]]);
  });
  test("denies a debug enclave, another product, another signer", () => {
    for (const claims of [sgxClaims({ debug: true }), sgxClaims({ productId: 8 }), sgxClaims({ mrSigner: "00".repeat(32) })]) {
      const out = p.evaluate(claims);
      assert.equal(out.permitted, false);
      assert.equal(out.reason, "no authorization rule reached permit()");
      assert.deepEqual(out.issued, []);
    }
  });
  test("svn >= 0 compares integers: a missing svn claim fails the rule", () => {
    assert.equal(p.evaluate(sgxClaims().filter((c) => c.type !== "x-ms-sgx-svn")).permitted, false);
  });
});

describe("operators, deny, bound claims", () => {
  const run = (rules: string, claims: Claim[]) => compilePolicy(`version=1.0; authorizationrules { ${rules} }; issuancerules { c:[type=="a"] => issue(claim=c); };`).evaluate(claims);
  test("each comparison on integers", () => {
    const cases: [string, boolean][] = [["== 5", true], ["!= 5", false], ["< 6", true], ["<= 5", true], ["> 5", false], [">= 6", false], ["> -1", true]];
    for (const [cmp, want] of cases) assert.equal(run(`[type=="a", value ${cmp}] => permit();`, [svc("a", 5)]).permitted, want, cmp);
  });
  test("a type mismatch never matches (== or !=)", () => {
    assert.equal(run(`[type=="a", value == "5"] => permit();`, [svc("a", 5)]).permitted, false);
    assert.equal(run(`[type=="a", value != "5"] => permit();`, [svc("a", 5)]).permitted, false);
  });
  test("deny() wins over permit(), whatever the order", () => {
    const out = run(`=> permit(); [type=="a"] => deny();`, [svc("a", 1)]);
    assert.equal(out.permitted, false);
    assert.match(out.reason ?? "", /deny\(\) at policy line 1/);
  });
  test("issuer and valueType tests", () => {
    assert.equal(run(`[type=="a", issuer=="AttestationService", valueType=="Integer"] => permit();`, [svc("a", 1)]).permitted, true);
    assert.equal(run(`[type=="a", issuer=="CustomClaim"] => permit();`, [svc("a", 1)]).permitted, false);
  });
  test("a bound claim issues once per matching claim; issue(claim=c) copies it", () => {
    const out = run(`=> permit();`, [svc("a", 1), svc("a", 2), svc("b", 3)]);
    assert.deepEqual(out.issued.map((c) => [c.type, c.value]), [["a", 1], ["a", 2]]);
  });
  test("two bound conditions: issue(type=, value=c2.value)", () => {
    const p = compilePolicy(`version=1.0; authorizationrules { => permit(); }; issuancerules { c1:[type=="a"] && c2:[type=="b"] => issue(type="ab", value=c2.value); };`);
    assert.deepEqual(p.evaluate([svc("a", 1), svc("b", "x")]).issued.map((c) => [c.type, c.value]), [["ab", "x"]]);
    assert.deepEqual(p.evaluate([svc("b", "x")]).issued, []);
  });
  test("add() in authorization rules feeds issuance but is not issued itself", () => {
    const p = compilePolicy(`version=1.0; authorizationrules { => add(type="k", value=1); => permit(); }; issuancerules { c:[type=="k"] => issue(type="k2", value=c.value); };`);
    assert.deepEqual(p.evaluate([]).issued.map((c) => [c.type, c.value]), [["k2", 1]]);
  });
});

describe("malformed policies are refused with line and column", () => {
  const cases: [string, string, number, number, RegExp][] = [
    ["no version", "authorizationrules { => permit(); };", 1, 1, /must start with "version="/],
    ["bad version", "version=2.0; authorizationrules { => permit(); };", 1, 9, /unsupported policy version/],
    ["unknown section", "version=1.0;\nauthorisationrules { => permit(); };", 2, 1, /unknown section "authorisationrules"/],
    ["config rules in 1.0", "version=1.0;\nconfigurationrules { };", 2, 1, /needs policy version 1.1/],
    ["unclosed section", "version=1.0;\nauthorizationrules {\n => permit();\n", 4, 1, /not closed/],
    ["missing semicolon", "version=1.0;\nauthorizationrules {\n => permit()\n};", 4, 1, /expected ";" after a rule/],
    ["unknown action", "version=1.0; authorizationrules {\n  => allow(); };", 2, 6, /unknown action "allow"/],
    ["permit in issuance", "version=1.0; issuancerules {\n  => permit(); };", 2, 6, /not allowed in issuancerules/],
    ["unbound id", 'version=1.0; issuancerules {\n  [type=="a"] => issue(type="b", value=c.value); };', 2, 40, /"c" is not bound/],
    ["ordered op on string", 'version=1.0; authorizationrules {\n [type=="a", value < "x"] => permit(); };', 2, 20, /compares integers only/],
    ["unterminated string", 'version=1.0; authorizationrules {\n [type=="a] => permit(); };', 2, 9, /unterminated string/],
    ["bad property", 'version=1.0; authorizationrules {\n [kind=="a"] => permit(); };', 2, 3, /unknown claim property "kind"/],
    ["duplicate section", "version=1.0; authorizationrules { };\nauthorizationrules { };", 2, 1, /appears twice/],
    ["decimal value", 'version=1.0; authorizationrules {\n [type=="a", value==1.5] => permit(); };', 2, 21, /not an integer/],
    ["issue without value", 'version=1.0; issuancerules {\n => issue(type="a"); };', 2, 5, /takes \(type=..., value=...\)/],
  ];
  for (const [name, text, line, column, re] of cases) {
    test(name, () => {
      const e = parseError(text);
      assert.match(e.message, re);
      assert.deepEqual([e.line, e.column], [line, column], e.message);
    });
  }
  test("a huge policy is refused before it is tokenized", () => {
    assert.match(parseError("version=1.0;" + " ".repeat(300 * 1024)).message, /limit is/);
  });
});
