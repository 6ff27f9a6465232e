using System.Globalization;
using System.Runtime.InteropServices;
using XMod;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XMod.Training.AddLanguage;
using XMod.Training.Corpora;
using XMod.Training.Distributed;
using XMod.Training.FineTuning;
using XMod.Training.Loop;
using XMod.Training.Pretraining;

/// <summary>
/// The worker's other modes (each rank writes OUT/losses.RANK from rank 0's progress, one loss per step):
/// <code>
/// add-language TRUNK TEXT STEPS BATCH OUT VOCAB_FROM|-   adds yo_NG; rank 0 writes OUT/package
/// finetune TRUNK TRAIN_TSV EPOCHS BATCH OUT              sequence classification in en_XX; rank 0 writes OUT/task
/// interrupt CORPUS RUN STEPS BATCH OUT                   pre-trains until SIGINT; writes OUT/started (rank 0, after
///                                                        step 1) and OUT/stopped.RANK (the step it stopped after); exits 130
/// </code>
/// Dropout is off where the trunk's config says so (the tests give a copy with it at 0) and in the task head.
/// </summary>
internal static class Modes
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        try
        {
            // Long enough for rank 0 to train a vocabulary on a busy machine while the others wait; a
            // rank that fails is ended by the launcher at once, so this bounds only a true hang.
            using var parallel = DataParallel.FromEnvironment(TimeSpan.FromMinutes(10));
            var rank = parallel?.Rank ?? 0;
            return args[0] switch
            {
                "add-language" => AddLanguage(args, parallel, rank),
                "finetune" => FineTune(args, parallel, rank),
                _ => Interrupt(args, parallel, rank),
            };
        }
        catch (XModException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    private static int AddLanguage(string[] args, DataParallel? parallel, int rank)
    {
        var (trunk, textFile, outDir) = (args[1], args[2], args[5]);
        var losses = new List<string>();
        var options = new AddLanguageOptions
        {
            Language = "yo",
            Steps = int.Parse(args[3], s_inv),
            BatchSize = int.Parse(args[4], s_inv),
            SequenceLength = 32,
            LearningRate = 3e-3,
            LogEvery = 1,
            HeldOutPercent = 5,
            VocabularyFrom = args[6] == "-" ? null : args[6],
            TrunkId = "nano",
        };
        LanguageExtender.Run(trunk, File.ReadAllLines(textFile), textFile, Path.Combine(outDir, "package"), options, _ => { },
            p => losses.Add(p.Loss.ToString("R", s_inv)), parallel: parallel);
        File.WriteAllLines(Path.Combine(outDir, $"losses.{rank}"), losses);
        return 0;
    }

    private static int FineTune(string[] args, DataParallel? parallel, int rank)
    {
        var (trunk, trainFile, outDir) = (args[1], args[2], args[5]);
        var (examples, labels) = TaskDataFile.Read(trainFile, TaskKind.SequenceClassification, null);
        var options = new FineTuneOptions
        {
            Kind = TaskKind.SequenceClassification,
            Labels = labels,
            Language = "en_XX",
            Epochs = int.Parse(args[3], s_inv),
            BatchSize = int.Parse(args[4], s_inv),
            MaxLength = 32,
            LearningRate = 1e-3,
            Dropout = 0,
            LogEvery = 1,
        };
        var losses = new List<string>();
        using var loaded = LoadedModel.Open(trunk);
        using var task = FineTuner.Train(loaded, examples, options, _ => { }, p => losses.Add(p.Loss.ToString("R", s_inv)), parallel: parallel);
        if (rank == 0)
        {
            FineTuner.Save(task, options, Path.Combine(outDir, "task"));
        }
        File.WriteAllLines(Path.Combine(outDir, $"losses.{rank}"), losses);
        return 0;
    }

    /// <summary>The nano pre-training every mode of this worker runs (start, resume, interrupt).</summary>
    public static PretrainOptions NanoPretraining(int steps, int batch) => new()
    {
        Preset = "nano",
        Languages = ["en_XX", "de_DE", "fr_XX"],
        Steps = steps,
        BatchSize = batch,
        SequenceLength = 32,
        PeakLearningRate = 3e-3,
        WarmupSteps = 2,
        VocabSize = 1000,
        VocabSampleBytes = 200_000,
        SaveEvery = 1000,
    };

    private static int Interrupt(string[] args, DataParallel? parallel, int rank)
    {
        var (corpusDir, runDir, outDir) = (args[1], args[2], args[5]);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        var options = NanoPretraining(int.Parse(args[3], s_inv), int.Parse(args[4], s_inv)) with { LogEvery = 1 };
        using var trainer = Pretrainer.Start(Corpus.Open(corpusDir), runDir, options, _ => { }, parallel: parallel);
        try
        {
            trainer.Run(stop.Token, p =>
            {
                if (p.Step == 1)
                {
                    File.WriteAllText(Path.Combine(outDir, "started"), "1");
                }
            });
        }
        catch (OperationCanceledException)
        {
            File.WriteAllText(Path.Combine(outDir, $"stopped.{rank}"), trainer.Step.ToString(s_inv));
            return LocalLauncher.CancelledExitCode;
        }
        return 0;
    }
}
