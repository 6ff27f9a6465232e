// Measures libtorch from C++ directly, as the reference the C# binding is compared with.
//   torch_baseline tiny N            ns per call of at::add on two one-element tensors
//   torch_baseline tiny-boxed N      the same through the boxed dispatcher (the binding's path)
//   torch_baseline matmul N SIZE     GFLOP/s of SIZE x SIZE float32 matmul
// Threads: XMOD_THREADS (as the runtime), else every core. Prints one number.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

using clk = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: torch_baseline tiny|tiny-boxed|matmul N [SIZE]\n");
    return 2;
  }
  const char* env = std::getenv("XMOD_THREADS");
  int threads = env ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(threads > 0 ? threads : 1);
  std::string mode = argv[1];
  long n = std::atol(argv[2]);

  if (mode == "tiny" || mode == "tiny-boxed") {
    auto a = at::ones({1});
    auto b = at::ones({1});
    auto op = c10::Dispatcher::singleton().findSchemaOrThrow("aten::add", "Tensor");
    auto once = [&]() {
      if (mode == "tiny") {
        auto c = at::add(a, b);
      } else {
        torch::jit::Stack stack{a, b, c10::IValue(1.0)};
        op.callBoxed(stack);
      }
    };
    for (long i = 0; i < n / 10; i++) once();  // warm-up
    auto t0 = clk::now();
    for (long i = 0; i < n; i++) once();
    double ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count() / n;
    std::printf("%.1f\n", ns);
  } else if (mode == "matmul") {
    long size = argc > 3 ? std::atol(argv[3]) : 1024;
    auto a = at::rand({size, size});
    auto b = at::rand({size, size});
    for (int i = 0; i < 3; i++) auto c = at::matmul(a, b);  // warm-up
    auto t0 = clk::now();
    for (long i = 0; i < n; i++) auto c = at::matmul(a, b);
    double s = std::chrono::duration<double>(clk::now() - t0).count();
    std::printf("%.2f\n", 2.0 * size * size * size * n / s / 1e9);
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
