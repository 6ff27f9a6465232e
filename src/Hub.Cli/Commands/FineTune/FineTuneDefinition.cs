using System.CommandLine;
using XMod.Training.FineTuning;

namespace XModHub.Cli.Commands.FineTune;

/// <summary>`xmod-hub finetune`: a task head and the shared encoder, fine-tuned in one language (data formats: <see cref="TaskDataFile"/>).</summary>
public static class FineTuneDefinition
{
    public static readonly Option<string> Trunk = new("--trunk") { Description = "The trunk: an installed id (xmod-base), a model directory or a pre-training run", Required = true };
    public static readonly Option<string?> TrunkId = new("--trunk-id") { Description = "The id the trunk is published under (default: the installed trunk's id, that of an installed trunk with the same weights, else the run's name)" };
    public static readonly Option<string> Task = new("--task") { Description = TaskDataFile.Kinds, DefaultValueFactory = _ => "sequence-classification" };
    public static readonly Option<string> Train = new("--train") { Description = "Training data: TSV 'label TAB text', TSV 'tags TAB words', or JSON lines {question, context, answer}", Required = true };
    public static readonly Option<string> Lang = new("--lang") { Description = "Language of the data", Required = true };
    public static readonly Option<string> Out = new("--out") { Description = "Task model directory to write", Required = true };
    public static readonly Option<string?> Labels = new("--labels") { Description = "Label names in order (default: sorted from the data)" };
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 3 };
    public static readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate (paper: 1e-4 to 5e-4)", DefaultValueFactory = _ => 1e-4 };
    public static readonly Option<int> Batch = new("--batch") { Description = "Examples per batch", DefaultValueFactory = _ => 16 };
    public static readonly Option<int> MaxLength = new("--max-length") { Description = "Tokens per example at most", DefaultValueFactory = _ => 128 };
    public static readonly Option<string> Name = new("--name") { Description = "Task name (package id task-<name>)", DefaultValueFactory = _ => "task" };
    public static readonly Option<bool> Force = new("--force") { Description = "Replace an existing --out directory" };
    public static readonly Option<int> NProc = new("--nproc") { Description = "Data-parallel ranks to start on this machine (--batch is per rank); machines join with torchrun's MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK", DefaultValueFactory = _ => 1 };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("finetune", "Fine-tune the shared encoder and a task head in one language (embeddings and language modules stay frozen)")
        {
            Trunk, TrunkId, Task, Train, Lang, Out, Labels, Epochs, Lr, Batch, MaxLength, Name, Force, NProc,
        };
        command.Action = CliAction.For<FineTuneCommand>(services, (c, p, cancel) => p.GetValue(NProc) != 1
            ? c.Launch(p.GetValue(NProc), cancel)
            : c.Run(p.GetValue(Trunk)!, p.GetValue(Task)!, p.GetValue(Train)!, p.GetValue(Labels), p.GetValue(Out)!, Options(p), cancel, p.GetValue(Force), p.GetValue(TrunkId)), CliAction.SavingStopGrace);
        return command;
    }

    /// <summary>The training options; Kind and Labels come from the data, filled in by the command.</summary>
    private static FineTuneOptions Options(ParseResult p) => new()
    {
        Kind = default, Labels = [], Language = p.GetValue(Lang)!, Epochs = p.GetValue(Epochs), LearningRate = p.GetValue(Lr),
        BatchSize = p.GetValue(Batch), MaxLength = p.GetValue(MaxLength), Name = p.GetValue(Name)!,
    };
}
