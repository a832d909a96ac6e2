// Downstream-consumer test (see tests/consumer/run.cmake): a program that only knows rmsmp
// through its installed package quantizes a small layer, runs the reference kernel, and checks
// the result against a plain integer loop, so a broken install fails here, not just to compile.
// Then every CPU kernel this machine runs (1 and 2 threads, outer- and inner-product tiles)
// must give the reference's bits: compiled by another compiler (consumer.clang), this runs the
// target regions and kernels as that compiler builds them.
#include <rmsmp/rmsmp.hpp>

#include <cstdio>
#include <cstdint>
#include <string>

int main() {
  using namespace rmsmp;
  const int rows = 20, cols = 9;
  Eigen::MatrixXf w(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < cols; ++k) w(r, k) = static_cast<float>((r * 7 + k * 3) % 11 - 5) * 0.01f;
  const MixedRowMatrix<Mix60_35_5> m(w, assign_in_order<Mix60_35_5>(rows));

  Activations<std::uint8_t> x{Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>(cols, 2), {0.1f, 3, 8}};
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < cols; ++k) x.values(k, n) = static_cast<std::uint8_t>(k * 20 + n);
  const Eigen::MatrixXi y = reference::gemm(m, x.view(), OutputPipeline<>{});

  for (int r = 0; r < rows; ++r)
    for (int n = 0; n < 2; ++n) {
      int expected = 0;
      for (int k = 0; k < cols; ++k) expected += m.level(r, k) * (x.values(k, n) - 3);
      if (y(r, n) != expected) {
        std::printf("consumer: output (%d, %d) is %d, expected %d\n", r, n, y(r, n), expected);
        return 1;
      }
    }

  // K = 9 with 5 columns takes the outer-product tiles where a kernel has them, K = 300 the
  // inner-product ones.
  for (const int depth : {9, 300}) {
    Eigen::MatrixXf wd(rows, depth);
    for (int r = 0; r < rows; ++r)
      for (int k = 0; k < depth; ++k) wd(r, k) = static_cast<float>((r * 5 + k * 7) % 13 - 6) * 0.01f;
    const MixedRowMatrix<Mix60_35_5> md(wd, assign_in_order<Mix60_35_5>(rows));
    Activations<std::int8_t> xd{Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>(depth, 5), {0.1f, -7, 8}};
    for (int n = 0; n < 5; ++n)
      for (int k = 0; k < depth; ++k) xd.values(k, n) = static_cast<std::int8_t>((k * 37 + n * 11) % 256 - 128);
    const Eigen::MatrixXi expected = reference::gemm(md, xd.view(), OutputPipeline<>{});
    for (const cpu::ArchId arch : cpu::runnable_archs())
      for (const int threads : {1, 2}) {
        const CpuBackend<> backend(arch, cpu::Threads{threads, 0});
        if (backend.gemm(md, xd.view(), OutputPipeline<>{}) != expected) {
          std::printf("consumer: the %s kernel (threads: %d) differs from the reference (K = %d)\n",
                      std::string(cpu::arch_name(arch)).c_str(), threads, depth);
          return 1;
        }
      }
  }

  std::printf("consumer ok: rmsmp %s, %.2f bits/weight\n", version_string, m.bits_per_weight());
  return 0;
}
