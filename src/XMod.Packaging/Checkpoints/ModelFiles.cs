namespace XMod.Packaging.Checkpoints;

/// <summary>File names of a model directory (the runtime's ModelStore reads and writes them).</summary>
public static class ModelFiles
{
    public const string Config = "config.json";
    public const string Trunk = "trunk.safetensors";
    public const string ModulesDir = "modules";
    public const string TokenizerDir = "tokenizer";
    public const string LanguageModule = "module.safetensors";

    public static string Module(string modelDir, string key) => Path.Combine(modelDir, ModulesDir, key + ".safetensors");
}
