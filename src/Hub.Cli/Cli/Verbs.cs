// The composition root (CliApp builds the verb tree, CliServices registers each verb's command
// class) names every verb; the verbs' namespaces are imported once here rather than twice there.
global using XModHub.Cli.Commands.AddLanguage;
global using XModHub.Cli.Commands.Cache;
global using XModHub.Cli.Commands.Corpus;
global using XModHub.Cli.Commands.Doctor;
global using XModHub.Cli.Commands.Encode;
global using XModHub.Cli.Commands.Evaluate;
global using XModHub.Cli.Commands.EvaluateTask;
global using XModHub.Cli.Commands.ExportHf;
global using XModHub.Cli.Commands.FillMask;
global using XModHub.Cli.Commands.FineTune;
global using XModHub.Cli.Commands.ImportHf;
global using XModHub.Cli.Commands.Info;
global using XModHub.Cli.Commands.Install;
global using XModHub.Cli.Commands.Keys;
global using XModHub.Cli.Commands.List;
global using XModHub.Cli.Commands.Owners;
global using XModHub.Cli.Commands.Pack;
global using XModHub.Cli.Commands.Predict;
global using XModHub.Cli.Commands.Pretrain;
global using XModHub.Cli.Commands.Publish;
global using XModHub.Cli.Commands.Quickstart;
global using XModHub.Cli.Commands.Search;
global using XModHub.Cli.Commands.Serve;
global using XModHub.Cli.Commands.Source;
global using XModHub.Cli.Commands.Uninstall;
global using XModHub.Cli.Commands.Unlist;
