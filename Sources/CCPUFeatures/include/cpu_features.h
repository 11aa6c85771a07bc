// CPUID feature flags of the running x86-64 CPU, counted only where the operating system also
// saves the register state (XGETBV), so a flag here means the instructions can run.
#ifndef ELECTRA_CPU_FEATURES_H
#define ELECTRA_CPU_FEATURES_H
#include <stdint.h>

enum {
    ELECTRA_CPU_SSE3 = 1u << 0,
    ELECTRA_CPU_SSSE3 = 1u << 1,
    ELECTRA_CPU_SSE41 = 1u << 2,
    ELECTRA_CPU_SSE42 = 1u << 3,
    ELECTRA_CPU_POPCNT = 1u << 4,
    ELECTRA_CPU_AVX = 1u << 5,
    ELECTRA_CPU_F16C = 1u << 6,
    ELECTRA_CPU_FMA = 1u << 7,
    ELECTRA_CPU_MOVBE = 1u << 8,
    ELECTRA_CPU_AVX2 = 1u << 9,
    ELECTRA_CPU_BMI1 = 1u << 10,
    ELECTRA_CPU_BMI2 = 1u << 11,
    ELECTRA_CPU_LZCNT = 1u << 12,
    ELECTRA_CPU_AVX512F = 1u << 13,
    ELECTRA_CPU_AVX512DQ = 1u << 14,
    ELECTRA_CPU_AVX512BW = 1u << 15,
    ELECTRA_CPU_AVX512VL = 1u << 16,
    ELECTRA_CPU_AVX512BF16 = 1u << 17,
    ELECTRA_CPU_AMX_TILE = 1u << 18,
};

/// The usable features, ELECTRA_CPU_* bits (0 on other architectures), less any named in the
/// environment variable ELECTRA_CPU_HIDE (comma-separated, e.g. "AVX512F"), with which a test
/// imitates an older CPU on this one.
uint32_t electra_cpu_features(void);

/// Vendor ("GenuineIntel", "AuthenticAMD"), display family and model, and the brand string;
/// empty strings and zeros where CPUID does not say.
void electra_cpu_identity(char vendor[13], unsigned *family, unsigned *model, char brand[49]);

/// The features this build's Swift code was compiled to use (ELECTRA_REQUIRED_FEATURES, set by
/// Package.swift), 0 when it targets baseline x86-64.
uint32_t electra_cpu_required_features(void);

#endif
