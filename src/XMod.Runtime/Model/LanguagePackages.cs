using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Tokenization;

namespace XMod.Runtime.Model;

/// <summary>Loads a language module directory (see <c>LanguageExtender</c>) into a model built on its trunk.</summary>
public static class LanguagePackages
{
    public const string ModuleFile = ModelFiles.LanguageModule;

    /// <summary>
    /// Checks the directory (manifest, every file's sha256, the trunk it was built for, tensor
    /// names and shapes) and adds its language to <paramref name="model"/>, replacing a loaded
    /// version of it in one step: module, own embeddings and own tokenizer (the model owns them
    /// from then on, and frees what they replace once no forward uses it). Returns the language.
    /// </summary>
    /// <param name="map">Memory-map the weights (only for directories never rewritten in place, as the package cache).</param>
    public static string LoadInto(XModModel model, string trunkSha256, string dir, bool map = false)
    {
        var manifest = PackageManifest.Load(dir);
        if (manifest.Kind != PackageKind.Language || manifest.Language is null)
        {
            throw new XModException($"{dir} is a {manifest.Kind.ToString().ToLowerInvariant()} package, not a language module");
        }
        manifest.Verify(dir);
        if (manifest.Trunk is null || !string.Equals(manifest.Trunk.Sha256, trunkSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new XModException($"{manifest.Id} was built for trunk {manifest.Trunk?.Id} (weights sha256 {Short(manifest.Trunk?.Sha256)}), " +
                $"not for this model's trunk (sha256 {Short(trunkSha256)}): install the {manifest.Id} built for this trunk");
        }
        var code = manifest.Language.Code;
        var tensors = ModelStore.LoadWeights(Path.Combine(dir, ModuleFile), map && Environment.GetEnvironmentVariable("XMOD_MMAP") != "0");
        XModTokenizer? tokenizer = null;
        try
        {
            var config = model.Config;
            var moduleTensors = tensors.Where(kv => XModLayout.ModuleKeyOf(kv.Key) is not null).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            var embeddingTensors = tensors.Where(kv => XModLayout.ModuleKeyOf(kv.Key) is null).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            if (moduleTensors.Count > 0)
            {
                if (config.SharedModule)
                {
                    throw new XModException($"{dir} holds X-MOD modules, but this trunk is a SHARED baseline");
                }
                XModModel.CheckExactly(XModLayout.Module(config, code), moduleTensors, $"{dir}/{ModuleFile}");
            }
            else if (!config.SharedModule)
            {
                throw new XModException($"{dir} has no modules for {code}; an X-MOD trunk needs them");
            }
            LanguageEmbeddings? embeddings = null;
            if (embeddingTensors.Count > 0)
            {
                var vocab = embeddingTensors.TryGetValue(XModLayout.WordEmbeddings, out var w) ? w.Size(0) : 0;
                XModModel.CheckExactly(XModLayout.LanguageEmbeddings(config, vocab), embeddingTensors, $"{dir}/{ModuleFile}");
                embeddings = new LanguageEmbeddings(code, embeddingTensors[XModLayout.WordEmbeddings],
                    embeddingTensors[XModLayout.PositionEmbeddings], embeddingTensors[XModLayout.LmBias]);
            }
            var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
            tokenizer = Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null;
            if ((tokenizer is null) != (embeddings is null) || (tokenizer is not null && tokenizer.VocabSize != embeddings!.VocabSize))
            {
                throw new XModException($"{dir}: its tokenizer and its embeddings do not match");
            }
            LanguageModule? module = null;
            if (moduleTensors.Count > 0)
            {
                foreach (var t in moduleTensors.Values)
                {
                    t.AsParameter(requiresGrad: false);
                }
                module = new LanguageModule(code, moduleTensors, config.NumLayers);
            }
            model.SetLanguage(code, module, embeddings, tokenizer);
            return code;
        }
        catch
        {
            // Nothing was handed to the model: a call that throws takes nothing.
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
            tokenizer?.Dispose();
            throw;
        }
    }

    private static string Short(string? sha) => sha is { Length: > 12 } ? sha[..12] + "…" : sha ?? "unknown";
}
