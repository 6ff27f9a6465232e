using System.CommandLine;

namespace XModHub.Cli.Commands.Publish;

/// <summary>`xmod-hub publish lang-yo | DIR | --model RUN --trunk-id ID`.</summary>
public static class PublishDefinition
{
    public static readonly Argument<string?> Target = new("target") { Description = "lang-xx (modules/lang-xx) or a package directory", Arity = ArgumentArity.ZeroOrOne };
    public static readonly Option<string?> Source = new("--source") { Description = "Source name (default: the first configured)" };
    public static readonly Option<string?> Model = new("--model") { Description = "Publish a model (or training run) as a trunk plus one package per pre-trained language" };
    public static readonly Option<string?> TrunkId = new("--trunk-id") { Description = "With --model: the trunk's package id" };
    public static readonly Option<string?> License = new("--license") { Description = "SPDX license of the package (MIT, Apache-2.0, CC-BY-4.0, ...): written into its manifest and card" };
    public static readonly Option<string> Version = new("--version") { Description = "With --model: the version to publish", DefaultValueFactory = _ => "1.0.0" };
    public static readonly Option<string?> DType = new("--dtype") { Description = "With --model: store the weights as bf16 or f16 (half the download; the runtime computes in float32) or f32 (default)" };

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("publish", "Check a package exactly as the hub will, pack it and push it") { Target, Source, Model, TrunkId, Version, License, DType };
        command.Action = CliAction.For<PublishCommand>(services, (c, p, cancel) =>
            c.RunAsync(p.GetValue(Target), p.GetValue(Model), p.GetValue(TrunkId), p.GetValue(Version)!, p.GetValue(Source), cancel, p.GetValue(License), p.GetValue(DType)), CliAction.SavingStopGrace);
        return command;
    }
}
