using System.Reflection;
using System.Runtime.InteropServices;

namespace XMod.Tensors.Interop;

/// <summary>
/// Finds the native shims (libxmod_native.so over libtorch, libxmod_spm.so over SentencePiece)
/// and turns a load failure (usually a missing libtorch) into one actionable sentence instead of
/// a DllNotFoundException stack.
/// </summary>
internal static partial class NativeLibraryLoader
{
    internal const string LibraryName = "xmod_native";
    internal const string SpmLibraryName = "xmod_spm";
    internal const int ExpectedAbiVersion = 3;
    internal const int ExpectedSpmAbiVersion = 1;
    private static int s_registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
        }
    }

    /// <summary>The file the runtime loads (or would load) the libtorch shim from.</summary>
    public static string LibraryPath => PathOf(LibraryName);

    /// <summary>
    /// Where a shim lives: XMOD_NATIVE_DIR when set, else next to this assembly. Each shim is
    /// loaded on its own (RTLD_LOCAL), which keeps their protobuf copies apart.
    /// </summary>
    public static string PathOf(string name)
    {
        var file = $"lib{name}.so";
        var overrideDir = Environment.GetEnvironmentVariable("XMOD_NATIVE_DIR");
        if (!string.IsNullOrEmpty(overrideDir))
        {
            return Path.Combine(overrideDir, file);
        }
        var nextToAssembly = Path.Combine(
            Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location) ?? AppContext.BaseDirectory, file);
        return File.Exists(nextToAssembly) ? nextToAssembly : Path.Combine(AppContext.BaseDirectory, file);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName && name != SpmLibraryName)
        {
            return IntPtr.Zero;
        }
        var path = PathOf(name);
        if (name == LibraryName)
        {
            ApplyOpenMpDefaults();
        }
        if (!File.Exists(path))
        {
            throw new XModNativeException(
                $"native library {path} is missing: build the solution (dotnet build) or set XMOD_NATIVE_DIR to the folder holding it");
        }
        IntPtr handle;
        try
        {
            handle = NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new XModNativeException(
                $"cannot load {path}: {FirstLine(e.Message)}; install libtorch and SentencePiece (scripts/install-deps) or set LIBTORCH_DIR and rebuild");
        }
        var abiSymbol = name == LibraryName ? "xmod_abi_version" : "xmod_spm_abi_version";
        if (NativeLibrary.TryGetExport(handle, abiSymbol, out var abiExport))
        {
            unsafe
            {
                var abi = ((delegate* unmanaged<int>)abiExport)();
                var expected = name == LibraryName ? ExpectedAbiVersion : ExpectedSpmAbiVersion;
                if (abi != expected)
                {
                    throw new XModNativeException(
                        $"{path} speaks ABI {abi}, this runtime needs {expected}: rebuild the solution (dotnet build)");
                }
            }
        }
        if (name == LibraryName)
        {
            ApplyThreadDefault(handle);
        }
        return handle;
    }

    /// <summary>
    /// Debian's libtorch starts with one intra-op thread whatever the machine has; the runtime
    /// uses XMOD_THREADS, else OMP_NUM_THREADS, else every core.
    /// </summary>
    private static unsafe void ApplyThreadDefault(IntPtr handle)
    {
        var threads = DefaultThreads();
        if (NativeLibrary.TryGetExport(handle, "xmod_set_num_threads", out var setThreads))
        {
            ((delegate* unmanaged<int, int>)setThreads)(threads);
        }
    }

    /// <summary>
    /// libtorch's OpenMP team spin-waits after every parallel region while OpenBLAS's own worker
    /// threads wait for the next product: on a machine with few cores the two pools starve each
    /// other, and a forward of many small operators ran at half speed (bench/run pretrain). A
    /// passive wait policy removes the contention. It must be in the native environment before
    /// libgomp loads with libtorch; a policy the user set is kept.
    /// </summary>
    private static void ApplyOpenMpDefaults()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null && Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null)
        {
            _ = setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        }
        // libtorch's c10d logs every failed rendezvous attempt through glog on stderr, ahead of the
        // one-line error the shim reports for the same failure; glog reads this as it loads.
        _ = setenv("GLOG_minloglevel", "3", 0);
    }

    /// <summary>The OpenMP wait policy libtorch runs with (as the native environment has it).</summary>
    internal static string OpenMpWaitPolicy =>
        Marshal.PtrToStringUTF8(getenv("OMP_WAIT_POLICY")) ?? (Marshal.PtrToStringUTF8(getenv("GOMP_SPINCOUNT")) is { } spin ? $"GOMP_SPINCOUNT={spin}" : "ACTIVE (libgomp default)");

    // .NET's Environment.SetEnvironmentVariable does not reach native getenv on Linux.
    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getenv(string name);

    internal static int DefaultThreads()
    {
        foreach (var variable in new[] { "XMOD_THREADS", "OMP_NUM_THREADS" })
        {
            if (int.TryParse(Environment.GetEnvironmentVariable(variable), out var n) && n > 0)
            {
                return n;
            }
        }
        return Environment.ProcessorCount;
    }

    private static string FirstLine(string message)
    {
        var cut = message.IndexOfAny(['\r', '\n']);
        return (cut < 0 ? message : message[..cut]).Trim();
    }
}
