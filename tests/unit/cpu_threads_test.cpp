// Threads in the CPU backend: the pool itself, bit-identical results for every thread count,
// the "run on the calling thread" rules, and calls from several host threads at once.
// (Catch2 assertions are not thread-safe: host threads only record, the main thread checks.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "rmsmp/rmsmp.hpp"
#include "random_operands.hpp"

using namespace rmsmp;
using namespace rmsmp_test;

namespace {

std::mt19937 rng(20261211);

using AllFixed8 = RowMix<Share<Fixed<8>, 100>>;

constexpr int thread_counts[] = {1, 2, 3, 4, 7};

/// Thread counts 1, 2, 3, 4, 7 with every tile allowed its own thread; each must equal the
/// reference and the single-threaded backend bit for bit, through both entry points.
template <class Mix, ActivationValue T, class Pipeline>
void expect_identical(cpu::ArchId arch, const MixedRowMatrix<Mix>& w, const Activations<T>& x,
                      const Pipeline& pipeline) {
  const auto expected = reference::gemm(w, x.view(), pipeline);
  const auto single = CpuBackend<>(arch).gemm(w, x.view(), pipeline);
  REQUIRE(bit_equal(single, expected));
  for (int t : thread_counts) {
    CAPTURE(t);
    const CpuBackend<> backend(arch, cpu::Threads{t, 0});
    REQUIRE(bit_equal(backend.gemm(w, x.view(), pipeline), single));
    const auto prepared = backend.prepare(w);
    REQUIRE(bit_equal(backend.gemm(prepared, x.view(), pipeline), single));
  }
  // The default size limit (small calls stay on the calling thread) changes nothing either.
  REQUIRE(bit_equal(CpuBackend<>(arch, cpu::Threads{4}).gemm(w, x.view(), pipeline), single));
}

template <class Mix, ActivationValue T>
void check_all_pipelines(cpu::ArchId arch, const MixedRowMatrix<Mix>& w, const Activations<T>& x) {
  const int M = w.rows();
  const std::vector<float> scales = w.row_scales();
  BiasAdd bias;
  for (int r = 0; r < M; ++r) bias.bias.push_back(uniform(rng, -(1 << 20), 1 << 20));
  const Requantize requant = requantize_from_scales(scales, x.params.scale, 0.05f * static_cast<float>(uniform(rng, 1, 40)), -4);
  expect_identical(arch, w, x, OutputPipeline<>{});
  expect_identical(arch, w, x, OutputPipeline(bias, requant, relu_for<std::int8_t>(-4), SaturatingCast<std::int8_t>{}));
  expect_identical(arch, w, x, OutputPipeline(SaturatingCast<std::uint8_t>{}));
  expect_identical(arch, w, x, OutputPipeline(bias, to_float_from_scales(scales, x.params.scale)));
}

/// A pipeline (for cpu::detail::run_gemm only) that records which thread computed each row,
/// and takes `delay` for each row's first output.
struct RecordThread {
  using output_type = std::int32_t;
  std::vector<std::thread::id>* ids;
  std::chrono::milliseconds delay;
  void check(int) const {}
  std::int32_t apply(std::int32_t acc, int row) const {
    std::thread::id& id = (*ids)[static_cast<std::size_t>(row)];  // one thread per row
    if (id == std::thread::id{}) std::this_thread::sleep_for(delay);
    id = std::this_thread::get_id();
    return acc;
  }
};

/// Runs cpu::detail::run_gemm on `w` (one group, rows in order) and returns the thread of
/// each row.
std::vector<std::thread::id> threads_per_row(const cpu::PackedWeights& w, const Activations<std::uint8_t>& x,
                                             cpu::detail::ThreadPool* pool, std::size_t min_work,
                                             std::chrono::milliseconds delay = {}) {
  std::vector<std::thread::id> ids(static_cast<std::size_t>(w.rows()));
  Eigen::MatrixXi y(w.rows(), 2);
  cpu::detail::run_gemm<cpu::detail::generic_kernel>(w, x.view(), RecordThread{&ids, delay}, OutputView<int>::of(y),
                                                     pool, min_work);
  return ids;
}

}  // namespace

TEST_CASE("the thread pool runs each part once, part 0 on the caller", "[cpu][threads]") {
  cpu::detail::ThreadPool pool(4);
  REQUIRE(pool.size() == 4);
  for (int parts : {1, 2, 3, 4}) {
    CAPTURE(parts);
    std::vector<std::thread::id> ids(4);
    std::vector<int> runs(4, 0);
    REQUIRE(pool.try_run(parts, [&](int i) {
      ids[static_cast<std::size_t>(i)] = std::this_thread::get_id();
      ++runs[static_cast<std::size_t>(i)];
    }));
    REQUIRE(ids[0] == std::this_thread::get_id());
    for (int i = 0; i < 4; ++i) REQUIRE(runs[static_cast<std::size_t>(i)] == (i < parts ? 1 : 0));
    REQUIRE(std::set<std::thread::id>(ids.begin(), ids.begin() + parts).size() == static_cast<std::size_t>(parts));
  }
  REQUIRE_FALSE(pool.try_run(5, [](int) {}));
  REQUIRE_FALSE(pool.try_run(0, [](int) {}));
  REQUIRE_THROWS_AS(cpu::detail::ThreadPool(0), Error);
}

