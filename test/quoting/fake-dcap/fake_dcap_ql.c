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
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SGX_QL_SUCCESS 0x0000
#define SGX_QL_ERROR_UNEXPECTED 0xE001
#define SGX_QL_ERROR_INVALID_PARAMETER 0xE002
#define SGX_QL_INVALID_REPORT 0xE015

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
  load_policy = policy;
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_target_info(uint8_t *p_qe_target_info) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (!p_qe_target_info) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  for (int i = 0; i < TARGET_INFO_SIZE; i++) p_qe_target_info[i] = FAKE_TARGET_INFO_BYTE(i);
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_quote_size(uint32_t *p_quote_size) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (!p_quote_size) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
  *p_quote_size = quote_size;
  return leave(SGX_QL_SUCCESS);
}

uint32_t sgx_qe_get_quote(const uint8_t *p_app_report, uint32_t size, uint8_t *p_quote) {
  enter();
  uint32_t e = take_injected();
  if (e) return leave(e);
  if (!p_app_report || !p_quote || size < quote_size) return leave(SGX_QL_ERROR_INVALID_PARAMETER);
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
