// rmsmp/detail/target_region.hpp — compile a stretch of code for one x86 instruction
// set, without a -m flag for the translation unit.
//
//   RMSMP_CPU_TARGET_BEGIN("avx512f,avx512bw")   ...functions, templates...   RMSMP_CPU_TARGET_END
//
// Every function declared in between (templates and member functions included) gets
// __attribute__((target(features))), so intrinsics inline into it and one kernel template,
// included into several regions (tile_kernel.inc), is compiled once per instruction set.
// A per-function attribute cannot depend on a template parameter, and a kernel template
// compiled without the target would pass vector registers to its helpers with the wrong calling
// convention (Clang rejects it, GCC silently changes it at -O0): hence regions.
//
// GCC 12's AVX-512 headers build some intrinsics on a deliberately undefined vector
// (`__Y = __Y`), which -Wuninitialized / -Wmaybe-uninitialized report once the intrinsic is
// inlined; the region silences those two warnings (fixed in later GCC releases).
#pragma once

#define RMSMP_CPU_PRAGMA(text) _Pragma(#text)

#if defined(__clang__)
#define RMSMP_CPU_TARGET_BEGIN(features) \
  RMSMP_CPU_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define RMSMP_CPU_TARGET_END RMSMP_CPU_PRAGMA(clang attribute pop)
#elif defined(__GNUC__)
#define RMSMP_CPU_TARGET_BEGIN(features)                      \
  RMSMP_CPU_PRAGMA(GCC diagnostic push)                       \
  RMSMP_CPU_PRAGMA(GCC diagnostic ignored "-Wuninitialized")  \
  RMSMP_CPU_PRAGMA(GCC diagnostic ignored "-Wmaybe-uninitialized") \
  RMSMP_CPU_PRAGMA(GCC push_options)                          \
  RMSMP_CPU_PRAGMA(GCC target(features))
#define RMSMP_CPU_TARGET_END   \
  RMSMP_CPU_PRAGMA(GCC pop_options) \
  RMSMP_CPU_PRAGMA(GCC diagnostic pop)
#else
#define RMSMP_CPU_TARGET_BEGIN(features)
#define RMSMP_CPU_TARGET_END
#endif
