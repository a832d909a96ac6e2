// rmsmp/kernel/cpu/detail/dispatch.hpp — the one place that maps a CPU architecture to its
// micro-kernel type. Everything else (drivers, backend, tests) is written against the kernel
// type, so a new instruction set adds its kernel header and a case here.
#pragma once

#include <string>

#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/error.hpp"
#include "rmsmp/kernel/cpu/detail/avx2.hpp"
#include "rmsmp/kernel/cpu/detail/avx512_vnni.hpp"
#include "rmsmp/kernel/cpu/detail/generic.hpp"
#include "rmsmp/kernel/cpu/detail/micro_kernel.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu::detail {

// The layout a kernel reads is also known without the kernel: PackedWeights packs for an arch
// by layout_for(ArchId). The two must agree.
static_assert(generic_kernel::layout == layout_for(ArchId::generic));
#if RMSMP_CPU_X86_KERNELS
static_assert(avx2_kernel::layout == layout_for(ArchId::avx2));
static_assert(avx512_vnni_kernel::layout == layout_for(ArchId::avx512_vnni));
#endif

/// f(Kernel{}) with the micro-kernel of `arch`; throws rmsmp::Error if this build has none.
/// Whether the machine can run it is the caller's check (require_runnable).
template <class F>
decltype(auto) with_kernel(ArchId arch, F&& f) {
  switch (arch) {
#if RMSMP_CPU_X86_KERNELS
    case ArchId::avx512_vnni:
      return f(avx512_vnni_kernel{});
    case ArchId::avx2:
      return f(avx2_kernel{});
#endif
    case ArchId::generic:
      return f(generic_kernel{});
    default:
      break;
  }
  fail("cpu backend: no kernel for " + std::string(arch_name(arch)) + " in this build");
}

}  // namespace rmsmp::cpu::detail
