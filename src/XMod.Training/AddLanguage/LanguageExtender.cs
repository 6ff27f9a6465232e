using System.Globalization;
using XMod.Packaging.Checkpoints;
using XMod.Packaging.Languages;
using XMod.Packaging.Manifests;
using XMod.Packaging.Nupkg;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tokenization;
using XMod.Tensors;
using XMod.Training.Checks;
using XMod.Training.Distributed;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

namespace XMod.Training.AddLanguage;

public sealed partial record AddLanguageOptions
{
    /// <summary>The new language (X-MOD code, BCP-47 or ISO 639-3).</summary>
    public required string Language { get; init; }

    /// <summary>Own vocabulary size; null picks one from the corpus size (the paper used 30k for large corpora).</summary>
    public int? VocabSize { get; init; }

    /// <summary>Use the trunk's vocabulary and embeddings: only the modules are learned.</summary>
    public bool ReuseVocabulary { get; init; }

    /// <summary>
    /// A tokenizer directory to use as the language's own vocabulary instead of training one (its
    /// embeddings are still learned; rows the trunk's vocabulary shares are copied). Studies use it
    /// to keep tokenization identical between a language added later and one pre-trained.
    /// </summary>
    public string? VocabularyFrom { get; init; }

    public int Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 16;
    public int SequenceLength { get; init; } = 128;

    /// <summary>AdamW and the schedule (<see cref="LearningRate"/> is a view onto its peak rate).</summary>
    public OptimizerOptions Optimizer { get; init; } = OptimizerOptions.ForLanguageAddition;

    /// <summary>Peak learning rate (paper: 1e-4 when adding languages).</summary>
    public double LearningRate { get => Optimizer.PeakLearningRate; init => Optimizer = Optimizer with { PeakLearningRate = value }; }

    public ulong Seed { get; init; } = 1;
    public int HeldOutPercent { get; init; } = 5;
    public bool BFloat16 { get; init; }
    public int LogEvery { get; init; } = 20;

    /// <summary>English name of a language the catalogue lacks (with <see cref="Script"/> and <see cref="Family"/>).</summary>
    public string? Name { get; init; }

    /// <summary>ISO 15924 script code (Latn, Cyrl, ...) of a language the catalogue lacks.</summary>
    public string? Script { get; init; }

    /// <summary>Language family of a language the catalogue lacks ("Niger-Congo > Bantu").</summary>
    public string? Family { get; init; }

    /// <summary>Replace an existing output directory (without it, one that holds anything is refused before training).</summary>
    public bool Force { get; init; }

