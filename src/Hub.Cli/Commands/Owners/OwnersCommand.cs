using XModHub.Cli.Commands.Keys;
using XModHub.Client;

namespace XModHub.Cli.Commands.Owners;

public sealed class OwnersCommand(IReporter reporter, PackageManagers packages, HttpClient http)
{
    public async Task<int> ChangeAsync(string id, string user, bool add, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        var answer = add
            ? await feed.ApiAsync(HttpMethod.Post, $"packages/{Uri.EscapeDataString(id)}/owners", new { owner = user }, $"add {user} to the owners of {id}", cancel)
            : await feed.ApiAsync(HttpMethod.Delete, $"packages/{Uri.EscapeDataString(id)}/owners/{Uri.EscapeDataString(user)}", null, $"remove {user} from the owners of {id}", cancel);
        reporter.Success($"{(add ? "added" : "removed")} {user}; owners of {id}: {Owners(answer)}");
        return 0;
    }

    public async Task<int> ListAsync(string id, string? source, CancellationToken cancel)
    {
        var feed = SourceFeed.For(packages.LoadConfig(), http, source);
        reporter.Info($"{id}: {Owners(await feed.ApiAsync(HttpMethod.Get, $"packages/{Uri.EscapeDataString(id)}/owners", null, $"list the owners of {id}", cancel))}");
        return 0;
    }

    private static string Owners(System.Text.Json.JsonElement answer) => string.Join(", ", answer.GetProperty("owners").EnumerateArray().Select(o => o.GetString()));
}
