using XModHub.Client;

namespace XModHub.Cli.Commands.Search;

public sealed class SearchCommand(PackageManagers packages, IReporter reporter)
{
    public const int Take = 50;

    public async Task<int> RunAsync(string query, string? type, string? script, string? family, string? trunk, CancellationToken cancel)
    {
        var filters = new Dictionary<string, string>();
        foreach (var (key, value) in new[] { ("script", script), ("family", family), ("trunk", trunk) })
        {
            if (value is not null)
            {
                filters[key] = value;
            }
        }
        var hits = await packages.Create().SearchAsync(query, type, Take, cancel, filters);
        if (hits.Count == 0)
        {
            reporter.Info("no package matches");
        }
        foreach (var h in hits)
        {
            reporter.Info($"{h.Id,-36} {h.Version,-10} {string.Join(',', h.PackageTypes),-13} {h.Downloads,6} downloads  {h.Description}");
            if (h.Metrics is { } metrics)
            {
                reporter.Info($"{"",-4}{metrics.Describe()}");
            }
        }
        return 0;
    }
}
