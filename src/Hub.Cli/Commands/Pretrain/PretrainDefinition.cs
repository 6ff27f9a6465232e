using System.CommandLine;
using XMod.Training.Pretraining;

namespace XModHub.Cli.Commands.Pretrain;

/// <summary>`xmod-hub pretrain`: multilingual MLM pre-training of an X-MOD (or SHARED) trunk from scratch.</summary>
public static class PretrainDefinition
{
    public static readonly Option<string> Corpus = new("--corpus") { Description = "Corpus directory (xmod-hub corpus build)", DefaultValueFactory = _ => "data/corpus" };
    public static readonly Option<string> Out = new("--out") { Description = "Run directory (checkpoints, tokenizer, logs)", Required = true };
    public static readonly Option<string> Preset = new("--preset") { Description = "Architecture: nano, mini, base, large-prenorm", DefaultValueFactory = _ => "mini" };
    public static readonly Option<string?> Langs = new("--langs") { Description = "Comma-separated languages (default: every language of the corpus)" };
    public static readonly Option<bool> Shared = new("--shared") { Description = "Train the SHARED baseline (one module for all languages) instead of X-MOD" };
    public static readonly Option<int> Steps = new("--steps") { Description = "Optimisation steps", DefaultValueFactory = _ => 2000 };
    public static readonly Option<int> Batch = new("--batch") { Description = "Examples per batch (one language per batch)", DefaultValueFactory = _ => 16 };
    public static readonly Option<int> Seq = new("--seq") { Description = "Tokens per example", DefaultValueFactory = _ => 128 };
    public static readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate (paper: 7e-4)", DefaultValueFactory = _ => 7e-4 };
    public static readonly Option<int?> Warmup = new("--warmup") { Description = "Warm-up steps (default: 6% of the steps)" };
    public static readonly Option<int> Vocab = new("--vocab") { Description = "Shared SentencePiece vocabulary size", DefaultValueFactory = _ => 16000 };
    public static readonly Option<ulong> Seed = new("--seed") { Description = "Seed: the same seed gives the same run", DefaultValueFactory = _ => 1UL };
    public static readonly Option<bool> BFloat16 = new("--bf16") { Description = "Mixed precision (bfloat16 autocast) where libtorch supports it" };
    public static readonly Option<int> SaveEvery = new("--save-every") { Description = "Checkpoint interval in steps", DefaultValueFactory = _ => 500 };
    public static readonly Option<int> LogEvery = new("--log-every") { Description = "Progress interval in steps", DefaultValueFactory = _ => 10 };
    public static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its newest checkpoint" };
    public static readonly Option<string> Device = new("--device") { Description = "cpu; cuda needs a libxmod_native built against a CUDA libtorch (README, GPU build)", DefaultValueFactory = _ => "cpu" };
    public static readonly Option<int> NProc = new("--nproc") { Description = "Data-parallel ranks to start on this machine (--batch is per rank); machines join with torchrun's MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK", DefaultValueFactory = _ => 1 };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("pretrain", "Pre-train a trunk and its language modules with masked language modelling")
        {
            Corpus, Out, Preset, Langs, Shared, Steps, Batch, Seq, Lr, Warmup, Vocab, Seed, BFloat16, SaveEvery, LogEvery, Resume, NProc, Device,
        };
        command.Action = CliAction.For<PretrainCommand>(services, (c, p, cancel) => PretrainCommand.CheckDevice(p.GetValue(Device)!) && p.GetValue(NProc) != 1
            ? c.Launch(p.GetValue(NProc), cancel)
            : c.Run(p.GetValue(Corpus)!, p.GetValue(Out)!, p.GetValue(Resume), Options(p), Given(p, Steps), Given(p, LogEvery), Given(p, SaveEvery), cancel, Given(p, Batch)),
            CliAction.SavingStopGrace);
        return command;
    }

    private static PretrainOptions Options(ParseResult p) => new()
    {
        Preset = p.GetValue(Preset)!,
        Languages = CommaList.Split(p.GetValue(Langs)),
        Shared = p.GetValue(Shared),
        Steps = p.GetValue(Steps),
        BatchSize = p.GetValue(Batch),
        SequenceLength = p.GetValue(Seq),
        PeakLearningRate = p.GetValue(Lr),
        WarmupSteps = p.GetValue(Warmup),
        VocabSize = p.GetValue(Vocab),
        Seed = p.GetValue(Seed),
        BFloat16 = p.GetValue(BFloat16),
        SaveEvery = p.GetValue(SaveEvery),
        LogEvery = p.GetValue(LogEvery),
    };

    private static int? Given(ParseResult p, Option<int> option) => p.GetResult(option) is { Implicit: false } ? p.GetValue(option) : null;
}
