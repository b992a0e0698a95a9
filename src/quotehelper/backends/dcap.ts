// Worker-side factory for Intel's DCAP quote library (real SGX hardware), for the worker pool.
import { DcapQuotingBackend, type DcapBackendOptions } from "../../quoting/dcap/backend.js";

export function createBackend(options: DcapBackendOptions): DcapQuotingBackend {
  return new DcapQuotingBackend(options);
}
