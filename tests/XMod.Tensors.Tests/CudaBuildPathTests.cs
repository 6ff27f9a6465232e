using System.Diagnostics;
using XMod.Tensors.Distributed;

namespace XMod.Tensors.Tests;

/// <summary>
/// The CUDA build path, as far as a machine without a GPU or a CUDA libtorch can check it: the
/// native CMake configured against a stand-in LIBTORCH_DIR whose TorchConfig.cmake declares CUDA
/// (torch_cuda) selects NCCL beside Gloo, and one without CUDA does not; the shim built here
/// refuses the NCCL backend with one line. Compiling and running on a GPU is README's "GPU build".
/// </summary>
public sealed class CudaBuildPathTests
{
    [Theory]
    [InlineData(true, "CUDA support: ON; distributed (Gloo): ON; NCCL: ON")]
    [InlineData(false, "CUDA support: OFF; distributed (Gloo): ON; NCCL: OFF")]
    public async Task TheNativeBuildSelectsNcclExactlyForACudaLibtorch(bool cuda, string expected)
    {
        if (!ProcessGroup.IsAvailable)
        {
            return; // no libgloo-dev here: the configure would say Gloo OFF for another reason
        }
        using var dir = new TempDir();
        var libtorch = Path.Combine(dir.Path, "libtorch");
        Directory.CreateDirectory(Path.Combine(libtorch, "share", "cmake", "Torch"));
        Directory.CreateDirectory(Path.Combine(libtorch, "include"));
        // nccl.h as a CUDA libtorch's environment provides it (NCCL_ROOT or the CUDA toolkit).
        File.WriteAllText(Path.Combine(libtorch, "include", "nccl.h"), "");
        // What find_package(Torch) reads from an official libtorch, with the system's libtorch
        // standing in for its files; torch_cuda is the target a CUDA libtorch defines.
        File.WriteAllText(Path.Combine(libtorch, "share", "cmake", "Torch", "TorchConfig.cmake"), $$"""
            find_path(_xmod_aten ATen/ATen.h PATH_SUFFIXES include)
            find_path(_xmod_api torch/torch.h PATH_SUFFIXES include/torch/csrc/api/include torch/csrc/api/include)
            find_library(_xmod_torch_cpu torch_cpu)
            find_library(_xmod_c10 c10)
            set(TORCH_INCLUDE_DIRS ${_xmod_aten} ${_xmod_api})
            set(TORCH_LIBRARIES ${_xmod_torch_cpu} ${_xmod_c10})
            set(TORCH_CXX_FLAGS "")
            set(Torch_FOUND TRUE)
            {{(cuda ? "add_library(torch_cuda INTERFACE IMPORTED)" : "")}}
            """);
        var build = Path.Combine(dir.Path, "build");
        var psi = new ProcessStartInfo("cmake") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-S", Path.Combine(RepoRoot.Path, "src", "XMod.Tensors", "Native"), "-B", build, $"-DLIBTORCH_DIR={libtorch}" })
        {
            psi.ArgumentList.Add(a);
        }
        using var cmake = Process.Start(psi)!;
        var stderr = cmake.StandardError.ReadToEndAsync();
        var output = await cmake.StandardOutput.ReadToEndAsync();
        await cmake.WaitForExitAsync();
        Assert.True(cmake.ExitCode == 0, $"cmake failed: {output}\n{await stderr}");
        Assert.Contains("XMOD: " + expected, output);
    }

    [Fact]
    public void ThisCpuBuildRefusesNcclInOneLine()
    {
        if (!ProcessGroup.IsAvailable || ProcessGroup.IsNcclAvailable)
        {
            return; // only a CPU build with Gloo can show the refusal
        }
        var e = Assert.Throws<DistributedException>(() => ProcessGroup.ConnectTcp("127.0.0.1", 29500, 0, 1, TimeSpan.FromSeconds(5), DistributedBackend.Nccl));
        Assert.StartsWith("the NCCL backend (--device cuda) needs a libxmod_native built against a CUDA libtorch", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
