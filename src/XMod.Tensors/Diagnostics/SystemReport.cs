using System.Text.RegularExpressions;
using XMod.Tensors.Interop;

namespace XMod.Tensors.Diagnostics;

/// <summary>What the runtime found on this machine, for `xmod-hub doctor`.</summary>
public sealed record SystemReport
{
    public required string NativeLibrary { get; init; }
    public string? TorchVersion { get; init; }
    public string? ComputeBuild { get; init; }
    public int CudaDevices { get; init; }
    public string? Blas { get; init; }
    public int Threads { get; init; }
    public string? OpenMpWaitPolicy { get; init; }
    public string? ParallelBackend { get; init; }
    public string? SentencePieceVersion { get; init; }
    public bool BFloat16 { get; init; }

    /// <summary>Things that stop the runtime from working, one actionable line each.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Things that work but slowly or partly.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public static SystemReport Collect()
    {
        var lib = NativeLibraryLoader.LibraryPath;
        try
        {
            var config = Torch.BuildConfig;
            var cuda = Torch.CudaDeviceCount;
            var cudaBuild = config.Contains("CUDA Runtime", StringComparison.Ordinal) || config.Contains("USE_CUDA=ON", StringComparison.Ordinal) || cuda > 0;
            var blas = LoadedBlas();
            var warnings = new List<string>();
            if (blas is null || blas.Contains("/blas/libblas", StringComparison.Ordinal))
            {
                warnings.Add("libtorch is using the reference BLAS (about 10x slower matrix products): apt-get install libopenblas0-pthread");
            }
            var parallel = Torch.ParallelInfo;
            var backend = Regex.Match(parallel, @"ATen parallel backend: (.+)").Groups[1].Value.Trim();
            return new SystemReport
            {
                NativeLibrary = lib,
                TorchVersion = Torch.Version,
                ComputeBuild = cudaBuild ? (cuda > 0 ? $"CUDA ({cuda} device{(cuda == 1 ? "" : "s")})" : "CUDA (no device visible)") : "CPU",
                CudaDevices = cuda,
                Blas = blas ?? "unknown",
                Threads = Torch.Threads,
                OpenMpWaitPolicy = NativeLibraryLoader.OpenMpWaitPolicy,
                ParallelBackend = backend.Length > 0 ? backend : null,
                SentencePieceVersion = SpmError.String(SpmNativeMethods.xmod_spm_version()),
                BFloat16 = SupportsBFloat16(),
                Warnings = warnings,
            };
        }
        catch (XModException e)
        {
            return new SystemReport { NativeLibrary = lib, Problems = [e.Message] };
        }
    }

    /// <summary>The BLAS library actually mapped into this process (Debian switches it with alternatives).</summary>
    private static string? LoadedBlas()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var i = line.IndexOf('/', StringComparison.Ordinal);
                if (i < 0)
                {
                    continue;
                }
                var path = line[i..];
                if (Regex.IsMatch(path, @"/(lib(open)?blas[^/]*|libmkl_rt[^/]*)\.so"))
                {
                    var real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
                    return real.Contains("openblas", StringComparison.Ordinal) ? $"OpenBLAS ({real})"
                        : real.Contains("mkl", StringComparison.Ordinal) ? $"MKL ({real})"
                        : $"reference BLAS ({real})";
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private static bool SupportsBFloat16()
    {
        try
        {
            using var scope = DisposeScope.Begin();
            var a = Torch.Ones([2, 2]).To(DType.BFloat16);
            return Math.Abs(a.Matmul(a).Sum().Item() - 8) < 1e-6;
        }
        catch (TorchException)
        {
            return false;
        }
    }
}
