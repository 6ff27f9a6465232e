using System.Globalization;
using XMod.Tensors.Interop;

namespace XMod.Tensors.SentencePiece;

/// <summary>Options of a SentencePiece training run (the subset XModHub uses; Extra passes any other flag).</summary>
public sealed record SentencePieceOptions
{
    /// <summary>Target vocabulary size; SentencePiece fails when the text cannot support it.</summary>
    public int VocabSize { get; init; } = 8000;

    /// <summary>"unigram" (SentencePiece's and XLM-R's default) or "bpe".</summary>
    public string ModelType { get; init; } = "unigram";

    public double CharacterCoverage { get; init; } = 0.9995;

    /// <summary>Sentences sampled from the input (0 = all).</summary>
    public int InputSentenceSize { get; init; }

    /// <summary>Falls back to UTF-8 bytes for unseen characters, so nothing maps to unknown.</summary>
    public bool ByteFallback { get; init; }

    /// <summary>Fixed seed for deterministic sampling and training.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Special ids in fairseq/XLM-R order: &lt;s&gt;=0, &lt;pad&gt;=1, &lt;/s&gt;=2, &lt;unk&gt;=3.</summary>
    public bool FairseqSpecialIds { get; init; } = true;

    public int Threads { get; init; } = Environment.ProcessorCount;

    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
}

public static class SentencePieceTrainer
{
    /// <summary>
    /// Trains a model on one or more plain-text files (one sentence per line) and writes
    /// <paramref name="modelPrefix"/>.model and .vocab.
    /// </summary>
    /// <param name="log">Receives the trainer's own log lines, which are kept off the console; null drops them.</param>
    public static void Train(IReadOnlyList<string> inputFiles, string modelPrefix, SentencePieceOptions options, Action<string>? log = null)
    {
        if (inputFiles.Count == 0)
        {
            throw new XModException("SentencePiece training needs at least one input file");
        }
        foreach (var f in inputFiles)
        {
            if (!File.Exists(f))
            {
                throw new XModException($"SentencePiece input {f} does not exist");
            }
        }
        var inv = CultureInfo.InvariantCulture;
        var flags = new List<string>
        {
            $"--input={string.Join(',', inputFiles)}",
            $"--model_prefix={modelPrefix}",
            $"--vocab_size={options.VocabSize.ToString(inv)}",
            $"--model_type={options.ModelType}",
            $"--character_coverage={options.CharacterCoverage.ToString("R", inv)}",
            $"--num_threads={Math.Max(1, options.Threads).ToString(inv)}",
            $"--byte_fallback={(options.ByteFallback ? "true" : "false")}",
            "--minloglevel=2",
        };
        if (options.InputSentenceSize > 0)
        {
            flags.Add($"--input_sentence_size={options.InputSentenceSize.ToString(inv)}");
            flags.Add("--shuffle_input_sentence=true");
        }
        if (options.FairseqSpecialIds)
        {
            flags.AddRange(["--bos_id=0", "--pad_id=1", "--eos_id=2", "--unk_id=3"]);
        }
        foreach (var (k, v) in options.Extra)
        {
            flags.Add($"--{k}={v}");
        }
        foreach (var f in flags)
        {
            if (f.Contains(' ', StringComparison.Ordinal))
            {
                throw new XModException($"SentencePiece flag '{f}' contains a space, which its flag parser cannot take");
            }
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(modelPrefix));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        // SentencePiece writes its outputs in place; train under a temporary prefix and rename, so
        // a failed or interrupted run never leaves a half-written model where a good one was.
        var temp = $"{modelPrefix}.tmp-{Guid.NewGuid():N}";
        flags[1] = $"--model_prefix={temp}";
        try
        {
            var status = 0;
            foreach (var line in NativeStderr.Capture(() => status = SpmNativeMethods.xmod_spm_train(string.Join(' ', flags), (uint)options.Seed)))
            {
                log?.Invoke("sentencepiece: " + line);
            }
            SpmError.Check(status);
            File.Move(temp + ".vocab", modelPrefix + ".vocab", overwrite: true);
            File.Move(temp + ".model", modelPrefix + ".model", overwrite: true);
        }
        finally
        {
            File.Delete(temp + ".model");
            File.Delete(temp + ".vocab");
        }
    }
}
