/*
 * A stand-in for Intel's libsgx_dcap_ql.so.1 with the same exported sgx_qe_* symbols and signatures,
 * whose behaviour the tests can predict and steer through the fake_dcap_* controls below.
 *
 * Quote layout written by sgx_qe_get_quote (quote_size bytes, all of them written):
 *   @0   u32 LE  number of successful get_quote calls so far, this one included
 *   @8   432 B   the app report, verbatim
 *   @884 32 B    ECDSA_ID pattern (FAKE_ECDSA_ID_BYTE(i)), where a v3 quote keeps the QE report_data
 *   rest         FAKE_FILL_BYTE
 * Magic inputs: report byte 0 == 0xEE -> SGX_QL_INVALID_REPORT; NULL pointers or a quote_size below
 * the current quote size -> SGX_QL_ERROR_INVALID_PARAMETER.
 *
 * Where it matters, as Intel's (DCAP sgx_dcap_ql_wrapper.cpp, qe_logic.cpp, linux-sgx urts):
 * - SGX_AESM_ADDR is read once, when the library is loaded; if set, the policy and path calls answer
 *   SGX_QL_UNSUPPORTED_MODE and the quoting calls fail (no libsgx_quote_ex here).
 * - sgx_qe_get_target_info zeroes the target info on entry; load policies other than 0 and 1 get
 *   SGX_QL_UNSUPPORTED_LOADING_POLICY; sgx_ql_set_path wants an existing regular file.
 * - Enclaves need the device nodes, looked up under $FAKE_DCAP_DEV_ROOT (read at load; default "/"):
 *   without a read-write /dev/sgx_enclave the PCE cannot be created (target info: INTERFACE_UNAVAILABLE)
 *   and neither can the QE3 (quote size and quote: ENCLAVE_LOAD_ERROR); without /dev/sgx_provision the
 *   PCE lacks its provision key (INVALID_PRIVILEGE). Each failure prints the device line urts prints to
 *   stderr, and the PCE/QE line through the trace callback when one is set (se_trace.h), else stderr.
 * - sgx_trace_logger_callback and sgx_trace_loglevel are exported, as se_trace.h declares them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SGX_QL_SUCCESS 0x0000
#define SGX_QL_ERROR_UNEXPECTED 0xE001
#define SGX_QL_ERROR_INVALID_PARAMETER 0xE002
#define SGX_QL_UNSUPPORTED_LOADING_POLICY 0xE00C
#define SGX_QL_INTERFACE_UNAVAILABLE 0xE00D
#define SGX_QL_INVALID_REPORT 0xE015
#define SGX_QL_ENCLAVE_LOAD_ERROR 0xE016
#define SGX_QL_ERROR_INVALID_PRIVILEGE 0xE035
#define SGX_QL_UNSUPPORTED_MODE 0xE03E
#define SGX_ERROR_NO_DEVICE 0x2006
#define PATH_TYPES 4
#define MAX_PATH_LEN 4096

#define TARGET_INFO_SIZE 512
#define REPORT_SIZE 432
#define REPORT_OFFSET 8
#define ECDSA_ID_OFFSET 884
#define ECDSA_ID_SIZE 32
#define MIN_QUOTE_SIZE (ECDSA_ID_OFFSET + ECDSA_ID_SIZE)
#define FAKE_TARGET_INFO_BYTE(i) ((uint8_t)((i) * 7 + 3))
#define FAKE_ECDSA_ID_BYTE(i) ((uint8_t)(0xA0 + (i)))
#define FAKE_FILL_BYTE 0xCC
#define HOLD_LIMIT_US 5000000

static uint32_t quote_size = 1100;
static uint32_t quotes_made = 0;
static uint32_t next_error = 0;
static uint32_t delay_us = 0;
static int hold_next = 0;
static volatile int released = 0;
static int in_call = 0;
static uint32_t overlaps = 0;
static uint32_t calls = 0;
static int32_t load_policy = -1;
static int out_of_proc = 0;
static char dev_root[MAX_PATH_LEN] = "/";
static char paths[PATH_TYPES][MAX_PATH_LEN];

typedef void (*sgx_logging_callback_t)(int level, const char *message);
sgx_logging_callback_t sgx_trace_logger_callback = NULL;
int sgx_trace_loglevel = 0;

__attribute__((constructor)) static void fake_dcap_init(void) {
  if (getenv("SGX_AESM_ADDR")) out_of_proc = 1;
  const char *root = getenv("FAKE_DCAP_DEV_ROOT");
  if (root && strlen(root) < MAX_PATH_LEN) strcpy(dev_root, root);
}

/* SE_PROD_LOG: the trace callback when set, else stderr. */
static void prod_log(const char *fmt, ...) {
  char message[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof(message), fmt, args);
  va_end(args);
  if (sgx_trace_logger_callback) sgx_trace_logger_callback(1, message);
  else fputs(message, stderr);
}

