using System.Globalization;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Packaging.Nupkg;
using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Manifests;

/// <summary>
/// Package directories cut from a model directory: the trunk (config, weights, tokenizer) ships
/// once, and every pre-trained language becomes a language package of its own, bound to the
/// trunk by the weights' sha256.
/// </summary>
public static class ModelPackages
{
    /// <param name="dtype">Store the weights' floats as "bf16" or "f16" (half the download) instead of float32 (null or "f32").</param>
    public static string Trunk(string modelDir, string trunkId, string version, string outDir, IReadOnlyDictionary<string, string>? provenance = null, string? dtype = null)
    {
        PackageIds.Check(trunkId, "trunk id");
        dtype = Precision(dtype);
        var config = XModConfig.Load(Path.Combine(modelDir, ModelFiles.Config));
        Stage(outDir, staging =>
        {
            File.Copy(Path.Combine(modelDir, ModelFiles.Config), Path.Combine(staging, ModelFiles.Config));
            CopyWeights(Path.Combine(modelDir, ModelFiles.Trunk), Path.Combine(staging, ModelFiles.Trunk), dtype);
            CopyDirectory(Path.Combine(modelDir, ModelFiles.TokenizerDir), Path.Combine(staging, ModelFiles.TokenizerDir));
            if (config.SharedModule)
            {
                // The SHARED baseline's one module serves every language: it is part of the trunk.
                Directory.CreateDirectory(Path.Combine(staging, ModelFiles.ModulesDir));
                CopyWeights(ModelFiles.Module(modelDir, XModConfig.SharedModuleName), ModelFiles.Module(staging, XModConfig.SharedModuleName), dtype);
            }
            var languages = string.Join(", ", config.Languages);
            var card = new CardInfo
            {
                DataSources = [provenance?.GetValueOrDefault("corpus") is { } corpus ? $"{corpus} (pre-training corpus: {languages})" : $"the pre-training corpus of {languages}"],
                IntendedUse = "The frozen shared part of an X-MOD model: load its language packages into it, add languages to it (xmod-hub add-language) " +
                    "and fine-tune task models on it that transfer zero-shot to its languages.",
                Limitations = "Its quality in each language is measured in that language's package; a language it was not pre-trained on needs a module trained first.",
            };
            File.WriteAllText(Path.Combine(staging, ModelCard.FileName), ModelCard.Render(new(trunkId,
                $"An X-MOD trunk ({(config.SharedModule ? "SHARED baseline" : "X-MOD")}). Pre-trained languages: {languages}; each is a language package of its own (`lang-xx`). " +
                "Languages added later are trained on this trunk with its weights frozen.",
                [("architecture", $"{config.NumLayers} layers x {config.HiddenSize}, {config.NumHeads} heads, FFN {config.IntermediateSize}, bottleneck {config.BottleneckSize}, " +
                    $"vocabulary {config.VocabSize}, {(config.PreNorm ? "pre" : "post")}-norm")],
                card, new Dictionary<string, double>(), $"`xmod-hub install {trunkId}`, then `xmod-hub install lang-xx` for each language you need.")));
            new PackageManifest
            {
                Kind = PackageKind.Trunk,
                Id = trunkId,
                Version = version,
                Description = $"X-MOD trunk {trunkId}: {config.NumLayers} x {config.HiddenSize}, pre-trained on {config.Languages.Count} language{(config.Languages.Count == 1 ? "" : "s")}",
                Files = PackageManifest.Inventory(staging),
                Provenance = provenance ?? new Dictionary<string, string>(),
                Card = card,
                Schema = PackageManifest.SchemaFor(dtype),
                DType = dtype,
            }.Save(staging);
        });
        return outDir;
    }

