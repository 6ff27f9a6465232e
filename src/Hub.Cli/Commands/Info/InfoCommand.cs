using System.Globalization;
using NuGet.Versioning;
using XMod.Packaging.Manifests;
using XModHub.Client;
using XModHub.Client.Packages;

namespace XModHub.Cli.Commands.Info;

/// <summary>
/// A package as a person deciding to install it reads it: what it is (language, trunk, license),
/// its versions on each source (listed or not, sizes), what is installed, its metrics with the
/// data they were measured on, its model card, and the command that installs it.
/// </summary>
public sealed class InfoCommand(PackageManagers packages, IReporter reporter)
{
    /// <summary>Lines of the model card shown; the rest is summarised by its length.</summary>
    public const int CardLines = 40;

    public async Task<int> RunAsync(string spec, string? trunk, CancellationToken cancel)
    {
        var info = await packages.Create().InfoAsync(spec, trunk, cancel);
        // The newest manifest known: the hub's, else the newest installed one's.
        var newestInstalled = info.Installed.MaxBy(i => NuGetVersion.Parse(i.Package.Version));
        var manifest = info.Sources.Select(s => s.Manifest).FirstOrDefault(m => m is not null) ?? newestInstalled?.Manifest;
        var card = info.Sources.Select(s => s.Readme).FirstOrDefault(r => r is not null) ?? newestInstalled?.Card;

        reporter.Info(info.Id + (manifest is null ? "" : $" ({manifest.Kind.ToString().ToLowerInvariant()})"));
        if (manifest is not null)
        {
            Describe(manifest);
        }

        reporter.Info("versions:");
        if (info.Offline)
        {
            reporter.Info("  (offline, XMOD_OFFLINE=1: no hub was asked)");
        }
        foreach (var source in info.Sources)
        {
            if (source.Versions.Count == 0)
            {
                reporter.Info($"  {source.Source}: not there");
                continue;
            }
            foreach (var v in source.Versions.OrderByDescending(v => v.Version))
            {
                var installed = info.Installed.Any(i => NuGetVersion.Parse(i.Package.Version) == v.Version);
                reporter.Info($"  {source.Source}: {v.Version,-12} {(v.Size is { } size ? Bytes(size) : ""),9}" +
                    $"{(v.Listed ? "" : "  unlisted (installs only when asked for by version)")}{(installed ? "  installed" : "")}");
            }
            // What the hub measured (its evaluator) beside what the publisher reported: XModHub sources only.
            if (source.Metrics is { } metrics)
            {
                reporter.Info($"    {metrics.Describe()}");
            }
        }
        foreach (var i in info.Installed.Where(i => !info.Sources.Any(s => s.Has(NuGetVersion.Parse(i.Package.Version)))))
        {
            reporter.Info($"  cache: {i.Package.Version,-12} {Bytes(i.Bytes),9}  installed from {i.Package.Source} (on no source now)");
        }
        reporter.Info($"installed: {(info.Installed.Count == 0 ? "no" : string.Join(", ", info.Installed.Select(i => $"{i.Package.Version} ({Bytes(i.Bytes)} unpacked)")))}");

        if (manifest is not null)
        {
            Metrics(manifest);
        }

        var listed = info.Sources.SelectMany(s => s.Versions).Where(v => v.Listed).Select(v => v.Version).DefaultIfEmpty().Max();
        var trunkOption = PackageManager.IsModuleId(info.ShortId) && manifest?.Trunk is { } t ? $" --trunk {t.Id}" : "";
        reporter.Info(listed is not null
            ? $"install: xmod-hub install {info.ShortId}{trunkOption}   (or pin one: {info.ShortId}@{listed})"
            : info.Installed.Count > 0 ? "install: installed; no listed version on the sources" : "install: no listed version to install");

        if (card is not null)
        {
            reporter.Info("card:");
            var lines = card.ReplaceLineEndings("\n").TrimEnd().Split('\n');
            foreach (var line in lines.Take(CardLines))
            {
                reporter.Info("  | " + Printable(line));
            }
            if (lines.Length > CardLines)
            {
                reporter.Info($"  | … {lines.Length - CardLines} more lines");
            }
        }
        return 0;
    }

    private void Describe(PackageManifest m)
    {
        if (m.Description.Length > 0)
        {
            reporter.Info("  " + Printable(m.Description));
        }
        if (m.Language is { } l)
        {
            reporter.Info($"  language: {Printable(l.EnglishName)}, {Printable(l.Autonym)} ({Printable(l.Code)}; BCP-47 {Printable(l.Bcp47)}, ISO 639-3 {Printable(l.Iso6393)}); " +
                $"script {Printable(l.Script)}; family {Printable(l.Family)}");
        }
        if (m.Trunk is { } t)
        {
            reporter.Info($"  trunk: {Printable(t.Id)} (weights sha256 {Printable(t.Sha256)[..Math.Min(12, t.Sha256.Length)]}…)");
        }
        reporter.Info($"  license: {(m.Card?.License is { } license ? Printable(license) : "not stated")}");
        foreach (var source in m.Card?.DataSources ?? [])
        {
            reporter.Info($"  trained on: {Printable(source)}");
        }
        if (m.Card?.IntendedUse is { } use)
        {
            reporter.Info($"  intended use: {Printable(use)}");
        }
        if (m.Card?.Limitations is { } limits)
        {
            reporter.Info($"  limitations: {Printable(limits)}");
        }
    }

    private void Metrics(PackageManifest m)
    {
        foreach (var (name, value) in m.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var data = m.Card?.MetricData.GetValueOrDefault(name);
            reporter.Info($"metric: {Printable(name)} {value.ToString("0.##", CultureInfo.InvariantCulture)}{(data is null ? "" : $"   (measured on {Printable(data)})")}");
        }
    }

    /// <summary>Text from a package (a hub anyone may publish to) is printed without its control characters: no terminal escapes.</summary>
    internal static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) ? (c == '\t' ? ' ' : '\uFFFD') : c));

    internal static string Bytes(long n) =>
        n >= 1_000_000 ? $"{n / 1e6:F1} MB" : n >= 1000 ? $"{n / 1e3:F0} kB" : $"{n} B";
}
