// Unit tests for rmsmp/quantize/hessian.hpp: the streaming accumulator against X X^T / S
// computed directly in double.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "rmsmp/error.hpp"
#include "rmsmp/quantize/hessian.hpp"

namespace {

Eigen::MatrixXd direct_hessian(const Eigen::MatrixXf& x) {
  const Eigen::MatrixXd xd = x.cast<double>();
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(x.rows(), x.rows());
  for (Eigen::Index n = 0; n < x.cols(); ++n) h += xd.col(n) * xd.col(n).transpose();
  return h / static_cast<double>(x.cols());
}

}  // namespace

TEST_CASE("LayerHessian equals X X^T over S for one batch and for many batches") {
  Eigen::MatrixXf x = Eigen::MatrixXf::Random(13, 2500);
  x.row(3) *= 40.0f;  // inputs of very different magnitudes
  x.row(7).setZero();  // an input that is always zero
  const Eigen::MatrixXd want = direct_hessian(x);

  rmsmp::LayerHessian one(13);
  one.add_samples(x);  // 2500 columns: three internal chunks
  CHECK(one.samples() == 2500);
  CHECK(one.depth() == 13);
  const Eigen::MatrixXd got = one.matrix();
  CHECK((got - want).cwiseAbs().maxCoeff() <= 1e-6 * want.cwiseAbs().maxCoeff());
  CHECK((got - got.transpose()).cwiseAbs().maxCoeff() == 0.0);
  CHECK(got.row(7).cwiseAbs().maxCoeff() == 0.0);

  rmsmp::LayerHessian streamed(13);
  for (Eigen::Index first = 0; first < x.cols(); first += 333)
    streamed.add_samples(x.middleCols(first, std::min<Eigen::Index>(333, x.cols() - first)));
  CHECK(streamed.samples() == 2500);
  CHECK((streamed.matrix() - want).cwiseAbs().maxCoeff() <= 1e-6 * want.cwiseAbs().maxCoeff());
}

TEST_CASE("LayerHessian's diagonal is the double sum of squares and does not depend on the batches") {
  Eigen::MatrixXf x = Eigen::MatrixXf::Random(9, 1500);
  x.row(2) *= 1e6f;
  const Eigen::VectorXd want = x.cast<double>().rowwise().squaredNorm() / 1500.0;
  rmsmp::LayerHessian one(9), streamed(9);
  one.add_samples(x);
  for (Eigen::Index first = 0; first < x.cols(); first += 250) streamed.add_samples(x.middleCols(first, 250));
  CHECK((one.diagonal() - want).cwiseAbs().maxCoeff() <= 1e-14 * want.maxCoeff());
  CHECK(one.diagonal() == streamed.diagonal());  // bit for bit
  CHECK((one.diagonal() - one.matrix().diagonal()).cwiseAbs().maxCoeff() <= 1e-6 * want.maxCoeff());
  CHECK_THROWS_WITH(rmsmp::LayerHessian(3).diagonal(), Catch::Contains("no calibration samples"));
}

TEST_CASE("LayerHessian refuses bad input") {
  CHECK_THROWS_AS(rmsmp::LayerHessian(0), rmsmp::Error);
  rmsmp::LayerHessian h(4);
  CHECK_THROWS_WITH(h.matrix(), Catch::Contains("no calibration samples"));
  CHECK_THROWS_WITH(h.add_samples(Eigen::MatrixXf::Ones(5, 3)), Catch::Contains("5 rows") && Catch::Contains("K is 4"));
  Eigen::MatrixXf bad = Eigen::MatrixXf::Ones(4, 3);
  bad(2, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(h.add_samples(bad), Catch::Contains("sample 1"));
  CHECK(h.samples() == 0);
}
