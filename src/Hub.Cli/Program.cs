using XModHub.Cli.Workflows;
using XMod.Training.Corpora;
using XMod.Runtime.Model;
using XMod.Runtime.Tasks;
using XModHub.Client.Packages;
using XModHub.Client;
using XModHub.Cli;

return CliApp.Run(args, new ConsoleReporter());