TEST_CASE("the thread pool refuses nested and concurrent jobs, and passes exceptions on", "[cpu][threads]") {
  cpu::detail::ThreadPool pool(3), other(2);
  // From inside a job (the caller's part or a worker's), no pool takes a job.
  std::vector<int> nested(3, -1);
  REQUIRE(pool.try_run(3, [&](int i) {
    nested[static_cast<std::size_t>(i)] = pool.try_run(1, [](int) {}) || other.try_run(2, [](int) {});
  }));
  REQUIRE(nested == std::vector<int>{0, 0, 0});
  REQUIRE_FALSE(cpu::detail::inside_pool_job());

  // A second caller finds the pool busy while a worker holds the first job.
  std::promise<void> started, second_tried;
  std::future<void> second_done = second_tried.get_future();
  bool second_result = true;
  std::thread second([&] {
    started.get_future().wait();
    second_result = pool.try_run(1, [](int) {});
    second_tried.set_value();
  });
  REQUIRE(pool.try_run(2, [&](int i) {
    if (i == 1) {
      started.set_value();
      second_done.wait();
    }
  }));
  second.join();
  REQUIRE_FALSE(second_result);

  // An exception in a worker's part reaches the caller; the pool keeps working.
  REQUIRE_THROWS_WITH(pool.try_run(3, [](int i) {
    if (i == 2) throw std::runtime_error("part 2 failed");
  }),
                      "part 2 failed");
  std::atomic<int> count{0};
  REQUIRE(pool.try_run(3, [&](int) { ++count; }));
  REQUIRE(count == 3);
}

TEST_CASE("thread settings of the backend", "[cpu][threads]") {
  REQUIRE(CpuBackend<>().threads().count == 1);
  REQUIRE(cpu::Threads::hardware().count >= 1);
  REQUIRE(CpuBackend<>(cpu::Threads{3}).threads().count == 3);
  REQUIRE(CpuBackend<>(cpu::ArchId::generic, cpu::Threads{2}).arch() == cpu::ArchId::generic);
  REQUIRE(CpuBackend<cpu::generic>(cpu::Threads{2}).threads().count == 2);
  REQUIRE_THROWS_AS(CpuBackend<>(cpu::Threads{0}), Error);
  if (!cpu::can_run(cpu::ArchId::avx512_vnni))
    REQUIRE_THROWS_AS(CpuBackend<>(cpu::ArchId::avx512_vnni, cpu::Threads{2}), Error);
  // Copies share the pool and work alike.
  const CpuBackend<> a(cpu::Threads{3, 0});
  const CpuBackend<> b = a;
  const auto w = random_dynamic(rng, 30, 40);
  const auto x = random_activations<std::int8_t>(rng, 40, 3, {0.1f, -5, 8});
  REQUIRE(a.gemm(w, x.view(), OutputPipeline<>{}) == b.gemm(w, x.view(), OutputPipeline<>{}));
}

TEST_CASE("the threads share out the tiles, and small or nested calls stay on the caller", "[cpu][threads]") {
  const auto m = random_static<AllFixed8>(rng, 40, 64);  // one group, 10 tiles, rows in order
  const cpu::PackedWeights w(m, cpu::WeightLayout::rows);
  for (std::size_t i = 0; i < w.groups()[0].rows; ++i) REQUIRE(w.groups()[0].original_rows[i] == static_cast<int>(i));
  const auto x = random_activations<std::uint8_t>(rng, 64, 2, {0.1f, 3, 8});
  cpu::detail::ThreadPool pool(4);
  const auto me = std::this_thread::get_id();
  auto threads_of = [](const std::vector<std::thread::id>& ids) { return std::set<std::thread::id>(ids.begin(), ids.end()); };

  // Units of one tile (plan_units: 4 threads, 5120 multiply-adds): each tile's 4 rows on one
  // thread. With every row taking 5 ms, the call lasts long enough for the workers to wake
  // and take units: which ones, and how many, depends on timing.
  auto split = threads_per_row(w, x, &pool, 0, std::chrono::milliseconds(5));
  REQUIRE(threads_of(split).size() >= 2);
  REQUIRE(threads_of(split).size() <= 4);
  for (std::size_t r = 0; r < 40; ++r) REQUIRE(split[r] == split[r / 4 * 4]);

  // 40 * 64 * 2 = 5120 multiply-adds: one thread per 2000 allows 2 threads, per 6000 only 1.
  REQUIRE(threads_of(threads_per_row(w, x, &pool, 2000, std::chrono::milliseconds(5))).size() <= 2);
  REQUIRE(threads_of(threads_per_row(w, x, &pool, 6000)) == std::set<std::thread::id>{me});

  // Fewer tiles than threads: at most one thread per tile.
  const cpu::PackedWeights short_w(random_static<AllFixed8>(rng, 6, 64), cpu::WeightLayout::rows);  // 2 tiles
  REQUIRE(threads_of(threads_per_row(short_w, x, &pool, 0, std::chrono::milliseconds(5))).size() <= 2);

  // A gemm started inside a pool job runs on that job's thread alone (even with another pool).
  cpu::detail::ThreadPool inner(4);
  std::vector<std::vector<std::thread::id>> nested(2);
  std::vector<std::thread::id> outer(2);
  REQUIRE(pool.try_run(2, [&](int i) {
    outer[static_cast<std::size_t>(i)] = std::this_thread::get_id();
    nested[static_cast<std::size_t>(i)] = threads_per_row(w, x, &inner, 0);
  }));
  for (std::size_t i = 0; i < 2; ++i)
    REQUIRE(std::set<std::thread::id>(nested[i].begin(), nested[i].end()) == std::set<std::thread::id>{outer[i]});
}

