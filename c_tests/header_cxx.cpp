// The header compiles as C++ (-std=c++11 -pedantic) and its functions link
// with C linkage: a C++ interpreter can use it as is.
#include "zombie_frames.h"

#include <cstdio>
#include <cstring>

static int reports = 0;

extern "C" void on_report(void *, int, const char *) { ++reports; }

int main()
{
    static_assert(ZF_FRAME_ALIGN == 16, "frames are 16-aligned");
    static_assert(ZF_VERSION_NUMBER == ZF_VERSION_MAJOR * 10000 + ZF_VERSION_MINOR * 100 + ZF_VERSION_PATCH,
                  "version macros agree");
    ZfConfig cfg;
    zf_config_default(&cfg);
    cfg.flags = ZF_FLAG_DEBUG;
    ZfPool *pool = zf_pool_new(&cfg);
    ZfErrorHandler handler = on_report;
    zf_set_error_handler(pool, handler, nullptr);
    ZfCode *code = zf_code_new(pool, 128);
    int zombie = -1;
    void *frame = zf_frame_acquire(code, &zombie);
    zf_frame_release(code, frame);
    frame = zf_frame_acquire(code, &zombie);
    zf_frame_release(code, frame);
    ZfStats stats;
    zf_pool_stats(pool, &stats);
    ZfCodeHot none = ZF_CODE_HOT_INERT; // the inline halves' stand-in for "no ZfCode yet"
    ZfCode *no_code = reinterpret_cast<ZfCode *>(&none);
    bool inert = zf_frame_hit_fast(no_code) == nullptr && zf_frame_give_fast(no_code, &stats) == 0;
    zf_code_free(code);
    zf_pool_free(pool);
    bool ok = std::strcmp(zf_version(), ZF_VERSION_STRING) == 0 && zombie == 1 && stats.zombie_hits == 1 &&
              reports == 0 && inert;
    std::printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
