// @peculiar/x509, ready to use. Its ASN.1 decorators need reflect-metadata loaded before the library,
// and it signs through WebCrypto, which must be Node's. Import `x509` from here, never from the package,
// so no entry point can forget either step.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
