using System.Security.Cryptography;
using System.Text;
using XMod.Packaging.Languages;
using XMod.Runtime.Model;
using XMod.Training.Corpora;
using XMod.Training.Pretraining;

namespace XMod.TestSupport;

/// <summary>
/// Nano trunks (X-MOD and the SHARED baseline) pre-trained on a small man-page corpus, plus the
/// Yoruba UDHR: trained once and shared by every test and test project that needs a trained trunk
/// only as a fixture. Test projects run as parallel processes, so the first to ask trains under a
/// cross-process file lock into artifacts/test-cache/nano-{hash}, and the others wait and reuse
/// it. The hash covers the options below and the sources that produce the weights, so a changed
/// trainer retrains; a finished cache is marked complete last, so a killed run is rebuilt.
/// Treat everything here as read-only: copy a run (<see cref="CopyRun"/>) before changing it.
/// </summary>
public sealed class PretrainedNano
{
    /// <summary>Bump to retrain when what is cached changes in a way the source hash cannot see.</summary>
    private const int FormatVersion = 1;

    public static readonly string[] Languages = ["en_XX", "de_DE", "fr_XX"];

    private static readonly CorpusOptions s_corpus = new() { MaxTrainBytes = 120_000, UseUdhr = false, SourceCache = "" };

    /// <summary>The options of the X-MOD trunk (the SHARED one differs only in <see cref="PretrainOptions.Shared"/>).</summary>
    public static readonly PretrainOptions Options = new()
    {
        Preset = "nano", Languages = Languages, Steps = 30, BatchSize = 8, SequenceLength = 32,
        PeakLearningRate = 3e-3, WarmupSteps = 2, VocabSize = 1000, VocabSampleBytes = 200_000, SaveEvery = 1000,
    };

    private static readonly Lazy<PretrainedNano> s_instance = new(Create);

    private PretrainedNano(string root)
    {
        Root = root;
        Corpus = Training.Corpora.Corpus.Open(CorpusDir);
        Yoruba = [.. File.ReadAllLines(Path.Combine(UdhrDir, "yo_NG", "train.txt")), .. File.ReadAllLines(Path.Combine(UdhrDir, "yo_NG", "heldout.txt"))];
    }

    /// <summary>The shared instance, trained by whichever test process asks first.</summary>
    public static PretrainedNano Get() => s_instance.Value;

    public string Root { get; }

    /// <summary>English, German and French man pages (120 kB of training text each).</summary>
    public string CorpusDir => Path.Combine(Root, "corpus");

    public Corpus Corpus { get; }

    /// <summary>A corpus of the Yoruba UDHR (yo_NG), as a community member would bring it.</summary>
    public string UdhrDir => Path.Combine(Root, "udhr");

    /// <summary>Every paragraph of the Yoruba UDHR, train and held-out.</summary>
    public IReadOnlyList<string> Yoruba { get; }

    /// <summary>The run directory of the X-MOD trunk (what <c>--model</c> and <c>--trunk</c> accept).</summary>
    public string XModRun => Path.Combine(Root, "xmod");

    public string SharedRun => Path.Combine(Root, "shared");

    /// <summary>The X-MOD trunk's model directory (its final checkpoint).</summary>
    public string XMod => ModelDirectory.Resolve(XModRun);

    public string Shared => ModelDirectory.Resolve(SharedRun);

    /// <summary>Copies a run (<see cref="XModRun"/> or <see cref="SharedRun"/>) to <paramref name="dest"/>, for tests that write into it.</summary>
    public static string CopyRun(string run, string dest)
    {
        foreach (var file in Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dest, Path.GetRelativePath(run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return dest;
    }

    private static PretrainedNano Create()
    {
        var cacheRoot = Path.Combine(RepoRoot.Path, "artifacts", "test-cache");
        Directory.CreateDirectory(cacheRoot);
        var key = Key();
        var root = Path.Combine(cacheRoot, "nano-" + key);
        var complete = Path.Combine(root, ".complete");
        if (File.Exists(complete))
        {
            return new PretrainedNano(root);
        }
        using (CrossProcessLock.Acquire(Path.Combine(cacheRoot, "nano.lock"), TimeSpan.FromMinutes(20)))
        {
            if (!File.Exists(complete))
            {
                // A half-written cache (a killed run) or caches of older sources: start clean.
                foreach (var old in Directory.GetDirectories(cacheRoot, "nano-*"))
                {
                    TempDir.Delete(old);
                }
                Build(root);
                File.WriteAllText(complete, DateTimeOffset.UtcNow.ToString("O") + "\n");
            }
        }
        return new PretrainedNano(root);
    }

    private static void Build(string root)
    {
        var sources = Path.Combine(root, "sources");
        CorpusBuilder.Build([.. Languages.Select(l => LanguageCatalog.Get(l[..2]))], Path.Combine(root, "corpus"), s_corpus with { SourceCache = sources }, _ => { });
        CorpusBuilder.Build([LanguageCatalog.Get("yo")], Path.Combine(root, "udhr"), new CorpusOptions { UseManPages = false, SourceCache = sources }, _ => { });
        var corpus = Training.Corpora.Corpus.Open(Path.Combine(root, "corpus"));
        foreach (var (name, shared) in new[] { ("xmod", false), ("shared", true) })
        {
            using var trainer = Pretrainer.Start(corpus, Path.Combine(root, name), Options with { Shared = shared }, _ => { });
            trainer.Run(CancellationToken.None);
        }
    }

    /// <summary>A hash of the options and of every source file that shapes the trained weights.</summary>
    private static string Key()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{FormatVersion}\n{s_corpus}\n{Options}\n{string.Join(',', Options.Languages)}\n"));
        var src = Path.Combine(RepoRoot.Path, "src");
        foreach (var project in new[] { "XMod.Tensors", "XMod.Runtime", "XMod.Training", "XMod.Packaging" })
        {
            var files = Directory.EnumerateFiles(Path.Combine(src, project), "*", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Select(f => Path.GetRelativePath(src, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
                hash.AppendData(File.ReadAllBytes(Path.Combine(src, file)));
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}

/// <summary>An exclusive lock held across processes (flock, through FileShare.None), released on dispose.</summary>
public static class CrossProcessLock
{
    public static IDisposable Acquire(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Held by another test process, which is training: wait for it to let go.
                Thread.Sleep(250);
            }
        }
    }
}
