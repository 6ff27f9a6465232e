using XModHub.Cli;

return await CliApp.RunAsync(args, new ConsoleReporter());
