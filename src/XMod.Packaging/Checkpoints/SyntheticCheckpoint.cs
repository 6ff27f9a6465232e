using XMod.Packaging.SafeTensors;

namespace XMod.Packaging.Checkpoints;

/// <summary>
/// A model directory with the exact layout a config implies and made-up weights (small random
/// floats, or zeros), for tests and benchmarks that exercise packaging, the hub and the runtime
/// without training anything.
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Writes config.json, trunk.safetensors and modules/{lang}.safetensors; returns <paramref name="dir"/>.</summary>
    /// <param name="zeroTrunk">Zeros for the trunk (cheap for base-sized trunks, and compressible).</param>
    public static string Write(string dir, XModConfig config, int seed, bool zeroTrunk = false)
    {
        Directory.CreateDirectory(Path.Combine(dir, ModelFiles.ModulesDir));
        config.Save(Path.Combine(dir, ModelFiles.Config));
        var rng = new Random(seed);
        TensorEntry Entry(ParameterSpec s, bool zeros) => new(s.Name, SafeTensorsDType.F32, s.Shape, stream =>
        {
            var count = s.Shape.Aggregate(1L, (a, b) => a * b);
            var buffer = new byte[Math.Min(count, 1 << 16) * 4];
            for (long done = 0; done < count;)
            {
                var n = (int)Math.Min(count - done, buffer.Length / 4);
                if (!zeros)
                {
                    for (var i = 0; i < n; i++)
                    {
                        BitConverter.TryWriteBytes(buffer.AsSpan(i * 4), (rng.NextSingle() - 0.5f) * 0.2f);
                    }
                }
                stream.Write(buffer, 0, n * 4);
                done += n;
            }
        });
        SafeTensorsWriter.Write(Path.Combine(dir, ModelFiles.Trunk), XModLayout.Trunk(config).Select(s => Entry(s, zeroTrunk)).ToList());
        foreach (var key in config.ModuleKeys)
        {
            SafeTensorsWriter.Write(ModelFiles.Module(dir, key), XModLayout.Module(config, key).Select(s => Entry(s, zeros: false)).ToList());
        }
        return dir;
    }
}
