/* fuzz_model.c - libFuzzer target: async.h against the reference model.
 *
 *   make fuzz FUZZ_SECONDS=600      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * Every byte string decodes to a valid case (tests/model.h); the target runs
 * it on the loop and on the model and aborts on the first divergence or
 * broken invariant, after printing the case and a shrunk reproduction.  Its
 * bytes, pasted into a file, replay it: build/fuzz_model FILE. */
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static model_ctx x;
    model_case c;
    model_opts o = {-1, MODEL_BUG_NONE};
    model_case_decode(&c, data, size);
    if (model_report(stderr, &x, &c, &o, -1)) abort();
    return 0;
}
