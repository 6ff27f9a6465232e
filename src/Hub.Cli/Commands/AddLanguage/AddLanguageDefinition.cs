using System.CommandLine;
using XMod.Training.AddLanguage;

namespace XModHub.Cli.Commands.AddLanguage;

/// <summary>`xmod-hub add-language lang-yo --corpus FILE --trunk DIR`: a new language on a frozen trunk.</summary>
public static class AddLanguageDefinition
{
    public static readonly Argument<string> Id = new("language") { Description = "The language to add: lang-yo, yo, yor or yo_NG" };
    public static readonly Option<string> CorpusOption = new("--corpus") { Description = "Its text: a file (one paragraph per line) or a corpus directory", Required = true };
    public static readonly Option<string> Trunk = new("--trunk") { Description = "The trunk: an installed id (xmod-base), a model directory or a pre-training run", Required = true };
    public static readonly Option<string?> Out = new("--out") { Description = "Module directory to write (default: modules/lang-<code>)" };
    public static readonly Option<int?> Vocab = new("--vocab") { Description = "Own vocabulary size (default: scaled to the text, 1k to 30k)" };
    public static readonly Option<bool> ReuseVocab = new("--reuse-vocab") { Description = "Use the trunk's vocabulary and embeddings; learn the modules only" };
    public static readonly Option<int> Steps = new("--steps") { Description = "Training steps", DefaultValueFactory = _ => 1000 };
    public static readonly Option<int> Batch = new("--batch") { Description = "Examples per batch", DefaultValueFactory = _ => 16 };
    public static readonly Option<int> Seq = new("--seq") { Description = "Tokens per example", DefaultValueFactory = _ => 128 };
    public static readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate (paper: 1e-4)", DefaultValueFactory = _ => 1e-4 };
    public static readonly Option<ulong> Seed = new("--seed") { Description = "Seed", DefaultValueFactory = _ => 1UL };
    public static readonly Option<bool> BFloat16 = new("--bf16") { Description = "Mixed precision (bfloat16 autocast)" };
    public static readonly Option<string> Version = new("--version") { Description = "Package version (SemVer)", DefaultValueFactory = _ => "1.0.0" };
    public static readonly Option<string?> TrunkId = new("--trunk-id") { Description = "The id the trunk is published under (default: the installed trunk's id, that of an installed trunk with the same weights, else the run's name)" };
    public static readonly Option<string?> Name = new("--name") { Description = "English name of a language the catalogue lacks (with --script and --family)" };
    public static readonly Option<string?> Script = new("--script") { Description = "ISO 15924 script of a language the catalogue lacks (Latn, Cyrl, ...)" };
    public static readonly Option<string?> Family = new("--family") { Description = "Family of a language the catalogue lacks (\"Niger-Congo > Bantu\")" };
    public static readonly Option<bool> Force = new("--force") { Description = "Replace an existing --out directory" };
    public static readonly Option<bool> IncludeEvalSet = new("--include-eval-set") { Description = "Train on the hub's standard evaluation set too (left out by default: the hub's measured numbers would flatter the package)" };
    public static readonly Option<int> NProc = new("--nproc") { Description = "Data-parallel ranks to start on this machine (--batch is per rank); machines join with torchrun's MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK", DefaultValueFactory = _ => 1 };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("add-language", "Add a language to a frozen trunk: its vocabulary, embeddings and modules, trained with MLM")
        {
            Id, CorpusOption, Trunk, Out, Vocab, ReuseVocab, Steps, Batch, Seq, Lr, Seed, BFloat16, Version, TrunkId, Name, Script, Family, Force, IncludeEvalSet, NProc,
        };
        command.Action = CliAction.For<AddLanguageCommand>(services, (c, p, cancel) => p.GetValue(NProc) != 1
            ? c.Launch(p.GetValue(NProc), cancel)
            : c.Run(p.GetValue(Id)!, p.GetValue(CorpusOption)!, p.GetValue(Trunk)!, p.GetValue(Out), Options(p), cancel, p.GetValue(IncludeEvalSet)), CliAction.SavingStopGrace);
        return command;
    }

    private static AddLanguageOptions Options(ParseResult p) => new()
    {
        Language = p.GetValue(Id)!,
        Name = p.GetValue(Name),
        Script = p.GetValue(Script),
        Family = p.GetValue(Family),
        Force = p.GetValue(Force),
        VocabSize = p.GetValue(Vocab),
        ReuseVocabulary = p.GetValue(ReuseVocab),
        Steps = p.GetValue(Steps),
        BatchSize = p.GetValue(Batch),
        SequenceLength = p.GetValue(Seq),
        LearningRate = p.GetValue(Lr),
        Seed = p.GetValue(Seed),
        BFloat16 = p.GetValue(BFloat16),
        Version = p.GetValue(Version)!,
        TrunkId = p.GetValue(TrunkId),
    };
}
