using System.Diagnostics;
using System.Text.Json;
using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Runtime.Tests;

/// <summary>
/// The C# model against an independent PyTorch transcription of Hugging Face's modeling_xmod
/// (bench/pytorch/xmod_reference.py, Debian's python3-torch) on the same weights.
/// </summary>
[Collection(Serial.Name)]
public sealed class ReferenceParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-parity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "XModHub.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (XModHub.sln)");
    }

    [Theory]
    [InlineData("post-norm", false, false)]
    [InlineData("pre-norm", true, false)]
    [InlineData("shared", false, true)]
    public void MatchesThePyTorchReferenceOnAMixedPaddedBatch(string name, bool preNorm, bool shared)
    {
        using var model = XModModel.Initialize(ModelTests.Nano(shared, preNorm), 21);
        var dir = Path.Combine(_dir, name);
        ModelStore.Save(model, null, dir);

        long[][] ids = [[0, 17, 42, 99, 5, 2], [0, 8, 8, 2, 1, 1], [0, 63, 7, 31, 77, 2], [0, 12, 2, 1, 1, 1]];
        long[][] mask = ids.Select(r => r.Select(x => x == 1 ? 0L : 1L).ToArray()).ToArray();
        string[] langs = ["de_DE", "de_DE", "fr_XX", "en_XX"]; // HF routes runs of consecutive languages
        var request = Path.Combine(_dir, name + ".json");
        File.WriteAllText(request, JsonSerializer.Serialize(new { ids, languages = langs, attention_mask = mask }));
        var reference = RunReference(dir, request);

        using var scope = DisposeScope.Begin();
        var ours = model.Encode(Tensor.From(ids.SelectMany(r => r).ToArray(), 4, 6), Tensor.From(mask.SelectMany(r => r).ToArray(), 4, 6), langs).ToArray<float>();
        double maxDiff = 0;
        for (var b = 0; b < 4; b++)
        {
            for (var t = 0; t < 6; t++)
            {
                if (mask[b][t] == 0)
                {
                    continue; // padded positions are unspecified (fairseq zeroes them, HF does not)
                }
                for (var h = 0; h < 32; h++)
                {
                    maxDiff = Math.Max(maxDiff, Math.Abs(ours[(b * 6 + t) * 32 + h] - reference[b][t][h]));
                }
            }
        }
        Assert.True(maxDiff < 1e-5, $"{name}: max |C# - PyTorch| = {maxDiff:E2}");
    }

    private static float[][][] RunReference(string modelDir, string request)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(RepoRoot(), "bench", "pytorch", "xmod_reference.py"), "encode", modelDir, request })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"the PyTorch reference failed: {stderr.Result}");
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.GetProperty("last_hidden_state").EnumerateArray()
            .Select(b => b.EnumerateArray().Select(t => t.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray()).ToArray();
    }
}