    /// <summary>Checks every value a user can set; the message names the option and the value.</summary>
    public AddLanguageOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Language))
        {
            throw new XModException("no language given to add");
        }
        InputChecks.Version(Version);
        var d = Describe();
        InputChecks.PackageId(PackageId(d), $"language {d.Code}");
        if (VocabSize is { } v)
        {
            OptionCheck.AtLeast(v, 100, "--vocab");
        }
        OptionCheck.AtLeast(Steps, 1, "--steps");
        OptionCheck.AtLeast(BatchSize, 1, "--batch");
        OptionCheck.AtLeast(SequenceLength, 8, "--seq");
        OptionCheck.AtLeast(HeldOutPercent, 0, "held_out_percent");
        OptionCheck.AtMost(HeldOutPercent, 50, "held_out_percent");
        OptionCheck.AtLeast(LogEvery, 1, "log_every");
        Optimizer.Validate(Steps);
        return this;
    }

    /// <summary>Package version written to the manifest.</summary>
    public string Version { get; init; } = "1.0.0";

    /// <summary>Trunk package id written to the manifest (default: the trunk directory's name).</summary>
    public string? TrunkId { get; init; }

    /// <summary>
    /// The language as the package describes it: the catalogue's entry (any form the resolver
    /// takes), or, for a language the catalogue lacks, the code with --name, --script and --family.
    /// </summary>
    public LanguageDescription Describe()
    {
        if (LanguageResolver.TryResolveKnown(Language) is { } info)
        {
            return new LanguageDescription(info.Code, info.Bcp47, info.Iso6393, info.EnglishName, info.Autonym, info.Script, info.Family);
        }
        if (Name is null && Script is null && Family is null)
        {
            LanguageResolver.ResolveKnown(Language); // throws: unknown (or ambiguous), with the way out
        }
        var typed = Language.Trim();
        var code = (typed.StartsWith("lang-", StringComparison.OrdinalIgnoreCase) ? typed[5..] : typed).Replace('-', '_');
        if (!UnknownCode().IsMatch(code))
        {
            throw new XModException($"'{typed}' is not a language code: give an ISO 639 code (yo, yor) optionally with a region (yo_NG)");
        }
        var name = Text(Name, "--name");
        var family = Text(Family, "--family");
        if (Script is null || !ScriptCode().IsMatch(Script))
        {
            throw new XModException($"--script '{Script}' is not an ISO 15924 script code (like Latn, Cyrl, Arab)");
        }
        var primary = code.Split('_')[0].ToLowerInvariant();
        return new LanguageDescription(code, code.Replace('_', '-'), primary.Length == 3 ? primary : "und", name, name, Script, family);

        static string Text(string? value, string option) =>
            string.IsNullOrWhiteSpace(value) || value.Length > 100 || value.Any(char.IsControl)
                ? throw new XModException($"{option} must be given for a language the catalogue lacks (up to 100 printable characters)")
                : value.Trim();
    }

    /// <summary>The id a language package is published under: lang- and the primary subtag (lang-yo).</summary>
    public static string PackageId(LanguageDescription d) => LanguageCatalog.PackageIdOf(d.Bcp47);

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,8})?$")]
    private static partial System.Text.RegularExpressions.Regex UnknownCode();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Z][a-z]{3}$")]
    private static partial System.Text.RegularExpressions.Regex ScriptCode();
}

public sealed record AddLanguageResult(
    string Directory, string Language, long TrainableParameters, long TotalParameters, int CopiedEmbeddingRows, int VocabSize,
    double? HeldOutPerplexity, double SecondsTraining, long PeakRssBytes, long CorpusBytes);

/// <summary>
/// Adds a language to a frozen trunk (paper section 3): a new SentencePiece vocabulary (or the
/// trunk's), embeddings whose rows are copied from the trunk for tokens both vocabularies have
/// (lexical overlap) and random otherwise, and that language's modules, trained with MLM while
/// every trunk tensor stays frozen. The SHARED baseline learns only a new embedding layer
/// (paper 4.1). The result is a language module directory:
/// <code>
/// OUT/xmod.json           manifest: language, trunk (id, sha256), files, provenance, metrics
/// OUT/module.safetensors  the language's modules and/or embeddings (Hugging Face names)
/// OUT/tokenizer/          its own vocabulary, when it has one
/// OUT/README.md           model card
/// </code>
/// </summary>
public static class LanguageExtender
{
    public const string ModuleFile = ModelFiles.LanguageModule;

    /// <summary>Adds a language from unsplit text: <see cref="AddLanguageOptions.HeldOutPercent"/>% of it is held out by hash and not trained on.</summary>
    public static AddLanguageResult Run(string trunkDir, IReadOnlyList<string> corpusLines, string corpusSource, string outDir,
        AddLanguageOptions options, Action<string> log, Action<TrainingProgress>? progress = null, CancellationToken cancel = default,
        TrainingLoopOptions? loop = null, DataParallel? parallel = null) =>
        Run(trunkDir, LanguageText.ByHash(corpusLines, corpusSource, options.Validate().HeldOutPercent), outDir, options, log, progress, cancel, loop, parallel);

