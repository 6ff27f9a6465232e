using XModHub.Server;

await HubApp.Build(args).RunAsync();
