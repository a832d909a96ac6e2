// rmsmp/kernel/cpu/gemm.hpp — the CPU kernels as functions on packed weights: the kernel of
// one architecture, chosen at compile time or at run time. Bit-identical to reference::gemm
// for every call check_gemm_arguments accepts. Most callers want CpuBackend (backend.hpp),
// which checks the arguments, packs the weights and runs threads.
//
//   cpu::gemm<cpu::avx2>(packed, x, pipeline, y)   the kernel on PackedWeights packed for it
//   cpu::gemm(arch, packed, x, pipeline, y)        (layout_for(arch)); arguments assumed checked
//                                                  against the source matrix
#pragma once

#include "rmsmp/core/activations.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/cpu/detail/dispatch.hpp"
#include "rmsmp/kernel/cpu/detail/drivers.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"

namespace rmsmp::cpu {

/// The kernel of architecture `arch` on packed weights. Precondition: check_gemm_arguments
/// passed for the matrix `w` was packed from (CpuBackend does this); only shapes are rechecked
/// here. Throws rmsmp::Error if `arch` cannot run on this machine.
template <ActivationValue T, class Pipeline>
void gemm(ArchId arch, const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
          const OutputView<typename Pipeline::output_type>& y) {
  require_runnable(arch);
  detail::with_kernel(arch, [&]<class Kernel>(Kernel) { detail::run_gemm<Kernel>(w, x, pipeline, y); });
}

/// The same with the architecture chosen at compile time.
template <Arch A, ActivationValue T, class Pipeline>
void gemm(const PackedWeights& w, const ActivationView<T>& x, const Pipeline& pipeline,
          const OutputView<typename Pipeline::output_type>& y) {
  gemm(A::id, w, x, pipeline, y);
}

}  // namespace rmsmp::cpu
