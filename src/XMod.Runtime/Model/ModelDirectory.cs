using XMod.Packaging.Manifests;

namespace XMod.Runtime.Model;

/// <summary>
/// Where a model lives on disk: a model directory (config.json, trunk.safetensors, modules/,
/// tokenizer/) or a training run whose checkpoints/latest names one. Every command taking
/// --model accepts either; the trainer writes runs in this layout.
/// </summary>
public static class ModelDirectory
{
    public const string CheckpointsDir = "checkpoints";
    public const string LatestFile = "latest";

    /// <summary>The name of a run's newest checkpoint, or null when it has none yet.</summary>
    public static string? LatestCheckpoint(string runDir)
    {
        var latest = Path.Combine(runDir, CheckpointsDir, LatestFile);
        return File.Exists(latest) ? File.ReadAllText(latest).Trim() : null;
    }

    /// <summary>The model directory of a run's newest checkpoint, or <paramref name="path"/> itself when it is a model.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, ModelStore.ConfigFile)))
        {
            return path;
        }
        if (LatestCheckpoint(path) is { } name)
        {
            return Path.Combine(path, CheckpointsDir, name);
        }
        throw new XModException($"{path} is neither a model directory (config.json) nor a training run with a checkpoint");
    }

    /// <summary>sha256 of a model's trunk weights: language modules and task models are bound to it.</summary>
    public static string TrunkSha256(string modelDir) => PackageManifest.Sha256Of(Path.Combine(modelDir, ModelStore.TrunkFile));
}
