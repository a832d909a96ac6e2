// The backends eval and run execute a model on (--backend, --threads), and what each reports
// about a run: the CPU path and thread count, or the RTL engine's cycle statistics.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "rmsmp/rmsmp.hpp"
#ifdef RMSMP_CLI_WITH_RTL  // rtl/CMakeLists.txt defines it when it links the Verilated engines
#include "rmsmp_rtl_engines.hpp"
#endif

namespace rmsmp_cli {

inline constexpr long max_threads = 256;

/// One thread per hardware thread: the tool usually has the machine to itself, unlike a
/// library caller (whose CpuBackend defaults to 1 thread).
inline int default_thread_count() {
  return static_cast<int>(std::clamp<long>(rmsmp::cpu::Threads::hardware().count, 1, max_threads));
}

inline std::vector<OptionSpec> backend_options() {
  return {
      {"--backend", "<name>", "cpu (default), reference, or rtl (the Verilated RTL engine, cycle statistics\n"
                              "                            after the results): all give identical results"},
      {"--threads", "<n>", "threads per layer on the cpu backend (default: one per hardware thread, " +
                               std::to_string(default_thread_count()) + " here)"},
      {"--batch", "<n>", "samples per run (default 256)"},
      {"--limit", "<n>", "use only the first n samples"},
      {"--quiet", "", "no progress on stderr"},
  };
}

/// The backend --backend and --threads name.
struct BackendChoice {
  enum class Kind { cpu, reference, rtl };
  Kind kind = Kind::cpu;
  int threads = 1;  ///< the cpu backend's
};

/// The options' backend, or a UsageError naming the bad option.
inline BackendChoice backend_choice(const Args& a) {
  BackendChoice choice;
  const std::string backend = a.get("--backend", "cpu");
  if (backend == "cpu") {
    choice.kind = BackendChoice::Kind::cpu;
    choice.threads = a.has("--threads") ? static_cast<int>(parse_int("--threads", a.get("--threads"), 1, max_threads))
                                        : default_thread_count();
    return choice;
  }
  if (backend == "reference") choice.kind = BackendChoice::Kind::reference;
  else if (backend == "rtl") choice.kind = BackendChoice::Kind::rtl;
  else throw UsageError("--backend: unknown backend '" + backend + "' (cpu, reference or rtl)");
  if (a.has("--threads")) throw UsageError("--threads applies to the cpu backend only");
  return choice;
}

/// Calls f(executor) with the chosen backend.
template <class F>
void with_executor(const rmsmp::QuantizedModel& model, const BackendChoice& choice, F&& f) {
  using namespace rmsmp;
  switch (choice.kind) {
  case BackendChoice::Kind::cpu:
    f(ModelExecutor<CpuBackend<>>(model, CpuBackend<>(cpu::Threads{choice.threads})));
    return;
  case BackendChoice::Kind::reference:
    f(ModelExecutor<ReferenceBackend>(model));
    return;
  case BackendChoice::Kind::rtl: {
#ifdef RMSMP_CLI_WITH_RTL
    // Each engine takes one activation width (a8: 8-bit, b4: 4-bit) and has lanes for some
    // schemes: the first engine that runs the model is the one.
    using rtl::engines::a8;
    using rtl::engines::b4;
    const std::string why_not_a8 = rtl::why_model_cannot_run(model, a8);
    if (why_not_a8.empty()) return f(ModelExecutor<rtl::RtlBackend<a8>>(model, rtl::RtlBackend<a8>(rtl::engines::make_a8())));
    const std::string why_not_b4 = rtl::why_model_cannot_run(model, b4);
    if (why_not_b4.empty()) return f(ModelExecutor<rtl::RtlBackend<b4>>(model, rtl::RtlBackend<b4>(rtl::engines::make_b4())));
    fail("--backend rtl: no RTL engine of this build runs the model:\n  a8 (" + rtl::describe(a8) + "): " + why_not_a8 +
         "\n  b4 (" + rtl::describe(b4) + "): " + why_not_b4);
#else
    fail("--backend rtl: this rmsmp was built without the RTL engines (configure with -DRMSMP_BUILD_RTL=ON; needs Verilator 5)");
#endif
  }
  }
}

template <class Executor>
inline constexpr bool runs_on_rtl = requires(const Executor& e) { e.backend().totals(); };
template <class Executor>
inline constexpr bool runs_on_cpu = requires(const Executor& e) { e.backend().arch(); };

/// The backend's part of a --json report: "backend", and "cpu" or "rtl" with their details.
template <class Executor>
void add_backend_json(nlohmann::json& report, const Executor& exec, std::size_t samples,
                      std::chrono::steady_clock::duration wall) {
  using namespace rmsmp;
  if constexpr (runs_on_rtl<Executor>) {
    using Backend = std::decay_t<decltype(exec.backend())>;
    const rtl::RunStatistics& s = exec.backend().totals();
    nlohmann::json lanes = nlohmann::json::object();
    for (std::size_t t = 0; t < rtl::lane_type_count; ++t)
      if (Backend::params.lanes[t] > 0) lanes[rtl::lane_type_name(static_cast<rtl::LaneType>(t))] = s.lane_type_utilization[t];
    report["backend"] = "rtl";
    report["rtl"] = {{"engine", rtl::describe(Backend::params)},
                     {"streaming_cycles", s.cycles},
                     {"cycles_per_sample", static_cast<double>(s.cycles) / static_cast<double>(std::max<std::size_t>(samples, 1))},
                     {"predicted_cycles", s.predicted_cycles},
                     {"stall_cycles", s.stall_cycles},
                     {"load_cycles", s.load_cycles},
                     {"weight_loads", s.runs},
                     {"gemm_calls", s.gemm_calls},
                     {"k_chunks", s.k_chunks},
                     {"host_output_calls", s.host_output_calls},
                     {"lane_utilization", s.lane_utilization},
                     {"lane_type_utilization", lanes},
                     {"simulation_seconds", std::chrono::duration<double>(wall).count()}};
  } else if constexpr (runs_on_cpu<Executor>) {
    report["backend"] = "cpu";
    report["cpu"] = {{"arch", std::string(cpu::arch_name(exec.backend().arch()))}, {"threads", exec.backend().threads().count}};
  } else {
    report["backend"] = "reference";
  }
}

/// After a run on the RTL backend: what the engine spent on everything run so far.
template <class Executor>
void print_engine_statistics(const Executor& exec, std::size_t samples, std::chrono::steady_clock::duration wall) {
  using namespace rmsmp;
  if constexpr (runs_on_rtl<Executor>) {
    using Backend = std::decay_t<decltype(exec.backend())>;
    const rtl::RunStatistics& s = exec.backend().totals();
    const double seconds = std::chrono::duration<double>(wall).count();
    std::printf("rtl engine: %s\n", rtl::describe(Backend::params).c_str());
    std::printf("  streaming cycles: %llu (%.0f per sample; cycle model %llu, stall cycles %llu)\n",
                static_cast<unsigned long long>(s.cycles), static_cast<double>(s.cycles) / static_cast<double>(std::max<std::size_t>(samples, 1)),
                static_cast<unsigned long long>(s.predicted_cycles), static_cast<unsigned long long>(s.stall_cycles));
    std::printf("  load cycles: %llu in %d weight loads\n", static_cast<unsigned long long>(s.load_cycles), s.runs);
    std::printf("  gemm calls: %d in %d K chunks (%d with K split, output stage on the host)\n", s.gemm_calls, s.k_chunks,
                s.host_output_calls);
    std::printf("  lane utilization: %.1f%% (", 100.0 * s.lane_utilization);
    for (std::size_t t = 0; t < rtl::lane_type_count; ++t)
      if (Backend::params.lanes[t] > 0)
        std::printf("%s%s %.1f%%", t == 0 ? "" : ", ", rtl::lane_type_name(static_cast<rtl::LaneType>(t)), 100.0 * s.lane_type_utilization[t]);
    std::printf(")\n  simulated in %.2f s (%.2f M cycles per second)\n", seconds,
                seconds > 0.0 ? static_cast<double>(s.cycles + s.load_cycles) / seconds / 1e6 : 0.0);
  }
}

}  // namespace rmsmp_cli
