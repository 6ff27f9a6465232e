using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;
using XMod;
using XMod.Runtime;
using XModHub.Cli.Commands.AddLanguage;
using XModHub.Cli.Commands.Corpus;
using XModHub.Cli.Commands.Doctor;
using XModHub.Cli.Commands.Encode;
using XModHub.Cli.Commands.Evaluate;
using XModHub.Cli.Commands.FillMask;
using XModHub.Cli.Commands.FineTune;
using XModHub.Cli.Commands.HuggingFace;
using XModHub.Cli.Commands.Packages;
using XModHub.Cli.Commands.Pretrain;
using XModHub.Cli.Commands.Quickstart;
using XModHub.Cli.Commands.Serve;

namespace XModHub.Cli;

/// <summary>
/// Builds the verb tree and runs it. User errors (<see cref="XModException"/>) print as one red
/// line with exit code 1; anything else too, with the stack trace only under --verbose.
/// </summary>
public static class CliApp
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show stack traces and diagnostic detail on errors",
        Recursive = true,
    };

    public static RootCommand Build(IReporter reporter)
    {
        var root = new RootCommand("xmod-hub: modular multilingual language models (X-MOD) with a language-module hub");
        root.Options.Add(Verbose);
        root.Subcommands.Add(DoctorDefinition.Create(reporter));
        root.Subcommands.Add(CorpusDefinition.Create(reporter));
        root.Subcommands.Add(PretrainDefinition.Create(reporter));
        root.Subcommands.Add(EvaluateDefinition.Create(reporter));
        root.Subcommands.Add(FillMaskDefinition.Create(reporter));
        root.Subcommands.Add(EncodeDefinition.Create(reporter));
        root.Subcommands.Add(HuggingFaceDefinition.CreateImport(reporter));
        root.Subcommands.Add(HuggingFaceDefinition.CreateExport(reporter));
        root.Subcommands.Add(AddLanguageDefinition.Create(reporter));
        root.Subcommands.Add(ServeDefinition.Create(reporter));
        root.Subcommands.Add(QuickstartDefinition.Create(reporter));
        foreach (var c in new[] { Commands.Keys.KeysDefinition.Create(reporter), Commands.Owners.OwnersDefinition.Create(reporter) }.Concat(Commands.Unlist.UnlistDefinition.Create(reporter)))
        {
            root.Subcommands.Add(c);
        }
        foreach (var c in PackagesDefinition.Create(reporter))
        {
            root.Subcommands.Add(c);
        }
        foreach (var c in FineTuneDefinition.Create(reporter))
        {
            root.Subcommands.Add(c);
        }
        return root;
    }

    public static int Run(string[] args, IReporter reporter)
    {
        var root = Build(reporter);
        var parsed = root.Parse(args);
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var userError = e as XModException ?? e.InnerException as XModException;
            reporter.Error(userError?.Message ?? $"{e.GetType().Name}: {e.Message}");
            if (parsed.GetValue(Verbose))
            {
                reporter.Info(e.ToString());
            }
            else if (userError is null)
            {
                reporter.Info("(this is a bug in xmod-hub; run again with --verbose for the stack trace)");
            }
            return 1;
        }
    }
}