    /// <summary>A pre-trained language's module as a language package.</summary>
    /// <param name="dtype">As the trunk's (a half-precision trunk has other weights, so its languages are bound to its sha256).</param>
    /// <param name="trunkSha256">sha256 of the packaged trunk's weights when already known (else computed, converting them if needed).</param>
    public static string Language(string modelDir, string trunkId, string code, string version, string outDir,
        IReadOnlyDictionary<string, double>? metrics = null, IReadOnlyDictionary<string, string>? provenance = null,
        string? dtype = null, string? trunkSha256 = null)
    {
        dtype = Precision(dtype);
        var config = XModConfig.Load(Path.Combine(modelDir, ModelFiles.Config));
        if (!config.Languages.Contains(code))
        {
            throw new PackagingException($"{modelDir} has no language '{code}' (it has {string.Join(", ", config.Languages)})");
        }
        if (config.SharedModule)
        {
            throw new PackagingException("a SHARED trunk's languages share its one module; they are not packaged separately");
        }
        var info = LanguageCatalog.Find(code);
        var description = info is null
            ? new LanguageDescription(code, code.Split('_')[0], code.Split('_')[0], code, code, "Zyyy", "unknown")
            : new LanguageDescription(info.Code, info.Bcp47, info.Iso6393, info.EnglishName, info.Autonym, info.Script, info.Family);
        var trunkSha = trunkSha256 ?? PackagedTrunkSha256(modelDir, dtype);
        Stage(outDir, staging =>
        {
            CopyWeights(ModelFiles.Module(modelDir, code), Path.Combine(staging, ModelFiles.LanguageModule), dtype);
            var measured = metrics ?? new Dictionary<string, double>();
            var card = new CardInfo
            {
                DataSources = [provenance?.GetValueOrDefault("corpus") is { } corpus ? $"{corpus} ({code})" : $"the {description.EnglishName} part of the trunk's pre-training corpus"],
                IntendedUse = $"Encoding {description.EnglishName} text and predicting masked tokens with the trunk `{trunkId}`; the {description.EnglishName} module for task models fine-tuned on it.",
                Limitations = "Trained jointly with the trunk on the pre-training corpus only; works with that trunk alone (checked by sha256).",
                MetricData = measured.Keys.ToDictionary(k => k, k => k.StartsWith("heldout", StringComparison.Ordinal)
                    ? $"the held-out split of the pre-training corpus in {code}, never trained on" : "not stated"),
            };
            File.WriteAllText(Path.Combine(staging, ModelCard.FileName), ModelCard.Render(new(
                $"{description.EnglishName} ({description.Autonym}) for {trunkId}",
                $"The {description.EnglishName} modules pre-trained with the X-MOD trunk `{trunkId}` (weights sha256 `{trunkSha}`).",
                [
                    ("language", $"{description.EnglishName}, {description.Autonym} (`{description.Code}`, BCP-47 `{description.Bcp47}`, ISO 639-3 `{description.Iso6393}`)"),
                    ("script, family", $"{description.Script}, {description.Family}"),
                    ("modules", $"one bottleneck per layer ({config.NumLayers} x {config.HiddenSize} -> {config.BottleneckSize} -> {config.HiddenSize}), using the trunk's vocabulary"),
                    ("held-out MLM perplexity", measured.TryGetValue("heldout_perplexity", out var p) ? p.ToString("F2", CultureInfo.InvariantCulture) : "not measured"),
                ],
                card, measured, $"`xmod-hub install {LanguageCatalog.PackageIdOf(description.Bcp47)} --trunk {trunkId}`")));
            new PackageManifest
            {
                Kind = PackageKind.Language,
                Id = LanguageCatalog.PackageIdOf(description.Bcp47),
                Version = version,
                Description = $"{description.EnglishName} ({description.Autonym}) for the X-MOD trunk {trunkId}",
                Trunk = new TrunkReference(trunkId, "*", trunkSha),
                Language = description,
                Files = PackageManifest.Inventory(staging),
                Provenance = provenance ?? new Dictionary<string, string> { ["origin"] = "pre-trained with the trunk" },
                Metrics = measured,
                Card = card,
                Schema = PackageManifest.SchemaFor(dtype),
                DType = dtype,
            }.Save(staging);
        });
        return outDir;
    }

    /// <summary>null for float32 (the manifest then has no dtype, as before), else the manifest's spelling.</summary>
    private static string? Precision(string? dtype) =>
        dtype is null || WeightPrecision.Parse(dtype) == WeightPrecision.Float32 ? null : WeightPrecision.Parse(dtype);

    private static void CopyWeights(string from, string to, string? dtype)
    {
        if (dtype is null)
        {
            File.Copy(from, to);
        }
        else
        {
            WeightPrecision.Convert(from, to, dtype);
        }
    }

    /// <summary>sha256 of the trunk weights as packaged in <paramref name="dtype"/> (the conversion is deterministic).</summary>
    public static string PackagedTrunkSha256(string modelDir, string? dtype)
    {
        var trunk = Path.Combine(modelDir, ModelFiles.Trunk);
        if (Precision(dtype) is not { } half)
        {
            return PackageManifest.Sha256Of(trunk);
        }
        var temp = Path.Combine(Path.GetTempPath(), $"xmod-trunk-{Guid.NewGuid():N}.safetensors");
        try
        {
            WeightPrecision.Convert(trunk, temp, half);
            return PackageManifest.Sha256Of(temp);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void Stage(string outDir, Action<string> write)
    {
        var full = Path.GetFullPath(outDir);
        var staging = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            write(staging);
            if (Directory.Exists(full))
            {
                Directory.Delete(full, recursive: true);
            }
            Directory.Move(staging, full);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        if (!Directory.Exists(from))
        {
            return;
        }
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }
}
