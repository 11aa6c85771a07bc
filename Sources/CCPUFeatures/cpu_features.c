// CPUID and XGETBV, compiled for baseline x86-64 (no target flags), so this code runs on any
// x86-64 CPU. The constructor at the end stops a process whose CPU lacks the instructions the
// Swift code was compiled for, before any of that code runs, with a message instead of SIGILL.
#include "cpu_features.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct { uint32_t bit; const char *name; } feature_names[] = {
    {ELECTRA_CPU_SSE3, "SSE3"}, {ELECTRA_CPU_SSSE3, "SSSE3"}, {ELECTRA_CPU_SSE41, "SSE4.1"},
    {ELECTRA_CPU_SSE42, "SSE4.2"}, {ELECTRA_CPU_POPCNT, "POPCNT"}, {ELECTRA_CPU_AVX, "AVX"},
    {ELECTRA_CPU_F16C, "F16C"}, {ELECTRA_CPU_FMA, "FMA"}, {ELECTRA_CPU_MOVBE, "MOVBE"},
    {ELECTRA_CPU_AVX2, "AVX2"}, {ELECTRA_CPU_BMI1, "BMI1"}, {ELECTRA_CPU_BMI2, "BMI2"},
    {ELECTRA_CPU_LZCNT, "LZCNT"}, {ELECTRA_CPU_AVX512F, "AVX512F"}, {ELECTRA_CPU_AVX512DQ, "AVX512DQ"},
    {ELECTRA_CPU_AVX512BW, "AVX512BW"}, {ELECTRA_CPU_AVX512VL, "AVX512VL"},
    {ELECTRA_CPU_AVX512BF16, "AVX512-BF16"}, {ELECTRA_CPU_AMX_TILE, "AMX-TILE"},
};
enum { feature_count = sizeof feature_names / sizeof feature_names[0] };

/// The bits named in ELECTRA_CPU_HIDE ("AVX512F,AVX2", case-insensitive): features a test
/// pretends the CPU lacks, to imitate another CPU model on this one.
__attribute__((unused)) static uint32_t hidden_features(void) {
    const char *list = getenv("ELECTRA_CPU_HIDE");
    uint32_t hidden = 0;
    while (list && *list) {
        size_t n = strcspn(list, ", ");
        for (unsigned i = 0; i < feature_count; i++)
            if (n == strlen(feature_names[i].name) && strncasecmp(list, feature_names[i].name, n) == 0)
                hidden |= feature_names[i].bit;
        list += n;
        list += strspn(list, ", ");
    }
    return hidden;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

uint32_t electra_cpu_features(void) {
    unsigned a, b, c, d;
    uint32_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & bit_SSE3) f |= ELECTRA_CPU_SSE3;
    if (c & bit_SSSE3) f |= ELECTRA_CPU_SSSE3;
    if (c & bit_SSE4_1) f |= ELECTRA_CPU_SSE41;
    if (c & bit_SSE4_2) f |= ELECTRA_CPU_SSE42;
    if (c & bit_POPCNT) f |= ELECTRA_CPU_POPCNT;
    if (c & bit_MOVBE) f |= ELECTRA_CPU_MOVBE;
    // AVX state (XMM and YMM) saved by the OS; AVX-512 also needs opmask and both ZMM halves.
    int osxsave = (c & bit_OSXSAVE) != 0;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
    int tiles = (xcr0 & 0x60000) == 0x60000;
    if (ymm && (c & bit_AVX)) f |= ELECTRA_CPU_AVX;
    if (ymm && (c & bit_F16C)) f |= ELECTRA_CPU_F16C;
    if (ymm && (c & bit_FMA)) f |= ELECTRA_CPU_FMA;
    unsigned max = __get_cpuid_max(0, 0);
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (ymm && (b & bit_AVX2)) f |= ELECTRA_CPU_AVX2;
        if (b & bit_BMI) f |= ELECTRA_CPU_BMI1;
        if (b & bit_BMI2) f |= ELECTRA_CPU_BMI2;
        if (zmm && (b & bit_AVX512F)) f |= ELECTRA_CPU_AVX512F;
        if (zmm && (b & bit_AVX512DQ)) f |= ELECTRA_CPU_AVX512DQ;
        if (zmm && (b & bit_AVX512BW)) f |= ELECTRA_CPU_AVX512BW;
        if (zmm && (b & bit_AVX512VL)) f |= ELECTRA_CPU_AVX512VL;
        if (tiles && (d & (1u << 24))) f |= ELECTRA_CPU_AMX_TILE;
        unsigned a1 = 0, b1, c1, d1;
        if (a >= 1) __cpuid_count(7, 1, a1, b1, c1, d1);
        if (zmm && (a1 & (1u << 5))) f |= ELECTRA_CPU_AVX512BF16;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & bit_LZCNT)) f |= ELECTRA_CPU_LZCNT;
    return f & ~hidden_features();
}

void electra_cpu_identity(char vendor[13], unsigned *family, unsigned *model, char brand[49]) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    memset(vendor, 0, 13);
    memset(brand, 0, 49);
    *family = 0;
    *model = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        unsigned base = (a >> 8) & 0xf, ext = (a >> 20) & 0xff;
        *family = base == 0xf ? base + ext : base;
        *model = ((a >> 4) & 0xf) | ((base == 0x6 || base == 0xf) ? ((a >> 16) & 0xf) << 4 : 0);
    }
    if (__get_cpuid_max(0x80000000, 0) >= 0x80000004) {
        unsigned *w = (unsigned *)brand;
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &w[4 * leaf], &w[4 * leaf + 1], &w[4 * leaf + 2], &w[4 * leaf + 3]);
    }
}
#else
uint32_t electra_cpu_features(void) { return 0; }
void electra_cpu_identity(char vendor[13], unsigned *family, unsigned *model, char brand[49]) {
    memset(vendor, 0, 13);
    memset(brand, 0, 49);
    *family = 0;
    *model = 0;
}
#endif

#ifndef ELECTRA_REQUIRED_FEATURES
#define ELECTRA_REQUIRED_FEATURES 0u
#endif

uint32_t electra_cpu_required_features(void) { return ELECTRA_REQUIRED_FEATURES; }

#if defined(__x86_64__)
static void say(const char *s) {
    ssize_t unused = write(2, s, strlen(s));
    (void)unused;
}

/// Runs when the program is loaded, before main and before any Swift code.
__attribute__((constructor)) static void electra_refuse_missing_features(void) {
    uint32_t missing = ELECTRA_REQUIRED_FEATURES & ~electra_cpu_features();
    if (!missing) return;
    say("error: this electra-swift build uses AVX2 and FMA instructions (x86-64 Haswell level, "
        "Intel 2013+ / AMD 2015+), and this CPU (or the virtual machine's CPU model) lacks:");
    for (unsigned i = 0; i < feature_count; i++)
        if (missing & feature_names[i].bit) { say(" "); say(feature_names[i].name); }
    say(".\nBuild a portable binary for it: rm -rf .build && ELECTRA_PORTABLE=1 swift build -c release\n");
    _exit(70);
}
#endif
