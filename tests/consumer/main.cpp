// Downstream-consumer smoke test (see tests/consumer/run.cmake).
#include <rmsmp/rmsmp.hpp>

#include <cstdio>

int main() {
  std::puts("consumer ok");
  return 0;
}
