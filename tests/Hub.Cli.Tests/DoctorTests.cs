using System.Text.Json;
using XMod.Tensors.Diagnostics;
using XModHub.Cli.Commands.Doctor;
using XModHub.Client;

namespace Hub.Cli.Tests;

public sealed class DoctorTests
{
    [Fact]
    public void ReportsTheRuntimeThatIsActuallyLoaded()
    {
        var reporter = new BufferReporter();
        var rc = new DoctorCommand(reporter).Run(json: false);
        var text = reporter.ToString();
        Assert.Equal(0, rc);
        Assert.Contains("libtorch         1.13", text);
        Assert.Contains("CPU build", text);
        Assert.Matches(@"BLAS\s+(OpenBLAS|MKL|reference BLAS) \(/", text);
        Assert.Matches(@"threads\s+\d+ intra-op", text);
        Assert.Matches(@"SentencePiece\s+\d+\.\d+\.\d+", text);
        Assert.Contains("libxmod_native.so", text);
    }

    [Fact]
    public void ProblemsMakeItFailWithOneLineEach()
    {
        var reporter = new BufferReporter();
        var report = new SystemReport { NativeLibrary = "/x/libxmod_native.so", Problems = ["libtorch missing: do A", "SentencePiece missing: do B"] };
        var rc = new DoctorCommand(reporter, () => report).Run(json: false);
        Assert.Equal(1, rc);
        Assert.Equal(["error: libtorch missing: do A", "error: SentencePiece missing: do B"], reporter.Lines.Where(l => l.StartsWith("error:")));
    }

    [Fact]
    public void RealProcessPrintsJson()
    {
        var r = CliProcess.Run(null, "doctor", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.StdOut);
        Assert.StartsWith("1.13", doc.RootElement.GetProperty("TorchVersion").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("Problems").GetArrayLength());
    }

    [Fact]
    public void UnloadableNativeLibraryGivesOneActionableLineAndNoStackTrace()
    {
        var dir = Directory.CreateTempSubdirectory("xmod-broken-native-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "libxmod_native.so"), "not an ELF file");
            var r = CliProcess.Run(new Dictionary<string, string> { ["XMOD_NATIVE_DIR"] = dir }, "doctor");
            Assert.Equal(1, r.ExitCode);
            var errors = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(errors);
            Assert.StartsWith("error: cannot load " + dir, errors[0]);
            Assert.Contains("install libtorch", errors[0]);
            Assert.DoesNotContain("   at ", r.StdOut + r.StdErr);

            var missing = CliProcess.Run(new Dictionary<string, string> { ["XMOD_NATIVE_DIR"] = Path.Combine(dir, "none") }, "doctor");
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("is missing: build the solution", missing.StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void UnknownVerbIsAUsageErrorNotACrash()
    {
        var r = CliProcess.Run(null, "frobnicate");
        Assert.NotEqual(0, r.ExitCode);
        Assert.DoesNotContain("   at ", r.StdOut + r.StdErr);
    }
}
