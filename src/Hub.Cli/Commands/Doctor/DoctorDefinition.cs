using System.CommandLine;

namespace XModHub.Cli.Commands.Doctor;

/// <summary>`xmod-hub doctor`: what the runtime found, and what is missing.</summary>
public static class DoctorDefinition
{
    public static readonly Option<bool> Json = new("--json") { Description = "Print the report as JSON" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("doctor", "Check libtorch, BLAS, threads, SentencePiece and the native library") { Json };
        command.Action = CliAction.For<DoctorCommand>(services, (c, p, _) => c.Run(p.GetValue(Json)));
        return command;
    }
}
