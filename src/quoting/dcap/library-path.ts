/** The soname, resolved through the dynamic loader's search path like Intel's own consumers do. */
export const DEFAULT_DCAP_QL_LIBRARY = "libsgx_dcap_ql.so.1";