/* 0 when `node` under dev_root opens read-write, else the errno. */
static int open_node(const char *node) {
  char file[MAX_PATH_LEN + 32];
  snprintf(file, sizeof(file), "%s/%s", dev_root, node);
  int fd = open(file, O_RDWR);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

/* Creating `which` enclave as urts does: the enclave node, and for the PCE the provision node too. */
static uint32_t create_enclave(const char *which, uint32_t no_device_error) {
  if (open_node("dev/sgx_enclave") != 0) {
    fprintf(stderr, "[get_driver_type urts_internal.cpp:63] Failed to open Intel SGX device.\n");
    prod_log("[load_%s %s_wrapper.cpp:130] Error, call sgx_create_enclave for %s fail [load_%s], SGXError:%04x.\n", which, which, which, which, SGX_ERROR_NO_DEVICE);
    return no_device_error;
  }
  if (strcmp(which, "pce") == 0 && open_node("dev/sgx_provision") != 0) {
    prod_log("[load_pce pce_wrapper.cpp:130] Error, call sgx_create_enclave for PCE fail [load_pce], SGXError:4004.\n");
    return SGX_QL_ERROR_INVALID_PRIVILEGE;
  }
  return SGX_QL_SUCCESS;
}

/* Marks entry into the library; an entry while another call is inside counts as an overlap. */
static void enter(void) {
  if (__atomic_exchange_n(&in_call, 1, __ATOMIC_SEQ_CST)) __atomic_add_fetch(&overlaps, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
  if (hold_next) {
    hold_next = 0;
    /* Waits for fake_dcap_release() from another thread; a caller on that same thread would never
       release it, so give up after HOLD_LIMIT_US and fail the call instead of hanging the test. */
    for (uint32_t waited = 0; !released && waited < HOLD_LIMIT_US; waited += 1000) usleep(1000);
    if (!released) next_error = SGX_QL_ERROR_UNEXPECTED;
  }
  if (delay_us) usleep(delay_us);
}

static uint32_t leave(uint32_t result) {
  __atomic_store_n(&in_call, 0, __ATOMIC_SEQ_CST);
  return result;
}

/* Returns the injected error once, or 0. */
static uint32_t take_injected(void) {
  uint32_t e = next_error;
  next_error = 0;
  return e;
}

uint32_t sgx_qe_set_enclave_load_policy(int32_t policy) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (out_of_proc) return leave(SGX_QL_UNSUPPORTED_MODE);
  if (policy != 0 && policy != 1) return leave(SGX_QL_UNSUPPORTED_LOADING_POLICY);
  load_policy = policy;
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_ql_set_path(int32_t path_type, const char *p_path) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (out_of_proc) return leave(SGX_QL_UNSUPPORTED_MODE);
  struct stat info;
  if (!p_path || stat(p_path, &info) != 0 || !S_ISREG(info.st_mode) || strlen(p_path) >= MAX_PATH_LEN) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  if (path_type < 0 || path_type >= PATH_TYPES) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  strcpy(paths[path_type], p_path);
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_target_info(uint8_t *p_qe_target_info) {
  enter();
  if (!p_qe_target_info) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  memset(p_qe_target_info, 0, TARGET_INFO_SIZE);
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (out_of_proc) return leave(SGX_QL_ERROR_UNEXPECTED);
  e = create_enclave("pce", SGX_QL_INTERFACE_UNAVAILABLE);
  if (e) return leave(e);
  for (int i = 0; i < TARGET_INFO_SIZE; i++) p_qe_target_info[i] = FAKE_TARGET_INFO_BYTE(i);
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_quote_size(uint32_t *p_quote_size) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (!p_quote_size) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  if (out_of_proc) return leave(SGX_QL_ERROR_UNEXPECTED);
  e = create_enclave("qe3", SGX_QL_ENCLAVE_LOAD_ERROR);
  if (e) return leave(e);
  *p_quote_size = quote_size;
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_quote(const uint8_t *p_app_report, uint32_t size, uint8_t *p_quote) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (!p_app_report || !p_quote || size < quote_size) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  if (out_of_proc) return leave(SGX_QL_ERROR_UNEXPECTED);
  e = create_enclave("qe3", SGX_QL_ENCLAVE_LOAD_ERROR);
  if (e) return leave(e);
  if (p_app_report[0] == 0xEE) return leave(SGX_QL_INVALID_REPORT);
  uint32_t n = ++quotes_made;
  memset(p_quote, FAKE_FILL_BYTE, size);
  for (int i = 0; i < 4; i++) p_quote[i] = (uint8_t)(n >> (8 * i));
  memset(p_quote + 4, 0, REPORT_OFFSET - 4);
  memcpy(p_quote + REPORT_OFFSET, p_app_report, REPORT_SIZE);
  for (int i = 0; i < ECDSA_ID_SIZE; i++) p_quote[ECDSA_ID_OFFSET + i] = FAKE_ECDSA_ID_BYTE(i);
  return leave(SGX_QL_SUCCESS);
}

/* Test controls. */
void fake_dcap_reset(void) {
  quote_size = 1100;
  quotes_made = 0;
  next_error = 0;
  delay_us = 0;
  hold_next = 0;
  released = 0;
  overlaps = 0;
  calls = 0;
  load_policy = -1;
  memset(paths, 0, sizeof(paths));
}
/* Sizes below MIN_QUOTE_SIZE are refused (returns 0) since the layout above would not fit. */
int fake_dcap_set_quote_size(uint32_t size) {
  if (size < MIN_QUOTE_SIZE) return 0;
  quote_size = size;
  return 1;
}
void fake_dcap_fail_next(uint32_t quote3_error) { next_error = quote3_error; }
void fake_dcap_set_delay_us(uint32_t us) { delay_us = us; }
void fake_dcap_hold_next(void) {
  released = 0;
  hold_next = 1;
}
void fake_dcap_release(void) { released = 1; }
uint32_t fake_dcap_overlaps(void) { return __atomic_load_n(&overlaps, __ATOMIC_SEQ_CST); }
uint32_t fake_dcap_calls(void) { return __atomic_load_n(&calls, __ATOMIC_SEQ_CST); }
int32_t fake_dcap_load_policy(void) { return load_policy; }
int32_t fake_dcap_out_of_proc(void) { return out_of_proc; }
const char *fake_dcap_path(int32_t path_type) { return path_type >= 0 && path_type < PATH_TYPES ? paths[path_type] : ""; }
void fake_dcap_set_dev_root(const char *root) {
  if (root && strlen(root) < MAX_PATH_LEN) strcpy(dev_root, root);
}
