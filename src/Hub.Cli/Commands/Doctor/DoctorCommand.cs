using System.Text.Json;
using XMod.Tensors.Diagnostics;
using XModHub.Client;

namespace XModHub.Cli.Commands.Doctor;

public sealed class DoctorCommand(IReporter reporter, Func<SystemReport>? collect = null)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public int Run(bool json)
    {
        var report = (collect ?? SystemReport.Collect)();
        if (json)
        {
            reporter.Info(JsonSerializer.Serialize(report, s_json));
            return report.Problems.Count == 0 ? 0 : 1;
        }
        reporter.Info($"native library   {report.NativeLibrary}");
        if (report.TorchVersion is not null)
        {
            reporter.Info($"libtorch         {report.TorchVersion} ({report.ComputeBuild} build)");
            reporter.Info($"BLAS             {report.Blas}");
            reporter.Info($"threads          {report.Threads} intra-op ({report.ParallelBackend ?? "unknown backend"}, wait policy {report.OpenMpWaitPolicy}), {Environment.ProcessorCount} cores");
            reporter.Info($"bfloat16         {(report.BFloat16 ? "supported" : "not supported")}");
            reporter.Info($"SentencePiece    {report.SentencePieceVersion}");
        }
        foreach (var w in report.Warnings)
        {
            reporter.Warn(w);
        }
        foreach (var p in report.Problems)
        {
            reporter.Error(p);
        }
        if (report.Problems.Count == 0)
        {
            reporter.Success("ok: the runtime is ready");
            return 0;
        }
        return 1;
    }
}
