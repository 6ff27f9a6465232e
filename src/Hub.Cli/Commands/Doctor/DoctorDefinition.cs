using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using System.CommandLine;

namespace XModHub.Cli.Commands.Doctor;

/// <summary>`xmod-hub doctor`: what the runtime found, and what is missing.</summary>
public static class DoctorDefinition
{
    public static readonly Option<bool> Json = new("--json") { Description = "Print the report as JSON" };

    public static Command Create(IReporter reporter)
    {
        var command = new Command("doctor", "Check libtorch, BLAS, threads, SentencePiece and the native library");
        command.Options.Add(Json);
        command.SetAction(parse => new DoctorCommand(reporter).Run(parse.GetValue(Json)));
        return command;
    }
}
