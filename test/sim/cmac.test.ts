import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AesCmac, aesCmac } from "../../src/sim/crypto/cmac.js";

// RFC 4493 section 4.
const K = Buffer.from("2b7e151628aed2a6abf7158809cf4f3c", "hex");
const M = Buffer.from(
  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
  "hex",
);

describe("AES-128-CMAC (RFC 4493)", () => {
  for (const [len, tag] of [
    [0, "bb1d6929e95937287fa37d129b756746"],
    [16, "070a16b46b4d4144f79bdd9dd04a287c"],
    [40, "dfa66747de9ae63030ca32611497c827"],
    [64, "51f0bebf7e3b9d92fc49741779363cfe"],
  ] as const) {
    it(`example with a ${len}-byte message`, () => {
      assert.equal(aesCmac(K, M.subarray(0, len)).toString("hex"), tag);
      assert.ok(new AesCmac(K).verify(M.subarray(0, len), Buffer.from(tag, "hex")));
    });
  }

  it("rejects a wrong tag, a wrong-length tag and a wrong-size key", () => {
    const c = new AesCmac(K);
    const tag = c.mac(M);
    tag[15] ^= 1;
    assert.equal(c.verify(M, tag), false);
    assert.equal(c.verify(M, tag.subarray(0, 15)), false);
    assert.throws(() => new AesCmac(Buffer.alloc(15)), RangeError);
  });
});