TEST_CASE("results are bit-identical for 1, 2, 3, 4 and 7 threads", "[cpu][threads]") {
  std::size_t n_index = 0;
  constexpr int Ns[] = {1, 2, 3, 5};
  for (cpu::ArchId arch : cpu::runnable_archs())
    for (int M : {0, 1, 3, 4, 5, 9, 13, 27, 64, 101})
      for (int K : {1, 17, 64, 130}) {
        const int N = Ns[n_index++ % std::size(Ns)];
        CAPTURE(cpu::arch_name(arch), M, K, N);
        check_all_pipelines(arch, random_dynamic(rng, M, K), random_activations<std::uint8_t>(rng, K, N, {0.02f, uniform(rng, 0, 255), 8}));
        check_all_pipelines(arch, random_static<Mix60_35_5>(rng, M, K),
                            random_activations<std::int8_t>(rng, K, N, {0.02f, uniform(rng, -128, 127), 8}));
        check_all_pipelines(arch, random_static<AllFixed8>(rng, M, K),
                            random_activations<std::uint8_t>(rng, K, N, {0.1f, uniform(rng, 0, 15), 4}));
      }
  // No activation columns.
  expect_identical(cpu::best_available_arch(), random_dynamic(rng, 20, 8),
                   random_activations<std::uint8_t>(rng, 8, 0, {0.1f, 7, 8}), OutputPipeline<>{});
}

namespace {

struct HostCase {
  MixedRowMatrix<> w;
  Activations<std::int8_t> x;
  Eigen::MatrixXi expected;
};

std::vector<HostCase> host_cases(int count) {
  std::vector<HostCase> cases;
  for (int i = 0; i < count; ++i) {
    auto w = random_dynamic(rng, uniform(rng, 1, 80), uniform(rng, 1, 150));
    auto x = random_activations<std::int8_t>(rng, w.cols(), uniform(rng, 1, 4), {0.05f, uniform(rng, -128, 127), 8});
    Eigen::MatrixXi expected = reference::gemm(w, x.view(), OutputPipeline<>{});
    cases.push_back({std::move(w), std::move(x), std::move(expected)});
  }
  return cases;
}

}  // namespace

TEST_CASE("concurrent calls from 4 host threads on one backend", "[cpu][threads]") {
  const auto cases = host_cases(24);  // built on this thread: the generator is not shared
  const CpuBackend<> shared(cpu::Threads{3, 0});
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> host;
  for (std::size_t h = 0; h < 4; ++h)
    host.emplace_back([&, h] {
      for (int round = 0; round < 5; ++round)
        for (const HostCase& c : cases)
          wrong[h] += shared.gemm(c.w, c.x.view(), OutputPipeline<>{}) != c.expected;
    });
  for (std::thread& t : host) t.join();
  REQUIRE(wrong == std::vector<int>(4, 0));
}

TEST_CASE("backends with threads inside a parallel host loop", "[cpu][threads]") {
  const auto cases = host_cases(16);
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> host;
  for (std::size_t h = 0; h < 4; ++h)
    host.emplace_back([&, h] {
      const CpuBackend<> own(cpu::Threads{2, 0});  // each host thread with its own pool
      for (std::size_t i = h; i < cases.size(); i += 4) {  // the host's own static partition
        const HostCase& c = cases[i];
        const auto prepared = own.prepare(c.w);
        wrong[h] += own.gemm(prepared, c.x.view(), OutputPipeline<>{}) != c.expected;
        wrong[h] += own.gemm(c.w, c.x.view(), OutputPipeline<>{}) != c.expected;
      }
    });
  for (std::thread& t : host) t.join();
  REQUIRE(wrong == std::vector<int>(4, 0));
}
