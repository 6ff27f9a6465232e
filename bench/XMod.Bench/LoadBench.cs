using System.Diagnostics;
using System.Globalization;
using XMod.Packaging.Checkpoints;
using XMod.Runtime.Model;
using XMod.Tensors;

namespace XMod.Bench;

/// <summary>
/// Issue 11 (load only what is used): on a base-shaped model with random weights (12 x 768,
/// vocabulary 250,002, 81 languages; 852.7M parameters), in fresh processes: the time to open the
/// trunk, the time to hot-load one base-sized language, and the peak RSS of a process that encodes
/// one language; before (every weight read, every module loaded: ModelLoadOptions.Default) and
/// after (memory-mapped, modules on first use: ModelLoadOptions.Inference), alternated in one run.
/// </summary>
internal static class LoadBench
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static int Run(string work, int rounds, bool keep)
    {
        var model = Path.Combine(work, "xmod-base-shaped");
        if (!File.Exists(Path.Combine(model, ModelStore.ConfigFile)))
        {
            // xmod-base's own 81 language codes (config.json), every one in the catalogue: the model publishes as is.
            var languages = XmodBase.Languages.ToList();
            var config = XModConfig.Preset("base") with { Languages = languages, VocabSize = 250002 };
            Console.Error.WriteLine($"load: writing a base-shaped model with random weights to {model} (once)");
            var sw = Stopwatch.StartNew();
            SyntheticCheckpoint.Write(model + ".tmp", config, seed: 1);
            Directory.Move(model + ".tmp", model);
            Console.Error.WriteLine($"load: written in {sw.Elapsed.TotalSeconds:F0} s");
        }
        try
        {
            var cfg = XModConfig.Load(Path.Combine(model, ModelStore.ConfigFile));
            var trunkBytes = new FileInfo(Path.Combine(model, ModelStore.TrunkFile)).Length;
            var moduleBytes = new FileInfo(ModelStore.ModuleFile(model, "de_DE")).Length;
            var parameters = XModLayout.Count(XModLayout.Trunk(cfg)) + cfg.Languages.Count * XModLayout.Count(XModLayout.Module(cfg, "de_DE"));
            // Warm the page cache once so that both modes read from memory, not from the disk.
            foreach (var f in Directory.GetFiles(model, "*.safetensors", SearchOption.AllDirectories))
            {
                using var s = File.OpenRead(f);
                s.CopyTo(Stream.Null);
            }
            var results = new Dictionary<string, List<Child>> { ["read"] = [], ["mmap"] = [] };
            for (var r = 0; r < rounds; r++)
            {
                foreach (var mode in new[] { "read", "mmap" })
                {
                    var c = RunChild(mode, model);
                    results[mode].Add(c);
                    Console.Error.WriteLine($"round {r + 1} {mode}: open {c.OpenS:F2} s, hot-load {c.HotLoadMs:F1} ms, encode {c.EncodeMs:F0} ms, peak RSS {c.PeakRssMb:F0} MB, modules {c.Modules}");
                }
            }
            Child Med(string mode) => new(
                Measure.Median(results[mode].Select(c => c.OpenS)), Measure.Median(results[mode].Select(c => c.HotLoadMs)),
                Measure.Median(results[mode].Select(c => c.EncodeMs)), Measure.Median(results[mode].Select(c => c.PeakRssMb)), results[mode][0].Modules);
            var before = Med("read");
            var after = Med("mmap");
            var budget = (trunkBytes + moduleBytes) / 1e6 + 300;
            Console.WriteLine($"machine: {Measure.Machine()}");
            Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            Console.WriteLine(string.Create(s_inv, $"model: base-shaped, random weights: {cfg.NumLayers} x {cfg.HiddenSize}, vocabulary {cfg.VocabSize:N0}, {cfg.Languages.Count} languages, {parameters / 1e6:F1}M parameters; trunk.safetensors {trunkBytes / 1e6:F0} MB, one module {moduleBytes / 1e6:F1} MB; files in the page cache; medians of {rounds} fresh processes per mode, alternated"));
            Console.WriteLine();
            Console.WriteLine("| | before: read everything, load all 81 modules | after: mmap + modules on first use | after / before | target |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(string.Create(s_inv, $"| open the model (before: trunk + 81 modules; after: the trunk) | {before.OpenS:F2} s | {after.OpenS:F3} s | {after.OpenS / before.OpenS:F3} | < 2 s |"));
            Console.WriteLine(string.Create(s_inv, $"| hot-load one base-sized language ({moduleBytes / 1e6:F1} MB) | {before.HotLoadMs:F1} ms | {after.HotLoadMs:F1} ms | {after.HotLoadMs / before.HotLoadMs:F2} | < 50 ms |"));
            Console.WriteLine(string.Create(s_inv, $"| first encode in German (32 tokens; after: loads de_DE) | {before.EncodeMs:F0} ms | {after.EncodeMs:F0} ms | {after.EncodeMs / before.EncodeMs:F2} | |"));
            Console.WriteLine(string.Create(s_inv, $"| modules loaded after encoding German | {before.Modules} | {after.Modules} | | 1 |"));
            Console.WriteLine(string.Create(s_inv, $"| peak RSS of the process (VmHWM) | {before.PeakRssMb:F0} MB | {after.PeakRssMb:F0} MB | {after.PeakRssMb / before.PeakRssMb:F2} | < {budget:F0} MB (trunk + one module + 300 MB) |"));
            return 0;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(model, recursive: true);
            }
        }
    }

    private sealed record Child(double OpenS, double HotLoadMs, double EncodeMs, double PeakRssMb, int Modules);

    private static Child RunChild(string mode, string model)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in Environment.GetCommandLineArgs().Take(1).Where(a => a.EndsWith(".dll", StringComparison.Ordinal)))
        {
            psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add("load-child");
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add(model);
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"load-child {mode} exited with {p.ExitCode}: {text}");
        }
        var v = text.Trim().Split(' ').Select(x => double.Parse(x, s_inv)).ToArray();
        return new Child(v[0], v[1], v[2], v[3], (int)v[4]);
    }

    /// <summary>One fresh process: open, encode German, hot-load French; prints the numbers on one line.</summary>
    public static int ChildMain(string mode, string model)
    {
        var options = mode == "read" ? ModelLoadOptions.Default : ModelLoadOptions.Inference;
        Torch.ManualSeed(1); // loads libtorch before the clock starts
        var sw = Stopwatch.StartNew();
        using var loaded = LoadedModel.Open(model, options: options);
        var open = sw.Elapsed.TotalSeconds;
        var ids = Enumerable.Range(0, 32).Select(i => i == 0 ? 0L : i == 31 ? 2L : 1000L + i * 7919 % 200000).ToArray();
        sw.Restart();
        loaded.Model.LastHiddenState(ids, "de_DE");
        var encode = sw.Elapsed.TotalMilliseconds;
        var modules = loaded.Model.LoadedModuleCount;
        var peak = PeakRssMb(); // before the hot-load: the process that encodes one language
        var config = loaded.Model.Config;
        var file = ModelStore.ModuleFile(loaded.Directory, "fr_XX");
        // Hot-loading one language: the module read from its file and swapped in (before), or
        // mapped and swapped in on first use (after).
        sw.Restart();
        if (mode == "read")
        {
            loaded.Model.SetModule(ModelStore.LoadModule(file, config, "fr_XX"));
        }
        else
        {
            loaded.Model.EnsureLoaded(["fr_XX"]);
        }
        var hot = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine(string.Create(s_inv, $"{open} {hot} {encode} {peak} {modules}"));
        return 0;
    }

    private static double PeakRssMb()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], s_inv) / 1024;
    }
}