    /// <summary>
    /// Adds a language. Every input is checked before any work (options, language, version,
    /// the ids publish will use, the output directory); the held-out perplexity is measured on
    /// <see cref="LanguageText.HeldOut"/> only, and not written when that is empty.
    /// </summary>
    /// <param name="parallel">
    /// This rank's data-parallel group: only the trainable tensors (the new language's embeddings
    /// and modules) take part in the all-reduce, the frozen trunk never does; --batch is per rank.
    /// Rank 0 chooses the vocabulary and the initial weights and sends them to the others, reports
    /// progress, measures the held-out perplexity and writes the package; the others write nothing.
    /// </param>
    public static AddLanguageResult Run(string trunkDir, LanguageText text, string outDir,
        AddLanguageOptions options, Action<string> log, Action<TrainingProgress>? progress = null, CancellationToken cancel = default,
        TrainingLoopOptions? loop = null, DataParallel? parallel = null)
    {
        options.Validate();
        var description = options.Describe();
        var code = description.Code;
        var leader = parallel?.IsLeader ?? true;
        if (!leader)
        {
            log = _ => { };
            progress = null;
        }
        else
        {
            InputChecks.Output(outDir, options.Force);
        }
        var trunkConfig = XModConfig.Load(Path.Combine(trunkDir, ModelStore.ConfigFile));
        if (trunkConfig.Languages.Contains(code))
        {
            throw new XModException($"the trunk already has '{code}'; a language is added once per trunk");
        }
        if (options.SequenceLength > trunkConfig.MaxSequenceLength)
        {
            // Checked here, before the vocabulary is trained and the text tokenised.
            throw new XModException($"--seq {options.SequenceLength} exceeds the trunk's maximum sequence length of {trunkConfig.MaxSequenceLength}: give --seq {trunkConfig.MaxSequenceLength} or less");
        }
        if (trunkConfig.SharedModule && options.ReuseVocabulary)
        {
            throw new XModException("a SHARED trunk extends to a language by learning new embeddings only (paper 4.1): --reuse-vocab leaves nothing to learn");
        }
        var trunkId = InputChecks.PackageId(options.TrunkId ?? DefaultTrunkId(trunkDir), "the trunk (--trunk-id)");
        var packageId = AddLanguageOptions.PackageId(description);
        InputChecks.PackageId(PackageIds.Qualified(trunkId, packageId), $"the module {packageId} for {trunkId}");
        var trunkSha = ModelDirectory.TrunkSha256(trunkDir);

        var train = text.Train;
        var heldOut = text.HeldOut;
        if (train.Count == 0)
        {
            throw new XModException($"the corpus for {code} has no text to train on");
        }
        var corpusBytes = text.Bytes;
        var corpusSource = text.Source;
        log($"adding {code} to {trunkDir}: {train.Count} training and {heldOut.Count} held-out paragraphs ({corpusBytes / 1e6:F2} MB); held out: {text.HeldOutSource}");
        if (heldOut.Count == 0)
        {
            log($"warning: no text of {code} could be held out ({text.HeldOutSource} is empty), so no held-out perplexity will be measured or published; " +
                "give more text, or a corpus directory with a held-out split");
        }

        var work = Directory.CreateTempSubdirectory("xmod-add-language-").FullName;
        try
        {
            // The trunk alone (an installed trunk package has no language modules), frozen throughout.
            using var model = ModelStore.LoadTrunk(trunkDir);
            using var trunkTokenizer = XModTokenizer.Load(Path.Combine(trunkDir, ModelStore.TokenizerDir));
            foreach (var p in model.AllParameters)
            {
                p.RequiresGrad = false;
            }

            XModTokenizer tokenizer;
            LanguageEmbeddings? embeddings = null;
            var copied = 0;
            if (options.ReuseVocabulary)
            {
                tokenizer = XModTokenizer.Load(Path.Combine(trunkDir, ModelStore.TokenizerDir));
            }
            else
            {
                var vocab = options.VocabSize ?? DefaultVocabSize(corpusBytes);
                var sample = Path.Combine(work, "train.txt");
                if (leader)
                {
                    File.WriteAllLines(sample, train);
                    tokenizer = options.VocabularyFrom is { } from
                        ? XModTokenizer.Load(from)
                        : VocabularyBuilder.TrainOne(sample, vocab, Path.Combine(work, "tokenizer"), log);
                }
                else
                {
                    tokenizer = null!; // rank 0's, below
                }
                if (parallel is not null)
                {
                    // Every rank trains with rank 0's vocabulary, sent over the group (no shared file system needed).
                    var shared = Path.Combine(work, "rank0-tokenizer");
                    if (leader)
                    {
                        tokenizer.Save(shared);
                    }
                    parallel.BroadcastDirectory(shared);
                    tokenizer = leader ? tokenizer : XModTokenizer.Load(shared);
                }
                (embeddings, copied) = InitialEmbeddings(model, trunkTokenizer, tokenizer, code, options.Seed);
                log($"vocabulary of {tokenizer.VocabSize} ids: {copied} rows copied from the trunk's embeddings (lexical overlap), {tokenizer.VocabSize - copied} initialised randomly");
            }
            using var _ = tokenizer;

            LanguageModule? module = null;
            Torch.ManualSeed(StableRandom.Mix(options.Seed, 17));
            if (trunkConfig.SharedModule)
            {
                model.AddLanguage(code);
            }
            else
            {
                module = XModModel.NewModule(trunkConfig, code);
                model.SetModule(module, addLanguage: true);
            }
            if (embeddings is not null)
            {
                model.SetLanguageEmbeddings(embeddings);
            }

            var trainable = (module?.Tensors.Values ?? []).Concat(embeddings?.Tensors.Values ?? []).ToList();
            // The ranks start from rank 0's initial module and embeddings (the trunk is the same file on every rank).
            parallel?.BroadcastFromLeader(trainable);
            foreach (var t in trainable)
            {
                t.RequiresGrad = true;
            }
            var totalParameters = model.AllParameters.Sum(p => p.NumEl);
            var trainableCount = trainable.Sum(p => p.NumEl);
            log($"training {trainableCount:N0} of {totalParameters:N0} parameters ({100.0 * trainableCount / totalParameters:F1}%); the trunk is frozen");

            var (seconds, peakRss) = Train(model, tokenizer, code, train, trainable, options, progress, cancel, loop, parallel);
            if (!leader)
            {
                return new AddLanguageResult(outDir, code, trainableCount, totalParameters, copied, tokenizer.VocabSize, null, seconds, peakRss, corpusBytes);
            }
            double? perplexity = heldOut.Count == 0 ? null : HeldOutPerplexity(model, tokenizer, code, heldOut, options);
            if (perplexity is { } ppl)
            {
                log($"held-out perplexity of {code}: {ppl:F2} on {heldOut.Count} paragraphs never trained on");
            }

            // The package directory, written completely before it replaces anything.
            var staging = Path.Combine(work, "package");
            Directory.CreateDirectory(staging);
            var tensors = (module?.Tensors ?? new Dictionary<string, Tensor>()).Concat(embeddings?.Tensors ?? new Dictionary<string, Tensor>())
                .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            ModelStore.WriteTensors(Path.Combine(staging, ModuleFile), tensors, new Dictionary<string, string>
            {
                ["format"] = "xmod-language",
                ["language"] = code,
                ["trunk_sha256"] = trunkSha,
            });
            if (!options.ReuseVocabulary)
            {
                tokenizer.Save(Path.Combine(staging, ModelStore.TokenizerDir));
            }
            var inv = CultureInfo.InvariantCulture;
            var provenance = new Dictionary<string, string>
            {
                ["corpus"] = corpusSource,
                ["corpus_bytes"] = corpusBytes.ToString(inv),
                ["train_paragraphs"] = train.Count.ToString(inv),
                ["heldout_paragraphs"] = heldOut.Count.ToString(inv),
                ["steps"] = options.Steps.ToString(inv),
                ["batch_size"] = options.BatchSize.ToString(inv),
                ["sequence_length"] = options.SequenceLength.ToString(inv),
                ["learning_rate"] = options.LearningRate.ToString("G", inv),
                ["seed"] = options.Seed.ToString(inv),
                ["vocabulary"] = options.ReuseVocabulary ? "trunk" : $"own, {tokenizer.VocabSize} ids, {copied} copied from the trunk",
                ["trainable_parameters"] = trainableCount.ToString(inv),
                ["method"] = trunkConfig.SharedModule ? "SHARED: new embeddings, trunk frozen" : "X-MOD: new modules" + (options.ReuseVocabulary ? "" : " and embeddings") + ", trunk frozen",
                ["created"] = DateTimeOffset.UtcNow.ToString("O", inv),
                ["tool"] = "xmod-hub " + typeof(LanguageExtender).Assembly.GetName().Version,
            };
            provenance["heldout"] = heldOut.Count == 0 ? "none: nothing could be held out" : text.HeldOutSource;
            if (text.EvalSet is { } evalSet)
            {
                provenance["eval_set"] = evalSet;
            }
            var metrics = new Dictionary<string, double>();
            if (perplexity is { } measured)
            {
                metrics["heldout_perplexity"] = measured;
            }
            var card = Card(description, trunkId, provenance, perplexity);
            File.WriteAllText(Path.Combine(staging, Packaging.Manifests.ModelCard.FileName), ModelCard(description, trunkId, trunkSha, provenance, metrics, card));
            new PackageManifest
            {
                Kind = PackageKind.Language,
                Id = packageId,
                Version = options.Version,
                Description = $"{description.EnglishName} ({description.Autonym}) for the X-MOD trunk {trunkId}",
                Trunk = new TrunkReference(trunkId, "*", trunkSha),
                Language = description,
                Files = PackageManifest.Inventory(staging),
                Provenance = provenance,
                Metrics = metrics,
                Card = card,
            }.Save(staging);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outDir))!);
            ModelStore.ReplaceDirectory(staging, Path.GetFullPath(outDir));
            log($"wrote {outDir}");
            return new AddLanguageResult(outDir, code, trainableCount, totalParameters, copied, tokenizer.VocabSize, perplexity, seconds, peakRss, corpusBytes);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// The id a trunk directory is published under: its package manifest's id when it is an
    /// installed trunk package, else the training run's (or model directory's) name.
    /// </summary>
    public static string DefaultTrunkId(string trunkDir)
    {
        var full = Path.GetFullPath(trunkDir).TrimEnd('/');
        if (File.Exists(Path.Combine(full, PackageManifest.FileName)) && PackageManifest.Load(full) is { Kind: PackageKind.Trunk } m)
        {
            return m.Id;
        }
        var parent = Path.GetDirectoryName(full);
        return Path.GetFileName(parent) == "checkpoints" ? Path.GetFileName(Path.GetDirectoryName(parent)!) : Path.GetFileName(full);
    }

    /// <summary>Scales the vocabulary with the text: about 1k ids for a UDHR, up to the paper's 30k.</summary>
    public static int DefaultVocabSize(long corpusBytes) => (int)Math.Clamp(Math.Round(Math.Sqrt(corpusBytes) * 4 / 100) * 100, 1000, 30000);

    /// <summary>
    /// Rows of the new vocabulary's embedding matrix: copied from the trunk where the trunk's
    /// vocabulary has the same piece (and for the special tokens), N(0, 0.02) elsewhere; the
    /// position embeddings and the output bias start from the trunk's.
    /// </summary>
    internal static (LanguageEmbeddings Embeddings, int Copied) InitialEmbeddings(XModModel model, XModTokenizer trunk, XModTokenizer own, string language, ulong seed)
    {
        var config = model.Config;
        var sourceRows = new long[own.VocabSize];
        var copiedMask = new bool[own.VocabSize];
        var copied = 0;
        for (var id = 0; id < own.VocabSize; id++)
        {
            int? source = id switch
            {
                XModTokenizer.Bos or XModTokenizer.Pad or XModTokenizer.Eos or XModTokenizer.Unk => id,
                _ when id == own.MaskId => trunk.MaskId,
                _ => trunk.ModelIdOfPiece(own.PieceOf(id)),
            };
            if (source is { } s)
            {
                sourceRows[id] = s;
                copiedMask[id] = true;
                copied++;
            }
        }
        using var scope = DisposeScope.Begin();
        using var noGrad = Torch.NoGrad();
        Torch.ManualSeed(StableRandom.Mix(seed, StableRandom.Hash(language)));
        var trunkWord = model.Trunk[XModLayout.WordEmbeddings];
        var trunkBias = model.Trunk[XModLayout.LmBias];
        var index = Tensor.From(sourceRows);
        var mask = Tensor.From(copiedMask).Unsqueeze(1);
        var random = Torch.Randn([own.VocabSize, config.HiddenSize]) * config.InitializerRange;
        var word = trunkWord.IndexSelect(0, index).Where(mask, random).Contiguous();
        var bias = trunkBias.IndexSelect(0, index).Where(mask.Squeeze(1), Torch.Zeros([own.VocabSize])).Contiguous();
        var position = model.Trunk[XModLayout.PositionEmbeddings].Clone();
        var embeddings = new LanguageEmbeddings(language, word.DetachFromScope(), position.DetachFromScope(), bias.DetachFromScope());
        return (embeddings, copied);
    }

    private static (double Seconds, long PeakRss) Train(XModModel model, XModTokenizer tokenizer, string language, IReadOnlyList<string> train,
        IReadOnlyList<Tensor> trainable, AddLanguageOptions o, Action<TrainingProgress>? progress, CancellationToken cancel, TrainingLoopOptions? loopOptions,
        DataParallel? parallel)
    {
        var streams = TokenStreams.FromParagraphs(language, train, tokenizer);
        // Every rank draws the whole global batch (WorldSize x --batch) and trains on its own rows.
        var data = new PretrainingData(streams, [language], o.BatchSize * (parallel?.WorldSize ?? 1), o.SequenceLength, 1.0, o.Seed);
        // Matrices are decayed; biases, LayerNorms and other vectors are not.
        using var loop = new TrainingLoop(trainable, trainable.Select(t => t.Dim > 1).ToList(), o.Optimizer,
            (loopOptions ?? new TrainingLoopOptions { TotalSteps = o.Steps }) with
            {
                TotalSteps = o.Steps,
                Seed = o.Seed,
                SeedStream = TrainingLoopOptions.MlmSeedStream,
                LogEvery = o.LogEvery,
                SaveEvery = 0,
                GradientReducer = parallel ?? loopOptions?.GradientReducer,
                IsLeader = parallel?.IsLeader ?? loopOptions?.IsLeader ?? true,
                Rank = parallel?.Rank ?? loopOptions?.Rank ?? 0,
            });
        long peakRss = 0;
        model.Training = true;
        try
        {
            loop.Run(step =>
            {
                var batch = data.Next(step, 0.15, tokenizer.MaskId, XModTokenizer.Unk + 1, id => tokenizer.IsSpecial((int)id));
                var loss = parallel is null
                    ? MlmObjective.Loss(model, batch.InputIds, batch.Labels, batch.BatchSize, batch.Length, language, o.BFloat16)
                    : parallel.MlmLoss(model, batch, o.BatchSize, o.BFloat16);
                return new StepLoss(loss, (long)batch.BatchSize * batch.Length, language);
            }, cancel, p =>
            {
                peakRss = Math.Max(peakRss, Environment.WorkingSet);
                progress?.Invoke(p);
            });
            parallel?.VerifyIdentical(loop);
        }
        finally
        {
            loop.Optimizer.ZeroGrad();
            model.Training = false;
        }
        return (loop.Elapsed.TotalSeconds, Math.Max(peakRss, Environment.WorkingSet));
    }

    private static double HeldOutPerplexity(XModModel model, XModTokenizer tokenizer, string language, IReadOnlyList<string> heldOut, AddLanguageOptions o)
    {
        var streams = TokenStreams.FromParagraphs(language, heldOut, tokenizer);
        return Evaluator.Perplexity(model, tokenizer, streams, [language], o.SequenceLength, bf16: o.BFloat16)[0].Perplexity;
    }

    /// <summary>sha256 of a trunk's weights: what a language module is bound to.</summary>
    /// <summary>What the card states besides the numbers: the corpus, the use, the limits, and the data each metric was measured on.</summary>
    private static CardInfo Card(LanguageDescription l, string trunkId, IReadOnlyDictionary<string, string> p, double? perplexity)
    {
        var megabytes = double.Parse(p["corpus_bytes"], CultureInfo.InvariantCulture) / 1e6;
        return new CardInfo
        {
            DataSources = [$"{p["corpus"]} ({megabytes.ToString("F2", CultureInfo.InvariantCulture)} MB; {p["train_paragraphs"]} training paragraphs)"],
            IntendedUse = $"Encoding {l.EnglishName} text and predicting masked tokens with the trunk `{trunkId}`; serving as the {l.EnglishName} module when a " +
                "task model fine-tuned on this trunk in another language is used zero-shot in this one.",
            Limitations = $"Trained for {p["steps"]} steps on {megabytes.ToString("F2", CultureInfo.InvariantCulture)} MB of text: it knows the vocabulary and register of that corpus only. " +
                "Not evaluated on downstream tasks in this language, nor for bias. It works only with the trunk it was built for (checked by sha256).",
            MetricData = perplexity is null ? new Dictionary<string, string>() : new Dictionary<string, string>
            {
                ["heldout_perplexity"] = $"{p["heldout"]}: {p["heldout_paragraphs"]} paragraphs never trained on, 15% of tokens masked with fixed masks",
            },
        };
    }

    private static string ModelCard(LanguageDescription l, string trunkId, string trunkSha, IReadOnlyDictionary<string, string> p,
        IReadOnlyDictionary<string, double> metrics, CardInfo card) => Packaging.Manifests.ModelCard.Render(new(
        $"{l.EnglishName} ({l.Autonym}) for {trunkId}",
        $"A language module for the X-MOD trunk `{trunkId}` (weights sha256 `{trunkSha}`), added after pre-training with the trunk frozen ({p["method"]}).",
        [
            ("language", $"{l.EnglishName}, {l.Autonym} (`{l.Code}`, BCP-47 `{l.Bcp47}`, ISO 639-3 `{l.Iso6393}`)"),
            ("script, family", $"{l.Script}, {l.Family}"),
            ("vocabulary", p["vocabulary"]),
            ("training", $"{p["steps"]} steps, batch {p["batch_size"]} x {p["sequence_length"]}, peak learning rate {p["learning_rate"]}, seed {p["seed"]}"),
            ("trainable parameters", p["trainable_parameters"]),
            ("held-out MLM perplexity", metrics.TryGetValue("heldout_perplexity", out var ppl)
                ? $"{ppl.ToString("F2", CultureInfo.InvariantCulture)} (15% masking, fixed masks) on {p["heldout"]}, never trained on" : "not measured: no text could be held out"),
            ("created", $"{p["created"]} with {p["tool"]}"),
        ],
        card, metrics,
        $"`xmod-hub install {AddLanguageOptions.PackageId(l)} --trunk {trunkId}`, then load it with the trunk it was built for; a module built for another trunk is refused."));
}
