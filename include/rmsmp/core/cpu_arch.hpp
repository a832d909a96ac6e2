// rmsmp/core/cpu_arch.hpp — CPU architectures as types, and which of them this machine runs.
//
// Each architecture is an empty tag type (cpu::generic, cpu::avx2, cpu::avx512_vnni) carrying
// an ArchId. A kernel exists for an architecture when it is compiled in (`kernel_compiled`);
// it can run when, in addition, the processor and the OS support its instructions
// (`can_run`). best_available_arch() picks the best runnable one at run time, so the library
// is compiled without any -m flag and still uses AVX2 where the machine has it.
#pragma once

#include <array>
#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "rmsmp/error.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

// RMSMP_CPU_X86_KERNELS: the x86 intrinsics kernels are compiled (GCC or Clang on x86-64;
// they use __attribute__((target(...))) so the translation unit needs no -m flag).
#if !defined(RMSMP_CPU_X86_KERNELS)
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RMSMP_CPU_X86_KERNELS 1
#else
#define RMSMP_CPU_X86_KERNELS 0
#endif
#endif

// RMSMP_CPU_NATIVE_AVX512: offer the native AVX-512 VNNI kernel to dispatch (default 1). Define
// it to 0 to opt out: the kernel then still compiles (so it cannot rot) and its emulated twin is
// still tested, but best_available_arch() never picks it and CpuBackend<cpu::avx512_vnni> is
// refused. docs/cpu-kernels.md says on which processors it was checked against the reference.
#if !defined(RMSMP_CPU_NATIVE_AVX512)
#define RMSMP_CPU_NATIVE_AVX512 1
#endif

namespace rmsmp::cpu {

enum class ArchId { generic, avx2, avx512_vnni };

/// Plain C++, no intrinsics: runs everywhere, bit-identical to every other path.
struct generic {
  static constexpr ArchId id = ArchId::generic;
  static constexpr std::string_view name = "generic";
};
/// AVX2 + FMA (Haswell and later): 32-byte vectors, vpshufb table lookup, vpmaddubsw.
struct avx2 {
  static constexpr ArchId id = ArchId::avx2;
  static constexpr std::string_view name = "avx2";
};
/// AVX-512 F, BW, VL and VNNI (Cascade Lake, Ice Lake, Zen 4 and later): 64-byte vectors,
/// vpshufb table lookup, vpdpbusd.
struct avx512_vnni {
  static constexpr ArchId id = ArchId::avx512_vnni;
  static constexpr std::string_view name = "avx512_vnni";
};
/// Not an architecture: "pick the best runnable one at run time".
struct dispatch {};

template <class A>
concept Arch = std::same_as<A, generic> || std::same_as<A, avx2> || std::same_as<A, avx512_vnni>;

namespace detail {

#if RMSMP_CPU_X86_KERNELS
/// The OS saves and restores the AVX-512 state (opmask, upper halves of zmm0-15, zmm16-31)
/// on context switches: CPUID.1:ECX.OSXSAVE, then XCR0 bits 1, 2, 5, 6 and 7. GCC's and Clang's
/// __builtin_cpu_supports check this too; asked here again so the dispatch does not depend
/// on how a runtime library reads XCR0.
inline bool os_saves_zmm_state() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & bit_OSXSAVE) == 0) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  constexpr unsigned sse_avx_avx512_state = 0xE6;
  return (xcr0_low & sse_avx_avx512_state) == sse_avx_avx512_state;
}
#endif

/// A hint to bring the cache line at p into the caches ahead of its use; nothing where the
/// compiler has no prefetch builtin. Never faults, whatever p points to.
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

}  // namespace detail

inline constexpr std::array<ArchId, 3> all_archs = {ArchId::generic, ArchId::avx2, ArchId::avx512_vnni};

constexpr std::string_view arch_name(ArchId a) {
  switch (a) {
    case ArchId::generic:
      return generic::name;
    case ArchId::avx2:
      return avx2::name;
    case ArchId::avx512_vnni:
      return avx512_vnni::name;
  }
  return "unknown";
}

/// True when rmsmp has a kernel for `a` in this build (independent of the machine).
constexpr bool kernel_compiled(ArchId a) {
  switch (a) {
    case ArchId::generic:
      return true;
    case ArchId::avx2:
      return RMSMP_CPU_X86_KERNELS != 0;
    case ArchId::avx512_vnni:
      return RMSMP_CPU_X86_KERNELS != 0 && RMSMP_CPU_NATIVE_AVX512 != 0;
  }
  return false;
}

/// True when this processor (and its OS, which must save the wide registers) supports the
/// instructions of `a`, whether or not rmsmp has a kernel for it.
inline bool machine_supports(ArchId a) {
  switch (a) {
    case ArchId::generic:
      return true;
    case ArchId::avx2:
#if RMSMP_CPU_X86_KERNELS
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
      return false;
#endif
    case ArchId::avx512_vnni:
#if RMSMP_CPU_X86_KERNELS
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
             detail::os_saves_zmm_state();
#else
      return false;
#endif
  }
  return false;
}

/// A kernel for `a` is compiled in and this machine can execute it.
inline bool can_run(ArchId a) { return kernel_compiled(a) && machine_supports(a); }

/// Every architecture that can run here, from the most portable to the best.
inline std::vector<ArchId> runnable_archs() {
  std::vector<ArchId> out;
  for (ArchId a : all_archs)
    if (can_run(a)) out.push_back(a);
  return out;
}

/// The best architecture that can run here (all_archs is ordered worst to best).
inline ArchId best_available_arch() { return runnable_archs().back(); }

/// Throws rmsmp::Error unless `a` can run here (forcing a path the machine lacks).
inline void require_runnable(ArchId a) {
  rmsmp::require(kernel_compiled(a), "cpu backend: no kernel for " + std::string(arch_name(a)) + " in this build");
  rmsmp::require(machine_supports(a),
                  "cpu backend: this machine does not support " + std::string(arch_name(a)) + " instructions");
}

}  // namespace rmsmp::cpu
