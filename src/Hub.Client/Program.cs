using XModHub.Client.Cli;

return CliApp.Run(args, new ConsoleReporter());
