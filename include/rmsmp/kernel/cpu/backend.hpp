// rmsmp/kernel/cpu/backend.hpp — the CPU backend: packed weights, run-time dispatch to the best
// micro-kernel (generic, AVX2, AVX-512 VNNI), int32 accumulation over all of K, the output
// pipeline once per output, threads. Bit-identical to reference::gemm for every call
// check_gemm_arguments accepts.
//
//   CpuBackend<> backend;                     best runnable arch (or CpuBackend<cpu::avx2>, or
//                                             CpuBackend<>{cpu::ArchId::generic} to force one)
//   auto w = backend.prepare(matrix);         pack once
//   backend.gemm(w, x, pipeline, y);          checks, then runs; as often as needed
//   backend.gemm(matrix, x, pipeline, y);     the ReferenceBackend signature: checks, packs, runs
//   CpuBackend<> mt(cpu::Threads{4});         up to 4 threads per call (thread_pool.hpp)
#pragma once

#include <concepts>
#include <memory>
#include <string_view>

#include <Eigen/Core>

#include "rmsmp/core/activations.hpp"
#include "rmsmp/core/cpu_arch.hpp"
#include "rmsmp/kernel/backend.hpp"
#include "rmsmp/kernel/contract.hpp"
#include "rmsmp/kernel/cpu/detail/dispatch.hpp"
#include "rmsmp/kernel/cpu/detail/drivers.hpp"
#include "rmsmp/kernel/cpu/packed_weights.hpp"
#include "rmsmp/kernel/cpu/prepared_matrix.hpp"
#include "rmsmp/kernel/cpu/thread_pool.hpp"
#include "rmsmp/pack/mixed_row_matrix.hpp"

namespace rmsmp {

/// The CPU backend behind the shared interface backend.gemm(weights, x, pipeline, y).
/// Arch = cpu::dispatch picks cpu::best_available_arch() at construction (or the ArchId given
/// to the constructor); Arch = cpu::generic / cpu::avx2 fixes the path. Constructing a
/// backend for a path this machine cannot run throws rmsmp::Error.
///
/// Threads: cpu::Threads{n} lets one call use up to n threads (default 1: no pool). The
/// n - 1 workers are started at construction and shared by copies of the backend (a
/// shared_ptr). The backend is safe to call from several threads at once: one call at a time
/// uses the pool, a call that finds it busy runs on its calling thread alone; so does a call
/// made from inside a pool job. Results are bit-identical for every thread count.
template <class Arch = cpu::dispatch>
  requires(std::same_as<Arch, cpu::dispatch> || cpu::Arch<Arch>)
class CpuBackend {
 public:
  static constexpr std::string_view name = "cpu";
  /// What a gemm call reports: nothing, a CPU call has no cycle counts to give (Backend).
  using statistics = NoStatistics;

  CpuBackend() : CpuBackend(cpu::Threads{}) {}
  explicit CpuBackend(cpu::Threads threads)
      : arch_(runnable(default_arch())), threads_(threads), pool_(make_pool(threads)) {}
  explicit CpuBackend(cpu::ArchId forced, cpu::Threads threads = {})
    requires std::same_as<Arch, cpu::dispatch>
      : arch_(runnable(forced)), threads_(threads), pool_(make_pool(threads)) {}

  cpu::ArchId arch() const { return arch_; }
  /// The thread settings given at construction (threads().count = the most one call uses).
  cpu::Threads threads() const { return threads_; }

  /// Packs `matrix` once, in the layout of this backend's kernel, for every later gemm call
  /// on it (by this backend or another one of the same arch()).
  template <class Mix>
  cpu::PreparedMatrix<Mix> prepare(const MixedRowMatrix<Mix>& matrix) const {
    return cpu::PreparedMatrix<Mix>(matrix, cpu::layout_for(arch_));
  }
  template <class Mix>
  cpu::PreparedMatrix<Mix> prepare(const MixedRowMatrix<Mix>&& matrix) const = delete;

  /// The fast path: weights packed by prepare().
  template <class Mix, ActivationValue T, class Pipeline>
  statistics gemm(const cpu::PreparedMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                  const OutputView<typename Pipeline::output_type>& y) const {
    check_gemm_arguments(weights.matrix(), x, pipeline, y);
    run(weights.packed(), x, pipeline, y);
    return {};
  }

  /// The ReferenceBackend signature. Packs the matrix on every call (O(M*K) extra work):
  /// call prepare() once and pass its result when the same weights serve many calls.
  template <class Mix, ActivationValue T, class Pipeline>
  statistics gemm(const MixedRowMatrix<Mix>& weights, const ActivationView<T>& x, const Pipeline& pipeline,
                  const OutputView<typename Pipeline::output_type>& y) const {
    check_gemm_arguments(weights, x, pipeline, y);
    run(cpu::PackedWeights(weights, cpu::layout_for(arch_)), x, pipeline, y);
    return {};
  }

  /// Returning a new M x N matrix, like reference::gemm.
  template <class W, ActivationValue T, class Pipeline>
  auto gemm(const W& weights, const ActivationView<T>& x, const Pipeline& pipeline) const {
    using Out = typename Pipeline::output_type;
    Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic> y(rows_of(weights), x.cols);
    gemm(weights, x, pipeline, OutputView<Out>::of(y));
    return y;
  }

 private:
  template <ActivationValue T, class Pipeline>
  void run(const cpu::PackedWeights& packed, const ActivationView<T>& x, const Pipeline& pipeline,
           const OutputView<typename Pipeline::output_type>& y) const {
    cpu::detail::with_kernel(arch_, [&]<class Kernel>(Kernel) {
      cpu::detail::run_gemm<Kernel>(packed, x, pipeline, y, pool_.get(), threads_.min_work_per_thread);
    });
  }
  static cpu::ArchId runnable(cpu::ArchId a) {
    cpu::require_runnable(a);
    return a;
  }
  // Throws rmsmp::Error for a count below 1.
  static std::shared_ptr<cpu::detail::ThreadPool> make_pool(cpu::Threads threads) {
    return threads.count == 1 ? nullptr : std::make_shared<cpu::detail::ThreadPool>(threads.count);
  }
  static cpu::ArchId default_arch() {
    if constexpr (std::same_as<Arch, cpu::dispatch>)
      return cpu::best_available_arch();
    else
      return Arch::id;
  }
  template <class Mix>
  static int rows_of(const MixedRowMatrix<Mix>& m) {
    return m.rows();
  }
  template <class Mix>
  static int rows_of(const cpu::PreparedMatrix<Mix>& m) {
    return m.matrix().rows();
  }

  cpu::ArchId arch_;
  cpu::Threads threads_;
  std::shared_ptr<cpu::detail::ThreadPool> pool_;  // null for one thread
};

}  // namespace rmsmp
