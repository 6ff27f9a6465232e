using XMod.Runtime.Tokenization;
using XMod.Runtime.Training;

namespace XMod.Runtime.Model;

/// <summary>A model with its tokenizer (when it has one), opened from a model directory or a training run.</summary>
public sealed class LoadedModel(XModModel model, XModTokenizer? tokenizer, string directory) : IDisposable
{
    public XModModel Model { get; } = model;

    public XModTokenizer? Tokenizer { get; } = tokenizer;

    public string Directory { get; } = directory;

    public XModTokenizer RequireTokenizer() =>
        Tokenizer ?? throw new XModException($"{Directory} has no tokenizer: pass token ids instead of text");

    public static LoadedModel Open(string path, IReadOnlyCollection<string>? languages = null)
    {
        var dir = Pretrainer.ResolveModelDirectory(path);
        var model = ModelStore.Load(dir, languages);
        var tokDir = Path.Combine(dir, ModelStore.TokenizerDir);
        return new LoadedModel(model, System.IO.Directory.Exists(tokDir) ? XModTokenizer.Load(tokDir) : null, dir);
    }

    public void Dispose()
    {
        Model.Dispose();
        Tokenizer?.Dispose();
    }
}
